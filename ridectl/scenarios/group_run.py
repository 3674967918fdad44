"""Consumer-group runs with real member processes: start them, watch their journals, kill one,
reap them all, and turn the journals into a history for the checker.

Each member (``ridectl.scenarios.children.group_member``) writes its own journal; the processing
order of the whole group is the merged order of the journals' timestamps (one monotonic clock
for the machine). The group's committed offsets are the highest offset each partition's commit
lines name. Nothing here imports a client library: the members are separate processes.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from ridectl.errors import RidectlError
from ridectl.judge.history import Ack, History, Observation
from ridectl.scenarios.children.group_config import MemberConfig

#: A member that does not stop within this long after SIGTERM is killed.
STOP_GRACE_S = 10.0


@dataclass(frozen=True, slots=True)
class Processed:
    """One record a member processed."""

    member: str
    partition: int
    offset: int
    ride_id: str | None
    seq: int | None
    run_id: str | None
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Commit:
    member: str
    #: partition -> the next offset the group reads
    offsets: dict[int, int]
    ts_ns: int


@dataclass
class MemberView:
    """What one member's journal says so far."""

    name: str
    processed: list[Processed] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    owned: set[int] = field(default_factory=set)
    #: (when, partitions) of every revocation or loss, in journal order
    given_up: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    #: the latest idle line: partition -> lag, and when
    idle_lag: dict[int, int] = field(default_factory=dict)
    idle_end: dict[int, int] = field(default_factory=dict)
    idle_ts: int = 0
    last_rec_ts: int = 0
    started_ts: int = 0
    #: waiting for the word to join (``--hold``), and when it asked to join
    held: bool = False
    subscribed_ts: int = 0
    stopped: bool = False
    _read_at: int = 0

    def refresh(self, path: Path) -> None:
        """Read the lines appended since the last call (an unfinished last line waits)."""
        if not path.exists():
            return
        with path.open("rb") as fh:
            fh.seek(self._read_at)
            data = fh.read()
        end = data.rfind(b"\n")
        if end < 0:
            return
        self._read_at += end + 1
        for raw in data[: end + 1].splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self._apply(json.loads(raw))

    def _apply(self, doc: dict[str, object]) -> None:
        ev, ts = doc["ev"], int(str(doc["ts"]))
        if ev == "rec":
            seq = doc.get("seq")
            self.processed.append(
                Processed(
                    self.name,
                    int(str(doc["p"])),
                    int(str(doc["o"])),
                    _opt_str(doc.get("ride")),
                    int(seq) if isinstance(seq, int) else None,
                    _opt_str(doc.get("run")),
                    ts,
                )
            )
            self.last_rec_ts = ts
        elif ev == "commit":
            offsets = doc["offsets"]
            assert isinstance(offsets, dict)
            self.commits.append(Commit(self.name, {int(p): int(o) for p, o in offsets.items()}, ts))
        elif ev in ("assigned", "revoked", "lost"):
            parts = doc["partitions"]
            assert isinstance(parts, list)
            if ev == "assigned":
                self.owned.update(int(p) for p in parts)
            else:
                self.owned.difference_update(int(p) for p in parts)
                self.given_up.append((ts, tuple(sorted(int(p) for p in parts))))
        elif ev == "idle":
            lag = doc["lag"]
            assert isinstance(lag, dict)
            self.idle_lag = {int(p): int(n) for p, n in lag.items()}
            end = doc.get("end", {})
            assert isinstance(end, dict)
            self.idle_end = {int(p): int(n) for p, n in end.items()}
            self.idle_ts = ts
        elif ev == "start":
            self.started_ts = ts
        elif ev == "held":
            self.held = True
        elif ev == "subscribe":
            self.subscribed_ts = ts
        elif ev == "stop":
            self.stopped = True


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


