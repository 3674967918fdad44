"""An audit from start to verdict: records from a topic (read-only) or a file, judged as they
come by the streaming judge, and a refusal in one line when nothing could be judged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from ridectl.audit.engine import Auditor
from ridectl.audit.explain import EntityTrace
from ridectl.audit.files import FileRead, feed_file
from ridectl.audit.mapping import AuditMapping
from ridectl.audit.reading import ReadPlan, ReadStats, read_topic
from ridectl.audit.verdict import AuditVerdict
from ridectl.clients.base import ConsumedRecord
from ridectl.errors import UsageError
from ridectl.limits import readable_file

_OFFSET = attrgetter("offset")
_KEY = attrgetter("key")
_VALUE = attrgetter("value")

#: How many top-level field names a "did you mean" line shows.
_FIELDS_SHOWN = 12


@dataclass(frozen=True, slots=True)
class TopicAudit:
    verdict: AuditVerdict
    read: ReadStats


@dataclass(frozen=True, slots=True)
class FileAudit:
    verdict: AuditVerdict
    read: FileRead


def audit_topic(
    plan: ReadPlan, mapping: AuditMapping, limit: int, trace: EntityTrace | None = None
) -> TopicAudit:
    """Read ``plan.topic`` and judge every record with ``mapping`` (and keep the records of
    ``trace``'s entity, when given)."""
    auditor = Auditor(mapping, limit=limit)
    feed = auditor.feed

    def judge(partition: int, records: Sequence[ConsumedRecord]) -> None:
        columns = map(_OFFSET, records), map(_KEY, records), map(_VALUE, records)
        feed(partition, zip(*columns, strict=True))
        if trace is not None:
            trace.see(partition, records)

    stats = read_topic(plan, judge)
    return TopicAudit(auditor.finish(), stats)


def audit_file(path: Path, mapping: AuditMapping, limit: int, topic: str | None) -> FileAudit:
    """Judge the records of an exported file (kcat ``-J`` or JSON lines)."""
    readable_file(path, "--from file", whole=False)
    auditor = Auditor(mapping, limit=limit)
    try:
        with path.open("rb") as fh:
            read = feed_file(fh, auditor, topic=topic)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return FileAudit(auditor.finish(), read)


def refuse_nothing_judged(verdict: AuditVerdict, mapping: AuditMapping, source: str) -> None:
    """One line (exit 2) when no record could be judged: an empty source, or a mapping that
    matched no record (naming the paths and the top-level fields that are there)."""
    if not verdict.judged_nothing:
        return
    summary = verdict.summary
    if summary.records == 0:
        raise UsageError(f"nothing to audit: {source} holds no records")
    fields = verdict.fields_seen
    if fields:
        shown = ", ".join(fields[:_FIELDS_SHOWN]) + (", ..." if len(fields) > _FIELDS_SHOWN else "")
        seen = f"; top-level fields there: {shown} (did you mean one of them?)"
    else:
        reasons = ", ".join(f"{n} {r.words}" for r, n in summary.unmapped_by_reason.items() if n)
        seen = f"; the records: {reasons}"
    paths = " and ".join(str(p) for p in mapping.paths) or "the key"
    raise UsageError(
        f"the mapping ({mapping.describe()}) matched none of the {summary.records} "
        f"records of {source}: no record has {paths}{seen}"
    )
