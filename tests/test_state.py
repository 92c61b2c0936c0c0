"""The state store's writers: the batch writer is the same as one add_ping per probe."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lvs_tui.state import PingRing, PingSample, StateStore

ADDRS = ("192.0.2.1", "192.0.2.2", "2001:db8::1")

_probe = st.tuples(st.sampled_from(ADDRS), st.floats(0, 1e9, allow_nan=False),
                   st.integers(0, 70_000), st.integers(0, 3),
                   st.none() | st.floats(0, 2, allow_nan=False))
# Earlier writes through add_ping, some of them errors, so the batch overwrites error slots.
_before = st.lists(st.tuples(st.sampled_from(ADDRS), st.integers(0, 3), st.booleans()),
                   max_size=12)


def _snapshot(store: StateStore) -> dict:
    return {key: (store.pings(*key), store.ping_marks(*key),
                  store.ping_summary(*key, 5, 2), store.ping_summary(*key, 10, 3))
            for key in store.ping_keys()}


@given(_before, st.lists(st.lists(_probe, max_size=20), max_size=4))
def test_add_pings_leaves_the_store_as_add_ping_would(
        before: list[tuple[str, int, bool]],
        batches: list[list[tuple[str, float, int, int, float | None]]]) -> None:
    one, many = StateStore(ping_window=6), StateStore(ping_window=6)
    for store in (one, many):
        for n, (addr, got, failed) in enumerate(before):
            store.add_ping("local", addr, PingSample(float(n), 1, min(got, 1), 0.001,
                                                     "send failed" if failed else None))
    for batch in batches:
        for addr, t, sent, rcv, rtt in batch:
            one.add_ping("local", addr, PingSample(t, sent, rcv, rtt))
        many.add_pings("local", batch)
    assert _snapshot(many) == _snapshot(one)


def test_add_pings_is_one_write() -> None:
    store = StateStore()
    store.add_pings("local", [("192.0.2.1", 10.0, 1, 1, 0.002), ("192.0.2.2", 10.0, 1, 0, None)])
    assert store.version == 1
    assert store.pings("local", "192.0.2.2") == (PingSample(10.0, 1, 0, None),)
    assert store.ping_marks("local", "192.0.2.1") == (10.0, None)
    assert store.ping_marks("local", "192.0.2.2") == (None, 10.0)


_entry = st.tuples(st.sampled_from([1, 1, 1, 1, 3, 0]), st.integers(0, 3),
                   st.none() | st.floats(0, 2, allow_nan=False), st.booleans())


@given(st.integers(1, 14), st.lists(_entry, max_size=40), st.integers(1, 12),
       st.integers(1, 5))
def test_ring_summary_fast_path_is_the_walk(size: int, entries: list, window: int,
                                            need: int) -> None:
    """The single-probe fast path gives exactly what walking the ring gives."""
    ring = PingRing(size)
    for n, (sent, rcv, rtt, failed) in enumerate(entries):
        ring.put(float(n), sent, min(rcv, 1) if sent == 1 else rcv, rtt,
                 "failed" if failed and n % 7 == 0 else None)
        if ring:
            assert ring.summary(window, need) == ring._summarise(window, need)
