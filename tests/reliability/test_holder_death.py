"""Holder death: killed, stopped past its lease, or cut off from the network.

In each case the next waiter enters within the lease TTL plus one heartbeat interval of the fault
(leases of 1.5 s here), and a holder that comes back learns that it lost the lock: its fenced
write is refused and its lock object says so.
"""

from __future__ import annotations

import pytest

from ._scenarios import ServerProcess, holder_partitioned, holder_sigkill, holder_sigstop

pytestmark = pytest.mark.reliability


def test_sigkilled_holder_hands_over_within_its_lease(sqlite_server: ServerProcess):
    tally = holder_sigkill(sqlite_server, lease_ttl=1.5)
    print(f"handoff after SIGKILL: {tally.measured.get('handoff_s')} s")
    assert tally.violations == []


def test_sigstopped_holder_is_fenced_off_and_told_after_sigcont(sqlite_server: ServerProcess):
    tally = holder_sigstop(sqlite_server, lease_ttl=1.5)
    print(f"handoff after SIGSTOP: {tally.measured.get('handoff_s')} s")
    assert tally.violations == []


def test_holder_cut_off_from_the_network_loses_the_lock_and_knows_it(
    sqlite_server: ServerProcess,
):
    tally = holder_partitioned(sqlite_server, lease_ttl=1.5)
    print(f"measured: {tally.measured}")
    assert tally.violations == []
