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
    matrix_rows,
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


def test_an_answer_from_before_the_outage_is_shown_with_its_age_not_as_up() -> None:
    """The shift scenario's host dies at 20 s; the proxies checked last at 0 s. At 24 s
    their last word is still "up": the matrix says how old it is instead of a green RTT,
    and once they check again they say down."""
    from lvs_tui.board import evaluate
    from lvs_tui.sim import Sim
    from lvs_tui.state import StateStore

    t0 = 1_790_000_000.0
    sim = Sim("shift", start=t0)

    def outer_cells(at: int) -> list[str]:
        store = StateStore()
        sim.fill(store, at)
        board = evaluate(sim.config, store, t0 + at)
        row = next(r for r in board.rows if r.host.name == "lvs-cernet-01")
        rows = dict(matrix_rows(sim.config, row, {}, t0 + at))
        vip = rows[f"lvs-cernet-01|{sim.config.fleet.vips_of('lvs-cernet-01')[0].address}"]
        assert all("ago" not in c.plain for c in vip[1:])  # answering now: RTT as ever
        return [c.plain for c in rows[f"lvs-cernet-01|{row.host.external}"][1:]]

    assert outer_cells(24) == ["✖ down", "● 24s ago", "● 24s ago", "● 24s ago"]
    assert outer_cells(40) == ["✖ down"] * 4
