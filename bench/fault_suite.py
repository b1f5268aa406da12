"""The fault suite: `mta book` (a separate process, as a person runs it) against the replica on a bad day.

    .venv/bin/python bench/fault_suite.py                  # every fault 3 times, SIGKILL/SIGTERM 30 times each
    .venv/bin/python bench/fault_suite.py --runs 1 --kills 4   # short
    .venv/bin/python bench/fault_suite.py --only Chromium --only "after reserve"

Per fault it prints how the attempt ended, the time until everything was settled (the attempt closed and,
after an interruption, the next start's recovery done), and the invariants, checked after every run:

- never two live processes (reserved/preconfirmed/confirmed) for the person at the site;
- no attempt left open after the next start;
- no held slot given back when it could be kept (the replica's cancelled processes);
- the site's limiter never refused the agent except where the fault is a 429 storm.

Each run has its own data directory (database, budget books, recordings) and a reset replica. Windows are
compressed sixfold on both sides (the agent's budget: 3 per 10 s; the site's limiter: 60 per 10-s TTL).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time as dtime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from agent.models import Attempt  # noqa: E402
from flows.timezone import BERLIN  # noqa: E402
from replica.faults import FaultRule  # noqa: E402
from replica.page import PAGE_PATH  # noqa: E402
from replica.server import ReplicaServer  # noqa: E402
from replica.settings import ReplicaSettings  # noqa: E402
from replica.site import Replica  # noqa: E402
from replica.variant import build_variant  # noqa: E402

EMAIL = "fault@example.org"
BOOK = ["book", "--service", "1063453", "--office", "102522", "--json",
        "--first-name", "Fanny", "--last-name", "Fault", "--email", EMAIL]
LIVE = ("reserved", "preconfirmed", "confirmed")


@dataclass
class Run:
    outcome: str
    settled_s: float
    live: int
    open_after: int
    given_back: int
    site_429: int
    notes: list[str] = field(default_factory=list)


def slot(site: Replica, days: int, hour: int) -> int:
    day = site.clock.now_berlin().date() + timedelta(days=days)
    return int(datetime.combine(day, dtime(hour, 0), BERLIN).timestamp())


def env_for(server: ReplicaServer, data: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "MTA_BOOKING_URL": server.base_url + PAGE_PATH, "MTA_API_URL": server.api_url,
            "MTA_DATA_DIR": str(data), "MTA_CONTROL_TIMEOUT_S": "4", "MTA_LOG_LEVEL": "WARNING",
            "MTA_METRICS_PORT": "-1", "MTA_STEP_TIMEOUT_S": "10", "MTA_BUDGET_REQUESTS": "3",
            "MTA_BUDGET_WINDOW_S": "10", "MTA_SITE_WINDOW_S": "10", **extra}


def start(server: ReplicaServer, data: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agent.cli", *BOOK], env=env_for(server, data, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def attempts(data: Path) -> list[Attempt]:
    db = data / "mta.db"
    if not db.exists():
        return []
    engine = create_engine(f"sqlite:///{db}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Attempt).order_by(Attempt.id)))
    except Exception:  # noqa: BLE001 - not migrated yet
        return []
    finally:
        engine.dispose()


def outcome_of(process: subprocess.Popen, timeout: float = 180) -> str:
    out, _ = process.communicate(timeout=timeout)
    try:
        return json.loads(out.strip().splitlines()[-1])["outcome"]
    except (ValueError, IndexError, KeyError):
        return f"exit {process.returncode}"


def stop_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.kill(process.pid, sig)
        process.wait(timeout=90 if sig == signal.SIGTERM else 10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # what a crash leaves: its browser
    except ProcessLookupError:
        pass
    process.communicate()


def measure(server: ReplicaServer, site: Replica, arrange: Callable[[Replica], None],
            interrupt: Callable[[subprocess.Popen, Path], None] | None = None,
            expect_429: bool = False, **extra: str) -> Run:
    site.reset()
    site.settings.fault_hang_s = 8
    site.desk.add_slots(102522, [slot(site, 2, 9), slot(site, 2, 10), slot(site, 3, 9)])
    arrange(site)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        began = time.monotonic()
        process = start(server, data, **extra)
        if interrupt is None:
            outcome = outcome_of(process)
        else:
            interrupt(process, data)
            site.faults.clear()
            outcome = outcome_of(start(server, data))  # the next start settles what was interrupted
        settled = time.monotonic() - began
        rows = attempts(data)
        outcome = rows[0].outcome if rows and interrupt is not None else outcome
        processes = [p for p in site.desk.processes.values() if p.email in ("", EMAIL)]
        live = [p for p in processes if p.status in LIVE]
        return Run(
            outcome=outcome or "open", settled_s=settled, live=len(live),
            open_after=sum(1 for a in rows if a.outcome is None),
            given_back=sum(1 for p in processes if p.status == "cancelled"),
            site_429=0 if expect_429 else sum(1 for r in site.requests.all() if r.status == 429),
        )


def wait_until(process: subprocess.Popen, data: Path, ready: Callable[[Attempt], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        rows = attempts(data)
        if rows and ready(rows[0]):
            return True
        time.sleep(0.05)
    return False


def kill_chromium_after_reserve(process: subprocess.Popen, data: Path) -> None:
    """Not an interruption of the agent: its browser dies while the attempt holds a slot."""
    from tests.proc_helpers import descendants

    if wait_until(process, data, lambda a: a.phase == "reserved"):
        time.sleep(1.0)  # the page has sent its contact step (whose answer hangs): between reserve and preconfirm
        for pid, name in descendants(process.pid).items():
            if "chrom" in name:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    process.communicate(timeout=180)


def sigkill_after_reserve(process: subprocess.Popen, data: Path) -> None:
    """The agent dies while its attempt holds a slot (the contact step's answer hangs)."""
    wait_until(process, data, lambda a: a.phase == "reserved")
    time.sleep(1.0)  # the page has sent its contact step (whose answer hangs): between reserve and preconfirm
    stop_group(process, signal.SIGKILL)


def at_random_point(sig: int, rng: random.Random) -> Callable[[subprocess.Popen, Path], None]:
    def interrupt(process: subprocess.Popen, data: Path) -> None:
        time.sleep(rng.uniform(1.0, 7.0))  # a booking takes ~3–6 s here: before, during and after it
        stop_group(process, sig)
    return interrupt


def scenarios(rng: random.Random) -> dict[str, dict]:
    return {
        "latency 1 s on every request": dict(arrange=lambda s: setattr(s.faults, "latency_s", 1.0)),
        "500 once on the calendar": dict(arrange=lambda s: s.faults.add(FaultRule("error500", "available-calendar", 1))),
        "503 maintenance everywhere": dict(arrange=lambda s: s.faults.add(FaultRule("maintenance"))),
        "connection reset on reserve": dict(arrange=lambda s: s.faults.add(FaultRule("reset", "reserve-appointment", 1))),
        "calendar hangs once": dict(arrange=lambda s: s.faults.add(FaultRule("timeout", "available-calendar", 1))),
        "429 storm": dict(arrange=lambda s: s.faults.add(FaultRule("rate_limit")), expect_429=True),
        "the site's limiter at its limit": dict(arrange=lambda s: [s.limiter.hit("127.0.0.1") for _ in range(58)]),
        "captcha tokens expire before reserve": dict(
            arrange=lambda s: s.faults.add(FaultRule("expire_tokens", "reserve-appointment", 1))),
        "slot taken before reserve": dict(arrange=lambda s: s.take_slot_before_next_reserve(102522)),
        "reserve answer held back": dict(
            arrange=lambda s: (s.faults.add(FaultRule("hold_answer", "reserve-appointment", 1)),
                               setattr(s.settings, "fault_hang_s", 40)),
            interrupt=lambda process, data: process.communicate(timeout=180), at_least=5),
        "redesigned page": dict(arrange=lambda s: setattr(s.switches, "redesign", build_variant(["next"]))),
        "Chromium killed after reserve": dict(
            arrange=lambda s: s.faults.add(FaultRule("timeout", "update-appointment", 1)),
            interrupt=kill_chromium_after_reserve, at_least=10),
        "SIGKILL after reserve": dict(
            arrange=lambda s: s.faults.add(FaultRule("timeout", "update-appointment", 1)),
            interrupt=sigkill_after_reserve, at_least=10),
    }


def report(name: str, runs: list[Run]) -> str:
    outcomes: dict[str, int] = {}
    for run in runs:
        outcomes[run.outcome] = outcomes.get(run.outcome, 0) + 1
    settled = statistics.median(r.settled_s for r in runs)
    ok = all(r.live <= 1 and r.open_after == 0 and r.site_429 == 0 and r.given_back == 0 for r in runs)
    return (f"{name:40s} {len(runs):3d}  {', '.join(f'{k} {v}' for k, v in sorted(outcomes.items())):38s} "
            f"{settled:6.1f} s  live≤1 {'yes' if all(r.live <= 1 for r in runs) else 'NO'}  "
            f"open {sum(r.open_after for r in runs)}  given back {sum(r.given_back for r in runs)}  "
            f"429 {sum(r.site_429 for r in runs)}  {'OK' if ok else 'VIOLATED'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="runs per fault")
    parser.add_argument("--kills", type=int, default=30, help="SIGKILL and SIGTERM runs at random points, each")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--only", action="append", help="run only faults whose name contains this (repeatable)")
    options = parser.parse_args()
    rng = random.Random(options.seed)
    site = Replica(ReplicaSettings(altcha_cost=10, rate_window_s=10))  # windows compressed sixfold, both sides
    site.clock.unfreeze()
    print(f"{'fault':40s} {'n':>3s}  {'outcomes':38s} {'settled':>8s}  invariants")
    with ReplicaServer(site) as server:
        for name, spec in scenarios(rng).items():
            if options.only and not any(part in name for part in options.only):
                continue
            count = max(options.runs, spec.pop("at_least", 0))
            runs = [measure(server, site, **spec) for _ in range(count)]
            print(report(name, runs), flush=True)
        for name, sig in (("SIGKILL at a random point", signal.SIGKILL), ("SIGTERM at a random point", signal.SIGTERM)):
            if options.only and not any(part in name for part in options.only):
                continue
            runs = [measure(server, site, lambda s: None, at_random_point(sig, rng)) for _ in range(options.kills)]
            print(report(name, runs), flush=True)


if __name__ == "__main__":
    main()
