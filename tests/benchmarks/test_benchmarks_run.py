"""The benchmarks run and produce figures (a tiny ``--quick`` variant; no timing is asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks import __main__ as bench
from benchmarks._common import redis_missing
from benchmarks.imports import biggest
from benchmarks.locks import handoff_latencies


def _lines(out: str) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for line in out.splitlines():
        record = json.loads(line)
        found.setdefault(record["benchmark"], []).append(record)
    return found


@pytest.mark.slow
def test_quick_lock_benchmarks_print_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--quick", "uncontended", "contention", "queue"]) == 0
    out, err = capsys.readouterr()
    found = _lines(out)

    assert set(found) == {"uncontended", "contention", "queue", "machine"}
    (unc,) = found["uncontended"]
    assert isinstance(unc["sync_ops_per_s"], float) and unc["sync_ops_per_s"] > 0
    assert isinstance(unc["async_ops_per_s"], float) and unc["async_ops_per_s"] > 0
    (con,) = found["contention"]
    assert con["count_exact"] is True and con["exclusive"] is True
    assert isinstance(con["finish_spread_s"], float)
    (queue,) = found["queue"]
    assert queue["in_order"] is True and queue["all_served"] is True
    assert isinstance(queue["server_rss_increase_mb"], float)
    if redis_missing() is None:
        assert isinstance(unc["redis_lock_ops_per_s"], float)
        assert con["redis_lock_count_exact"] is True
    else:
        assert "python-redis-lock skipped" in err
    assert "Summary" in err and "ours/theirs" in err


def test_handoff_pairs_each_release_with_the_waiter_it_reaches() -> None:
    # [called, acquired, released]: B waits from 0.5 and gets the lock 2 ms after A's release;
    # C joins after B's release, so that acquisition is no handoff and is not counted.
    records = [[0.0, 0.1, 1.0], [0.5, 1.002, 2.0], [2.5, 2.6, 3.0]]
    run = handoff_latencies(records)
    assert run.exclusive
    assert run.to_waiter == pytest.approx([2.0]) and run.won == pytest.approx([2.0])
    assert run.barged == 0
    overlapping = [[0.0, 0.1, 1.0], [0.5, 0.9, 2.0]]
    assert handoff_latencies(overlapping).exclusive is False


def test_a_barged_release_counts_until_the_waiter_returns() -> None:
    # A releases at 1.0 while B waits (since 0.5), but A takes the lock back at 1.0001 (its
    # acquire began after the release) and holds it until 2.0; B returns at 2.0003. That
    # handoff took 1000.3 ms to reach B, and the "waiter won" figure leaves it out.
    records = [[0.0, 0.1, 1.0], [1.00005, 1.0001, 2.0], [0.5, 2.0003, 3.0]]
    run = handoff_latencies(records)
    assert run.exclusive
    assert run.barged == 1
    assert run.to_waiter == pytest.approx([1000.3, 0.3])
    assert run.won == pytest.approx([0.3])


def test_importtime_contributors_are_parsed() -> None:
    sample = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |      50000 |     httpx",
            "import time:      2000 |       2000 |     cloudomation_kit._models",
            "import time:      1000 |      60000 | cloudomation_kit",
        ]
    )
    assert biggest(sample) == {"httpx": 50.0, "cloudomation_kit._models (self)": 2.0}
