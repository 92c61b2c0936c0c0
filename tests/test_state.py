"""The state store's writers: the batch writer is the same as one add_ping per probe."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lvs_tui.state import DOWN_RUN, PingRing, PingSample, StateStore

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


def _ring(pattern: str, size: int = 120) -> PingRing:
    """'u'/'x' a regular probe answered/lost, 'U'/'X' a confirmation probe; 10 ms apart."""
    ring = PingRing(size)
    for n, ch in enumerate(pattern):
        ring.put(1000 + n / 100, 1, int(ch in "uU"), 0.001 if ch in "uU" else None, None,
                 ch.isupper())
    return ring


def test_a_lost_probe_and_its_whole_burst_lost_is_down_at_once() -> None:
    assert _ring("u" * 10 + "x" + "X" * (DOWN_RUN - 1)).summary(10, 3).state is False
    # One answer in the burst: the address lives, whatever the regular probe said.
    assert _ring("u" * 10 + "x" + "X" * (DOWN_RUN - 3) + "U").summary(10, 3).state is True
    # Lost confirmation probes short of DOWN_RUN are no outage (30 % loss makes such runs).
    assert _ring("u" * 10 + "xXX").summary(10, 3).state is True


def test_confirmation_probes_never_count_in_loss_nor_rtt() -> None:
    ring = _ring("u" * 9 + "x" + "XXXU")
    summary = ring.summary(10, 3)
    assert summary is not None and summary.state is True
    assert (summary.sent, summary.received) == (10, 9)  # the 10 regular probes
    assert [s.confirm for s in ring.samples()] == [False] * 10  # charts: regular only
    assert len(ring.samples(confirm=True)) == 14


def test_recovery_by_consecutive_answers_leaves_no_loss_tail() -> None:
    """Up again after three answers (one regular, two confirmation), and the outage's lost
    probes are not counted as loss afterwards: the window starts at the recovery."""
    ring = _ring("u" * 10 + "x" + "X" * 11 + "x" * 5 + "uUU")
    summary = ring.summary(10, 3)
    assert summary is not None and summary.state is True
    assert (summary.sent, summary.received) == (1, 1)
    # Without confirmation probes (a remote vantage): the same after `need` answers.
    plain = _ring("u" * 10 + "x" * 6 + "uuu").summary(10, 3)
    assert plain is not None and plain.state is True and plain.sent == plain.received == 3
    # A full window of answers then an outage older than the window: nothing to cut.
    old = _ring("x" * 6 + "u" * 10).summary(10, 3)
    assert old is not None and (old.sent, old.received) == (10, 10)


def test_loss_short_of_an_outage_still_counts() -> None:
    """Two lost in a row (no outage at hysteresis 3) stay in the window after recovery."""
    summary = _ring("u" * 8 + "xx" + "u" * 8).summary(10, 3)
    assert summary is not None and (summary.sent, summary.received) == (10, 8)


def test_store_keeps_confirmation_batches_apart() -> None:
    store = StateStore()
    store.add_pings("local", [("192.0.2.1", 10.0, 1, 0, None)])
    store.add_pings("local", [("192.0.2.1", 10.01, 1, 1, 0.001)], confirm=True)
    assert store.pings("local", "192.0.2.1") == (PingSample(10.0, 1, 0, None),)
    assert store.pings("local", "192.0.2.1", confirm=True)[-1].confirm
    assert store.ping_marks("local", "192.0.2.1") == (10.01, None)  # an answer is an answer
    before = store.confirmed
    store.mark_confirmed()
    assert store.confirmed == before + 1
