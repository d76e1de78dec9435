"""A contender process: lock-protected read-increment-write cycles through the REST API.

Usage: python _contender.py URL TOKEN NAME CYCLES LOG
Each cycle: acquire (long-polls until granted), read the counter, write counter + 1 fenced by
the token, release. Appends "enter <token> <t>" / "leave <token> <t>" lines to LOG.
"""

from __future__ import annotations

import sys
import time

import httpx


def main() -> int:
    url, token, name, cycles, log_path = sys.argv[1:6]
    with (
        httpx.Client(base_url=url, headers={"Authorization": token}, timeout=60) as api,
        open(log_path, "a") as log,
    ):
        ex = api.post("/execution", json={"name": name, "lease_ttl": 30}).json()["execution"]["id"]
        beat = time.monotonic()
        for _ in range(int(cycles)):
            if time.monotonic() - beat > 5:  # keep the lease alive, as the SDK's heartbeat does
                api.post(f"/execution/{ex}/heartbeat").raise_for_status()
                beat = time.monotonic()
            r = api.post(
                "/lock/acquire", json={"name": "counter", "execution_id": ex, "timeout": None}
            )
            while r.status_code == 202:
                r = api.post("/lock/wait", json={"waiter_id": r.json()["waiter_id"]})
            if r.status_code != 200:
                sys.exit(f"acquire failed: {r.status_code} {r.text}")
            fence = r.json()["token"]
            log.write(f"enter {fence} {time.time()}\n")
            value = api.get("/setting/counter", params={"by": "name"}).json()["setting"]["value"]
            api.patch(
                "/setting/counter",
                params={"by": "name", "fence": fence},
                json={"value": (value or 0) + 1},
            ).raise_for_status()
            log.write(f"leave {fence} {time.time()}\n")
            log.flush()
            api.post(
                "/lock/release", json={"name": "counter", "execution_id": ex}
            ).raise_for_status()
        api.patch(f"/execution/{ex}", json={"status": "ENDED_SUCCESS"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
