"""A real consumer-group member, run as a process of its own:
``python -m ridectl.scenarios.children.group_member --bootstrap B --topic T --group G
--journal FILE ...``.

It joins a group with kafka-python, "processes" each record (a configurable sleep), commits
either after every N processed records or through kafka-python's auto-commit, and appends a
journal line for everything it does: each processed record (partition, offset, ride id, seq and
the processing time), each commit, each assignment change, and an ``idle`` line with its lag
when it has nothing left to read. Every line reaches the kernel with one ``write`` before the
member goes on, so a SIGKILL loses nothing already written: the journal of a killed member says
exactly what it processed and what it committed before it died.

Journal lines (one JSON object each, ``ts`` is ``time.monotonic_ns()``, which every process of
the machine shares, so journals of several members merge into one processing order):

* ``{"ev":"rec","m":NAME,"p":P,"o":O,"ride":R,"seq":S,"run":RUN,"ts":T}`` (ride/seq/run null
  for a record that is not a ride event)
* ``{"ev":"commit","m":NAME,"offsets":{"P":NEXT,...},"ts":T}`` (the next offset to read);
  a manual commit is announced first by a ``committing`` line with the same offsets
* ``{"ev":"assigned"|"revoked"|"lost","m":NAME,"partitions":[...],"ts":T}``
* ``{"ev":"idle","m":NAME,"lag":{"P":N,...},"end":{"P":END,...},"ts":T}`` (``end``: the
  partition's end as this member's isolation level sees it), ``{"ev":"start"|"stop",...}``
* ``{"ev":"subscribe",...}`` just before the member asks to join the group; with ``--hold``
  it is preceded by ``{"ev":"held",...}`` (ready, waiting for SIGUSR1 to join)
* SIGUSR2 ends the processing pause (``--delay-ms``) for the rest of the member's life
* ``{"ev":"join-stuck","m":NAME,"waited_s":W,"ts":T}``: a join outlasted the broker's limit
  for it; the member drops that consumer and joins again with a new one

Handing records to a processing thread (``--handoff``) is the classic way to lose records with
auto-commit: kafka-python commits the positions it has *returned* at the next poll, which then
runs ahead of the work still queued.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from kafka import AsyncConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka import errors as kerrors
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

from ridectl.clients.admin import client_kwargs
from ridectl.clients.settings import build_settings
from ridectl.errors import RidectlError
from ridectl.judge.history import parse_ride_event
from ridectl.scenarios.children.group_config import (
    Assignor,
    Isolation,
    MemberConfig,
    config_from_args,
)

__all__ = ["Assignor", "Isolation", "Journal", "MemberConfig", "config_from_args", "main"]


#: Errors of a commit refused because the group is changing under the member.
_GROUP_CHANGING = (
    kerrors.RebalanceInProgressError,
    kerrors.CommitFailedError,
    kerrors.IllegalGenerationError,
    kerrors.UnknownMemberIdError,
)

_ASSIGNORS = {
    Assignor.RANGE: RangePartitionAssignor,
    Assignor.ROUNDROBIN: RoundRobinPartitionAssignor,
    Assignor.COOPERATIVE_STICKY: CooperativeStickyAssignor,
}


class Journal:
    """Append-only NDJSON; one ``os.write`` per line, so a line is either whole or absent."""

    def __init__(self, path: Path, member: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._member = member
        self._lock = threading.Lock()

    def write(self, ev: str, **fields: object) -> None:
        doc = {"ev": ev, "m": self._member, **fields, "ts": time.monotonic_ns()}
        line = (json.dumps(doc, separators=(",", ":")) + "\n").encode()
        with self._lock:
            os.write(self._fd, line)

    def close(self) -> None:
        os.close(self._fd)


def _offsets_doc(offsets: dict[int, int]) -> dict[str, int]:
    return {str(p): o for p, o in sorted(offsets.items())}


class Member:
    """One group member: poll, process, commit, journal."""

    def __init__(self, cfg: MemberConfig, consumer: KafkaConsumer, journal: Journal) -> None:
        self.cfg = cfg
        self.consumer = consumer
        self.journal = journal
        self.stop = threading.Event()
        #: processed since the last commit: partition -> next offset to read
        self.pending: dict[int, int] = {}
        self.processed = 0
        self.work: queue.Queue[tuple[int, int, bytes | None]] = queue.Queue(maxsize=10_000)
        self.delay_s = cfg.delay_ms / 1000.0
        #: since when the member has seen its current join in flight
        self.joining_since: float | None = None
        self._worker_started = False

    # -- processing -------------------------------------------------------------------------
    def process(self, partition: int, offset: int, value: bytes | None) -> None:
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        parsed = parse_ride_event(value)
        ride, seq, run = parsed if parsed is not None else (None, None, None)
        self.journal.write("rec", p=partition, o=offset, ride=ride, seq=seq, run=run)
        self.processed += 1
        self.pending[partition] = offset + 1

    def _worker(self) -> None:
        while not self.stop.is_set():
            try:
                item = self.work.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                self.process(*item)
            finally:
                self.work.task_done()

    # -- committing -------------------------------------------------------------------------
    def _to_commit(self, only: set[int] | None) -> dict[int, int]:
        """The offsets processed and not yet committed (of ``only``'s partitions), announced
        in the journal first: a kill while the commit is in flight leaves the intent there, and
        the broker then holds either the previous commit or this one."""
        todo = {p: o for p, o in self.pending.items() if only is None or p in only}
        if todo and self.cfg.commit_every is not None:
            self.journal.write("committing", offsets=_offsets_doc(todo))
            return todo
        return {}

    def _offsets(self, todo: dict[int, int]) -> dict[TopicPartition, OffsetAndMetadata]:
        return {
            TopicPartition(self.cfg.topic, p): OffsetAndMetadata(o, "", -1) for p, o in todo.items()
        }

    def _committed(self, todo: dict[int, int], error: Exception | None) -> None:
        if error is not None:
            # The group is rebalancing: the commit is refused and these offsets stay pending
            # (committed later if the partitions are still ours, processed again if not).
            self.journal.write(
                "commit-failed", offsets=_offsets_doc(todo), error=type(error).__name__
            )
            return
        self.journal.write("commit", offsets=_offsets_doc(todo))
        for p in todo:
            if self.pending.get(p) == todo[p]:
                del self.pending[p]

    def commit_pending(self, only: set[int] | None = None) -> None:
        """Commit the offsets processed so far (manual mode), then journal the commit."""
        todo = self._to_commit(only)
        if not todo:
            return
        try:
            self.consumer.commit(offsets=self._offsets(todo))
        except _GROUP_CHANGING as exc:
            self._committed(todo, exc)
            return
        self._committed(todo, None)

    async def commit_pending_async(self, only: set[int]) -> None:
        """The same commit from a rebalance listener. kafka-python 3 runs listeners on its IO
        thread, where the blocking ``commit()`` refuses to run (RuntimeError); this awaits the
        coroutine that ``commit()`` itself runs (private to kafka-python, hence the lookup)."""
        todo = self._to_commit(only)
        if not todo:
            return
        commit = self.consumer._coordinator._commit_offsets_sync_async
        try:
            await commit(self._offsets(todo), self.cfg.request_timeout_ms)
        except (*_GROUP_CHANGING, kerrors.KafkaTimeoutError) as exc:
            self._committed(todo, exc)
            return
        self._committed(todo, None)

    def on_auto_commit(self, offsets: object, result: object) -> None:
        """kafka-python's callback after an asynchronous (auto) commit."""
        if isinstance(result, Exception) or not isinstance(offsets, dict):
            return
        done = {tp.partition: meta.offset for tp, meta in offsets.items()}
        if done:
            self.journal.write("commit", offsets=_offsets_doc(done))

    # -- the loop -----------------------------------------------------------------------------
    def run(self, parent: int, deadline: float) -> bool:
        """Poll and process until told to stop (False) or until a join is stuck (True)."""
        if self.cfg.handoff and not self._worker_started:
            threading.Thread(target=self._worker, name="member-worker", daemon=True).start()
            self._worker_started = True
        last_idle = 0.0
        # A join that outlasts the broker's own limit for it will never finish (seen with
        # kafka-python 3.0.12: the leader synced the group, the other member got its
        # partitions, the leader never did and sent no heartbeat again).
        stuck_s = (self.cfg.rebalance_timeout_ms + 5000) / 1000.0
        while not self.stop.is_set():
            if time.monotonic() > deadline or os.getppid() != parent:
                break
            if self._join_in_flight():
                self.joining_since = self.joining_since or time.monotonic()
                if time.monotonic() - self.joining_since > stuck_s:
                    return True
            else:
                self.joining_since = None
            batch = self.consumer.poll(timeout_ms=100, max_records=self.cfg.max_poll_records)
            for records in batch.values():
                for rec in records:
                    if self.cfg.handoff:
                        self._hand_off(rec.partition, rec.offset, rec.value)
                    else:
                        self.process(rec.partition, rec.offset, rec.value)
                        self._maybe_commit()
            if batch or (self.cfg.handoff and self.work.unfinished_tasks):
                last_idle = 0.0
                continue
            if self.cfg.commit_every is not None and self.pending:
                self.commit_pending()
            now = time.monotonic()
            if now - last_idle > 0.2:
                self._journal_idle()
                last_idle = now
        return False

    def _join_in_flight(self) -> bool:
        """kafka-python's coordinator is between a join's start and its completion (no public
        API says so; ``rejoining`` is set for exactly that span, eager or cooperative)."""
        coordinator = getattr(self.consumer, "_coordinator", None)
        return bool(getattr(coordinator, "rejoining", False))

    def _hand_off(self, partition: int, offset: int, value: bytes | None) -> None:
        while not self.stop.is_set():
            try:
                self.work.put((partition, offset, value), timeout=0.1)
                return
            except queue.Full:
                continue

    def _maybe_commit(self) -> None:
        every = self.cfg.commit_every
        if every is not None and self.processed % every == 0:
            self.commit_pending()

    def _journal_idle(self) -> None:
        assigned = list(self.consumer.assignment())
        if not assigned:
            return
        ends = self.consumer.end_offsets(assigned)
        lag: dict[int, int] = {}
        known: dict[int, int] = {}
        for tp in assigned:
            pos = self.consumer.position(tp)
            end = ends.get(tp)
            if pos is not None and end is not None:
                lag[tp.partition] = max(0, int(end) - int(pos))
                known[tp.partition] = int(end)
        self.journal.write("idle", lag=_offsets_doc(lag), end=_offsets_doc(known))

    def finish(self) -> None:
        """A graceful end (SIGTERM, lifetime): commit what was processed, then leave."""
        self.stop.set()
        if self.cfg.commit_every is not None:
            self.commit_pending()
        else:
            self.consumer.commit()
            positions = {
                tp.partition: self.consumer.position(tp) for tp in self.consumer.assignment()
            }
            done = {p: int(o) for p, o in positions.items() if o is not None}
            if done:
                self.journal.write("commit", offsets=_offsets_doc(done))


class _Listener(AsyncConsumerRebalanceListener):  # type: ignore[misc]
    """Journals assignment changes; commits on revocation when asked. Asynchronous because
    kafka-python 3 calls it on its IO thread: a blocking call in there is refused."""

    def __init__(self, member: Member) -> None:
        self.member = member

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        parts = sorted(tp.partition for tp in revoked)
        if self.member.cfg.commit_on_revoke and parts:
            await self.member.commit_pending_async(set(parts))
        for p in parts:
            self.member.pending.pop(p, None)
        self.member.journal.write("revoked", partitions=parts)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        parts = sorted(tp.partition for tp in assigned)
        self.member.journal.write("assigned", partitions=parts)

    async def on_partitions_lost(self, lost: Sequence[TopicPartition]) -> None:
        parts = sorted(tp.partition for tp in lost)
        for p in parts:
            self.member.pending.pop(p, None)
        self.member.journal.write("lost", partitions=parts)


def build_consumer(cfg: MemberConfig, member_ref: list[Member]) -> KafkaConsumer:
    settings = build_settings(cfg.bootstrap, None, list(cfg.extra))
    kwargs = client_kwargs(settings, "consumer")
    kwargs.update(
        group_id=cfg.group,
        client_id=cfg.name,
        enable_auto_commit=cfg.commit_every is None,
        auto_commit_interval_ms=cfg.auto_commit_ms,
        auto_offset_reset="earliest",
        isolation_level=cfg.isolation.value,
        partition_assignment_strategy=(_ASSIGNORS[cfg.assignor],),
        session_timeout_ms=cfg.session_timeout_ms,
        heartbeat_interval_ms=cfg.heartbeat_ms,
        max_poll_records=cfg.max_poll_records,
        max_poll_interval_ms=cfg.rebalance_timeout_ms,
        request_timeout_ms=cfg.request_timeout_ms,
        fetch_max_wait_ms=100,
        default_offset_commit_callback=lambda offs, res: (
            member_ref[0].on_auto_commit(offs, res) if member_ref else None
        ),
    )
    return KafkaConsumer(**kwargs)


def run_member(cfg: MemberConfig) -> int:
    journal = Journal(cfg.journal, cfg.name)
    journal.write("start", pid=os.getpid(), group=cfg.group)
    ref: list[Member] = []
    consumer = build_consumer(cfg, ref)
    member = Member(cfg, consumer, journal)
    ref.append(member)
    signal.signal(signal.SIGTERM, lambda *_: member.stop.set())
    # SIGUSR2: what was to be seen is over, process the rest without the pause per record.
    signal.signal(signal.SIGUSR2, lambda *_: setattr(member, "delay_s", 0.0))
    parent, deadline = os.getppid(), time.monotonic() + cfg.max_seconds
    try:
        if not cfg.hold or _released(member, parent, deadline):
            journal.write("subscribe")
            consumer.subscribe(topics=[cfg.topic], listener=_Listener(member))
            while member.run(parent, deadline):
                # The stuck join cannot be taken back: leave with this consumer, join with a
                # new one (a new member id; the old one leaves the group when its session ends).
                waited = time.monotonic() - (member.joining_since or 0.0)
                journal.write("join-stuck", waited_s=round(waited, 1))
                consumer.close(autocommit=False)
                member.pending.clear()
                member.joining_since = None
                consumer = member.consumer = build_consumer(cfg, ref)
                consumer.subscribe(topics=[cfg.topic], listener=_Listener(member))
            member.finish()
    finally:
        consumer.close(autocommit=False)
        journal.write("stop", processed=member.processed)
        journal.close()
    return 0


def _released(member: Member, parent: int, deadline: float) -> bool:
    """``--hold``: say so in the journal, then wait for SIGUSR1 (True) or for the member's end
    (SIGTERM, lifetime, parent gone: False)."""
    release = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: release.set())
    member.journal.write("held")
    while not release.wait(0.02):
        if member.stop.is_set() or time.monotonic() > deadline or os.getppid() != parent:
            return False
    return True


#: A logging level (``INFO``, ``DEBUG``) for kafka-python's group coordinator, on stderr.
LOG_ENV = "RIDECTL_MEMBER_LOG"


def main(argv: Sequence[str] | None = None) -> int:
    cfg = config_from_args(sys.argv[1:] if argv is None else argv)
    level = os.environ.get(LOG_ENV)
    if level:
        logging.basicConfig(stream=sys.stderr, format="%(created).3f %(name)s %(message)s")
        logging.getLogger("kafka.coordinator").setLevel(level.upper())
    try:
        return run_member(cfg)
    except (kerrors.KafkaError, RidectlError, OSError) as exc:
        print(f"group member {cfg.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