class MemberProcess:
    """One running member and its journal."""

    def __init__(self, cfg: MemberConfig) -> None:
        self.cfg = cfg
        self.view = MemberView(cfg.name)
        self.killed_ns: int | None = None
        self.terminated = False
        self._stderr = cfg.journal.with_suffix(".stderr")
        with self._stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                cfg.argv(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and self.killed_ns is None

    def refresh(self) -> MemberView:
        self.view.refresh(self.cfg.journal)
        return self.view

    def kill(self) -> None:
        """SIGKILL: no commit, no goodbye to the group; the coordinator finds out only when
        the member's session times out."""
        if self.proc.poll() is None:
            self.killed_ns = time.monotonic_ns()
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=STOP_GRACE_S)

    def release(self) -> None:
        """Tell a held member (``hold``, journal says ``held``) to join its group now."""
        if not self.view.held:
            raise RidectlError(f"group member {self.name} is not waiting to be released")
        self.proc.send_signal(signal.SIGUSR1)

    def hurry(self) -> None:
        """Tell a member that has processed records (so it is set up for it) to drop its
        pause per record from now on."""
        if not self.view.processed:
            raise RidectlError(f"group member {self.name} has not started processing")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR2)

    def terminate(self) -> None:
        """SIGTERM without waiting: the member commits and leaves. Sent once: a second one
        could reach the process while the interpreter shuts down, and kill it."""
        if self.proc.poll() is None and not self.terminated:
            self.terminated = True
            self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM (the member commits and leaves), SIGKILL if it does not end in time."""
        if self.proc.poll() is not None:
            return
        self.terminate()
        try:
            self.proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_GRACE_S)

    def failure(self) -> str | None:
        """The member's own error line, when it ended by itself with an error."""
        code = self.proc.poll()
        if code in (None, 0) or self.killed_ns is not None:
            return None
        text = self._stderr.read_text(errors="replace").strip().splitlines()
        return f"group member {self.name} exited {code}: {text[-1] if text else 'no message'}"


