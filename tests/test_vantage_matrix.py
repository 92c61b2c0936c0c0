"""The vantage matrix's column widths and cells: every vantage stays on screen."""

from __future__ import annotations

from rich.cells import cell_len

from lvs_tui.fleet import Side
from lvs_tui.signals import AddressSignal, Reach
from lvs_tui.widgets.cells import Palette
from lvs_tui.widgets.vantage_matrix import (
    ADDRESS_WIDTH,
    VANTAGE_WIDTH,
    matrix_cell,
    matrix_fit,
    rtt_text,
)

FOUR = ("本地", "电信", "联通", "移动")


def used(width: int, titles: tuple[str, ...]) -> int:
    fit = matrix_fit(width, titles)
    return 1 + fit.address + len(titles) * (1 + fit.vantage)


def test_room_enough_gives_the_whole_address_and_rtt_with_loss() -> None:
    fit = matrix_fit(120, FOUR)
    assert (fit.address, fit.vantage, fit.compact) == (ADDRESS_WIDTH, VANTAGE_WIDTH, False)


def test_the_address_column_gives_way_before_rtt_does() -> None:
    """The main screen's matrix at 120 columns (71 beside the side pane): the service name
    is cut, every vantage keeps RTT and loss."""
    fit = matrix_fit(71, FOUR)
    assert not fit.compact and fit.address == 71 - 1 - 4 * 12
    assert used(71, FOUR) == 71


def test_too_narrow_for_rtt_keeps_every_vantage_as_a_glyph() -> None:
    """80 columns: 45 beside the side pane, four vantages as glyphs under whole titles."""
    fit = matrix_fit(45, FOUR)
    assert fit.compact and fit.vantage == 4 and used(45, FOUR) <= 45
    sick = (*FOUR[:3], "移动 ?")  # a vantage marked unhealthy keeps its whole title
    assert matrix_fit(45, sick).vantage == cell_len("移动 ?")


def test_every_width_fits_while_it_can() -> None:
    for n in range(1, 8):
        titles = FOUR[:1] * n
        for width in range(1 + 16 + n * 5, 200):
            assert used(width, titles) <= width, (n, width)


def test_not_laid_out_yet_is_the_full_width() -> None:
    assert matrix_fit(0, FOUR) == matrix_fit(500, FOUR)


def test_rtt_keeps_tenths_only_under_ten_ms_so_rtt_and_loss_fit() -> None:
    assert [rtt_text(x) for x in (0.62, 9.94, 9.96, 12.9, 123.4)] == [
        "0.6ms", "9.9ms", "10ms", "13ms", "123ms"]
    palette: Palette = {}
    lossy = AddressSignal("203.0.113.1", Side.VIP, "unicom", Reach.LOSS, 123.4, 20.0)
    assert cell_len(matrix_cell(lossy, palette).plain) <= VANTAGE_WIDTH
    assert matrix_cell(lossy, palette, compact=True).plain == Reach.LOSS.glyph
