"""What a group member (``ridectl.scenarios.children.group_member``) is told on its command
line: the settings, the command line built from them, and that command line parsed back and checked.
No client library here, so the scenarios can describe members without importing one."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ridectl.clients.settings import parse_x_option
from ridectl.errors import RidectlError


class Assignor(StrEnum):
    RANGE = "range"
    ROUNDROBIN = "roundrobin"
    COOPERATIVE_STICKY = "cooperative-sticky"

    @property
    def eager(self) -> bool:
        return self is not Assignor.COOPERATIVE_STICKY


class Isolation(StrEnum):
    READ_COMMITTED = "read_committed"
    READ_UNCOMMITTED = "read_uncommitted"


@dataclass(frozen=True)
class MemberConfig:
    """Everything one member process is told on its command line."""

    bootstrap: str
    topic: str
    group: str
    journal: Path
    name: str
    #: commit the processed offsets after every N records; None: kafka-python's auto-commit
    commit_every: int | None = 10
    auto_commit_ms: int = 5000
    delay_ms: float = 0.0
    assignor: Assignor = Assignor.RANGE
    isolation: Isolation = Isolation.READ_UNCOMMITTED
    #: poll in one thread, process in another (auto-commit only)
    handoff: bool = False
    #: commit what was processed when partitions are taken away (eager or cooperative)
    commit_on_revoke: bool = False
    #: start (import, connect) but join the group only on SIGUSR1: a newcomer whose process is
    #: ready joins the moment it is told to
    hold: bool = False
    session_timeout_ms: int = 6000
    heartbeat_ms: int = 1000
    max_poll_records: int = 50
    #: how long the broker waits for every member to rejoin (kafka-python: max_poll_interval_ms;
    #: its JoinGroup request waits this plus 5 s). Its default, 300 s, left a member whose join
    #: round trip never completed stuck without partitions for minutes.
    rebalance_timeout_ms: int = 15000
    #: every other request (SyncGroup included) is given up and retried after this long
    request_timeout_ms: int = 10000
    #: the member ends itself after this long, whatever happens (never an orphan)
    max_seconds: float = 120.0
    #: extra client settings, ``key=value`` (security settings of the cluster)
    extra: tuple[str, ...] = ()

    def argv(self) -> list[str]:
        """The command line that starts this member (``sys.executable -m ...``)."""
        args = [sys.executable, "-m", "ridectl.scenarios.children.group_member"]
        args += ["--bootstrap", self.bootstrap, "--topic", self.topic, "--group", self.group]
        args += ["--journal", str(self.journal), "--name", self.name]
        if self.commit_every is None:
            args += ["--auto-commit-ms", str(self.auto_commit_ms)]
        else:
            args += ["--commit-every", str(self.commit_every)]
        args += ["--delay-ms", str(self.delay_ms), "--assignor", self.assignor.value]
        args += ["--isolation", self.isolation.value]
        args += ["--session-timeout-ms", str(self.session_timeout_ms)]
        args += ["--heartbeat-ms", str(self.heartbeat_ms)]
        args += ["--max-poll-records", str(self.max_poll_records)]
        args += ["--rebalance-timeout-ms", str(self.rebalance_timeout_ms)]
        args += ["--request-timeout-ms", str(self.request_timeout_ms)]
        args += ["--max-seconds", str(self.max_seconds)]
        if self.handoff:
            args.append("--handoff")
        if self.commit_on_revoke:
            args.append("--commit-on-revoke")
        if self.hold:
            args.append("--hold")
        for pair in self.extra:
            args += ["-X", pair]
        return args


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m ridectl.scenarios.children.group_member")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--journal", required=True, type=Path)
    ap.add_argument("--name", default=f"member-{os.getpid()}")
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--commit-every", type=int, default=None)
    how.add_argument("--auto-commit-ms", type=int, default=None)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--assignor", type=Assignor, choices=list(Assignor), default=Assignor.RANGE)
    ap.add_argument(
        "--isolation", type=Isolation, choices=list(Isolation), default=Isolation.READ_UNCOMMITTED
    )
    ap.add_argument("--handoff", action="store_true")
    ap.add_argument("--commit-on-revoke", action="store_true")
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--session-timeout-ms", type=int, default=6000)
    ap.add_argument("--heartbeat-ms", type=int, default=1000)
    ap.add_argument("--max-poll-records", type=int, default=50)
    ap.add_argument("--rebalance-timeout-ms", type=int, default=15000)
    ap.add_argument("--request-timeout-ms", type=int, default=10000)
    ap.add_argument("--max-seconds", type=float, default=120.0)
    ap.add_argument("-X", dest="extra", action="append", default=[])
    return ap


def config_from_args(argv: Sequence[str]) -> MemberConfig:
    """Parse and validate a command line (argparse exits 2 with one line on bad input)."""
    ap = _parser()
    ns = ap.parse_args(list(argv))
    if ns.commit_every is not None and ns.commit_every < 1:
        ap.error(f"--commit-every must be 1 or more, not {ns.commit_every}")
    if ns.auto_commit_ms is not None and ns.auto_commit_ms < 1:
        ap.error(f"--auto-commit-ms must be 1 or more, not {ns.auto_commit_ms}")
    if ns.handoff and ns.auto_commit_ms is None:
        ap.error("--handoff needs --auto-commit-ms (manual commits stay in the polling thread)")
    for name in ("delay_ms", "max_seconds"):
        if getattr(ns, name) < 0:
            ap.error(f"--{name.replace('_', '-')} must be 0 or more")
    for name in ("rebalance_timeout_ms", "request_timeout_ms"):
        if getattr(ns, name) <= ns.session_timeout_ms:
            ap.error(f"--{name.replace('_', '-')} must be longer than --session-timeout-ms")
    if ns.max_poll_records < 1:
        ap.error("--max-poll-records must be 1 or more")
    for pair in ns.extra:
        try:
            parse_x_option(pair)
        except RidectlError as exc:
            ap.error(str(exc))
    return MemberConfig(
        bootstrap=ns.bootstrap,
        topic=ns.topic,
        group=ns.group,
        journal=ns.journal,
        name=ns.name,
        commit_every=None if ns.auto_commit_ms is not None else (ns.commit_every or 10),
        auto_commit_ms=ns.auto_commit_ms or 5000,
        delay_ms=ns.delay_ms,
        assignor=ns.assignor,
        isolation=ns.isolation,
        handoff=ns.handoff,
        commit_on_revoke=ns.commit_on_revoke,
        hold=ns.hold,
        session_timeout_ms=ns.session_timeout_ms,
        heartbeat_ms=ns.heartbeat_ms,
        max_poll_records=ns.max_poll_records,
        rebalance_timeout_ms=ns.rebalance_timeout_ms,
        request_timeout_ms=ns.request_timeout_ms,
        max_seconds=ns.max_seconds,
        extra=tuple(ns.extra),
    )
