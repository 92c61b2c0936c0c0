"""The lab's prefixes are blackholed in the root namespace exactly while it is up."""

from __future__ import annotations

from lab.netns import LAB_PREFIXES, Lab, blackholed, down, exclusive
from tests.conftest import is_root, require


def test_the_blackholes_come_and_go_with_the_lab() -> None:
    require(is_root(), "the netns lab needs root")
    with exclusive():
        try:
            Lab(hosts=1, vips=1, vips6=0).up()
            assert blackholed() == LAB_PREFIXES
        finally:
            down()
        assert blackholed() == ()