@dataclass
class GroupRun:
    """Members of one group (and the journals they leave) for the length of a ``with``."""

    workdir: Path
    base: MemberConfig
    members: list[MemberProcess] = field(default_factory=list)

    def start(self, name: str, **changes: object) -> MemberProcess:
        cfg = replace(self.base, name=name, journal=self.workdir / f"{name}.ndjson", **changes)  # type: ignore[arg-type]
        member = MemberProcess(cfg)
        self.members.append(member)
        return member

    def refresh(self) -> list[MemberView]:
        views = [m.refresh() for m in self.members]
        for m in self.members:
            failure = m.failure()
            if failure is not None:
                raise RidectlError(failure)
        return views

    def wait(self, what: str, done: Callable[[], bool], timeout_s: float) -> None:
        """Poll ``done`` (journals refreshed first) until true; RidectlError on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.refresh()
            if done():
                return
            if time.monotonic() > deadline:
                raise RidectlError(f"consumer group: {what} did not happen within {timeout_s:g}s")
            time.sleep(0.02)

    def owns_all(self, partitions: int, members: list[MemberProcess] | None = None) -> bool:
        """Every partition is owned by one of the (living) members given."""
        chosen = [m for m in (members or self.members) if m.alive]
        owned: set[int] = set()
        for m in chosen:
            owned |= m.view.owned
        return owned >= set(range(partitions)) and all(m.view.owned for m in chosen)

    def drained(
        self,
        partitions: int,
        members: list[MemberProcess] | None = None,
        min_end: dict[int, int] | None = None,
    ) -> bool:
        """The living members (of those given) own every partition and, since their last
        record, have said that nothing is left to read in any of them.

        ``min_end``: a partition counts only once the member saw its end at least there (a
        read_committed member sees the end move only when the transaction markers, which the
        broker writes after the producer's commit returned, are in the log)."""
        caught_up: set[int] = set()
        for m in members or self.members:
            v = m.view
            if not m.alive or v.idle_ts < v.last_rec_ts:
                continue
            caught_up |= {
                p
                for p, lag in v.idle_lag.items()
                if lag == 0 and p in v.owned and v.idle_end.get(p, 0) >= (min_end or {}).get(p, 0)
            }
        return caught_up >= set(range(partitions))

    def stop_all(self) -> None:
        """Every member told at once, then each one waited for (they leave side by side)."""
        for m in self.members:
            with contextlib.suppress(Exception):
                m.terminate()
        for m in self.members:
            with contextlib.suppress(Exception):
                m.stop()

    def journals(self) -> GroupJournal:
        self.refresh()
        return GroupJournal.merge([m.view for m in self.members])


@contextlib.contextmanager
def group_run(base: MemberConfig) -> Iterator[GroupRun]:
    """Every member started inside is stopped (and reaped) when the block ends, however; the
    journals live in a temporary directory removed with it (read them inside the block)."""
    with tempfile.TemporaryDirectory(prefix="ridectl-group-") as tmp:
        run = GroupRun(Path(tmp), base)
        try:
            yield run
        except BaseException:
            run.stop_all()
            _keep_evidence(run.workdir)
            raise
        finally:
            run.stop_all()


#: When set, the journals and stderr files of a group run that failed are copied under it.
KEEP_ENV = "RIDECTL_KEEP_FAILED_GROUPS"


def _keep_evidence(workdir: Path) -> None:
    """Copy a failed run's journals (and the members' stderr) where ``KEEP_ENV`` points."""
    target = os.environ.get(KEEP_ENV)
    if not target:
        return
    with contextlib.suppress(OSError):
        dest = Path(target) / f"{workdir.name}-{time.strftime('%H%M%S')}"
        shutil.copytree(workdir, dest)


@dataclass
class GroupJournal:
    """All members' journals merged: the group's processing order and its commits."""

    processed: list[Processed]
    commits: list[Commit]

    @classmethod
    def merge(cls, views: list[MemberView]) -> GroupJournal:
        processed = sorted((p for v in views for p in v.processed), key=lambda p: p.ts_ns)
        commits = sorted((c for v in views for c in v.commits), key=lambda c: c.ts_ns)
        return cls(processed, commits)

    def committed(self) -> dict[int, int]:
        """Per partition, the highest offset the group committed (the next one it reads)."""
        out: dict[int, int] = {}
        for c in self.commits:
            for p, o in c.offsets.items():
                out[p] = max(out.get(p, 0), o)
        return out

    def history(
        self,
        run_id: str,
        acked: list[Ack] | None = None,
        aborted: frozenset[tuple[int, int]] | None = None,
    ) -> History:
        """The checker's view: ride events of ``run_id`` in the group's processing order, the
        group's committed offsets, and the records of aborted transactions when known."""
        history = History(run_id=run_id, acked=acked, committed=self.committed(), aborted=aborted)
        for p in self.processed:
            if p.ride_id is None or p.seq is None or p.run_id != run_id:
                history.foreign += 1
                continue
            history.observations.append(
                Observation(
                    len(history.observations), p.ride_id, p.seq, p.partition, p.offset, run_id
                )
            )
        return history

    def times_processed(self) -> Counter[tuple[int, int]]:
        return Counter((p.partition, p.offset) for p in self.processed)

    def redelivered(self) -> set[tuple[int, int]]:
        """(partition, offset) of every record processed more than once."""
        return {k for k, n in self.times_processed().items() if n > 1}

    def skipped(self, acked: list[Ack]) -> set[tuple[int, int]]:
        """Acknowledged records below the group's committed offset that nobody processed."""
        committed = self.committed()
        seen = self.times_processed()
        return {
            (a.partition, a.offset)
            for a in acked
            if a.offset < committed.get(a.partition, 0) and (a.partition, a.offset) not in seen
        }

    def only(self, member: str) -> GroupJournal:
        """The journal of one member alone (members of different groups share a run)."""
        return GroupJournal(
            [p for p in self.processed if p.member == member],
            [c for c in self.commits if c.member == member],
        )

    def by_member(self, member: str) -> list[Processed]:
        return [p for p in self.processed if p.member == member]

    def uncommitted_at_end(self, member: str) -> set[tuple[int, int]]:
        """Records ``member`` processed after its own last commit of their partition."""
        last: dict[int, int] = {}
        for c in self.commits:
            if c.member == member:
                for p, o in c.offsets.items():
                    last[p] = max(last.get(p, 0), o)
        return {
            (p.partition, p.offset)
            for p in self.by_member(member)
            if p.offset >= last.get(p.partition, 0)
        }

    def longest_pause_ms(self, after_ns: int, until_ns: int) -> float:
        """The longest stretch without any processed record between two instants."""
        stamps = [after_ns, *(p.ts_ns for p in self.processed if after_ns < p.ts_ns < until_ns)]
        stamps.append(until_ns)
        return max(b - a for a, b in itertools.pairwise(stamps)) / 1e6
