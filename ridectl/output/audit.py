"""How an audit's verdict is shown: a table of the violating entities with a summary for
people, JSON / NDJSON / CSV documents for scripts, and JUnit XML for CI systems (one failing
test case per violating entity, one passing case per partition read)."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from rich.console import Console
from rich.table import Table

from ridectl.audit.explain import EntityTrace
from ridectl.audit.kinds import AuditKind
from ridectl.audit.mapping import AuditMapping
from ridectl.audit.verdict import AuditVerdict, AuditViolation
from ridectl.judge.kinds import at

_Json = dict[str, object]


@dataclass(frozen=True, slots=True)
class AuditShown:
    """What the renderers need: the verdict, how records were read, and from where."""

    verdict: AuditVerdict
    mapping: AuditMapping
    #: ``topic orders`` or ``file orders.jsonl``
    source: str


def _values(shown: AuditShown, v: AuditViolation) -> list[str]:
    return [shown.mapping.label(x) for x in v.values]


def note(shown: AuditShown, v: AuditViolation) -> str:
    """The violation in plain words."""
    values = _values(shown, v)
    if v.kind is AuditKind.OUT_OF_ORDER:
        (p, _), _later = v.evidence
        return f"{values[1]} came after {values[0]} on partition {p}: every reader sees it late"
    if v.kind is AuditKind.DUPLICATE:
        return f"{values[0]} written twice: a reader handles it twice"
    if v.kind is AuditKind.GAP:
        span = values[0] if values[0] == values[1] else f"{values[0]}..{values[1]}"
        return f"{span} never appears between the values read"
    parts = ", ".join(str(p) for p in v.partitions)
    return f"records on partitions {parts}: readers may see them in any order"


def _shown_values(shown: AuditShown, v: AuditViolation) -> str:
    """The values of a violation as the table shows them: ``3 > 2``, ``2..3``, ``1``."""
    values = _values(shown, v)
    if v.kind is AuditKind.OUT_OF_ORDER:
        return " > ".join(values)
    if v.kind is AuditKind.GAP and values[0] != values[-1]:
        return "..".join(values)
    return values[0] if values else ""


def render_table(shown: AuditShown, con: Console) -> None:
    verdict = shown.verdict
    if verdict.violations:
        table = Table(title=f"audit of {shown.source}: violations", title_justify="left")
        for name in ("entity", "partitions", "values"):
            table.add_column(name, overflow="fold")
        for name in ("kind", "cause", "evidence"):
            table.add_column(name, no_wrap=True)
        table.add_column("note", overflow="fold", min_width=24)
        for v in verdict.violations:
            table.add_row(
                v.entity,
                ",".join(str(p) for p in v.partitions),
                _shown_values(shown, v),
                str(v.kind),
                "" if v.cause is None else str(v.cause),
                v.where,
                note(shown, v),
            )
        con.print(table)
    else:
        con.print(f"audit of {shown.source}: no violation", soft_wrap=True)
    for line in summary_lines(shown):
        con.print(line, highlight=False, soft_wrap=True)


def summary_lines(shown: AuditShown) -> list[str]:
    s = shown.verdict.summary
    lines = [
        f"mapping: {shown.mapping.describe()}",
        f"records: {s.records} (judged {s.mapped}, unmapped {s.unmapped}); "
        f"entities: {s.entities}; violating entities: {s.violating_entities}",
        "by kind: " + ", ".join(f"{k} {n}" for k, n in s.by_kind.items()),
        "by cause: " + (", ".join(f"{c} {n}" for c, n in s.by_cause.items() if n) or "none"),
        "unmapped: "
        + (", ".join(f"{r} {n}" for r, n in s.unmapped_by_reason.items() if n) or "none"),
        "records per partition: "
        + (", ".join(f"p{p} {n}" for p, n in s.records_per_partition.items()) or "none"),
        f"split entities: {s.split_entities}",
    ]
    if s.unstored_entities:
        lines.append(
            f"{s.unstored_entities} violating entities beyond --limit were counted, not listed"
        )
    return lines


def _violation(shown: AuditShown, v: AuditViolation) -> _Json:
    return {
        "entity": v.entity,
        "kind": str(v.kind),
        "cause": None if v.cause is None else str(v.cause),
        "values": _values(shown, v),
        "evidence": [{"partition": p, "offset": o} for p, o in v.evidence],
        "partitions": list(v.partitions),
    }


def summary_document(shown: AuditShown) -> _Json:
    s = shown.verdict.summary
    return {
        "source": shown.source,
        "mapping": shown.mapping.describe(),
        "records": s.records,
        "judged": s.mapped,
        "entities": s.entities,
        "violating_entities": s.violating_entities,
        "unstored_entities": s.unstored_entities,
        "split_entities": s.split_entities,
        "by_kind": {str(k): n for k, n in s.by_kind.items()},
        "by_cause": {str(c): n for c, n in s.by_cause.items()},
        "unmapped": s.unmapped,
        "unmapped_by_reason": {str(r): n for r, n in s.unmapped_by_reason.items()},
        "records_per_partition": {str(p): n for p, n in s.records_per_partition.items()},
        "clean": shown.verdict.clean,
    }


def render_json(shown: AuditShown) -> str:
    document = {
        "summary": summary_document(shown),
        "violations": [_violation(shown, v) for v in shown.verdict.violations],
    }
    return msgspec.json.format(msgspec.json.encode(document).decode(), indent=2)


def render_ndjson(shown: AuditShown) -> str:
    """One line per violation (``"type": "violation"``), then the summary line."""
    lines = [
        msgspec.json.encode({"type": "violation", **_violation(shown, v)}).decode()
        for v in shown.verdict.violations
    ]
    lines.append(msgspec.json.encode({"type": "summary", **summary_document(shown)}).decode())
    return "\n".join(lines) + "\n"


def render_csv(shown: AuditShown) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["entity", "kind", "cause", "values", "partitions", "evidence"])
    for v in shown.verdict.violations:
        writer.writerow(
            [
                v.entity,
                v.kind,
                v.cause or "",
                " ".join(_values(shown, v)),
                " ".join(str(p) for p in v.partitions),
                v.where,
            ]
        )
    return out.getvalue()


def render_junit(shown: AuditShown) -> str:
    """JUnit XML: a failing case per violating entity (its violations as the failure's text),
    a passing case per partition read."""
    verdict, s = shown.verdict, shown.verdict.summary
    by_entity: dict[str, list[AuditViolation]] = {}
    for v in verdict.violations:
        by_entity.setdefault(v.entity, []).append(v)
    suite_name = f"ridectl audit {shown.source}"
    cases = len(by_entity) + len(s.records_per_partition)
    root = ET.Element("testsuites", name="ridectl audit")
    suite = ET.SubElement(
        root, "testsuite", name=suite_name, tests=str(cases), failures=str(len(by_entity))
    )
    ET.SubElement(
        ET.SubElement(suite, "properties"),
        "property",
        name="mapping",
        value=shown.mapping.describe(),
    )
    for p, n in s.records_per_partition.items():
        ET.SubElement(suite, "testcase", classname=suite_name, name=f"partition {p} ({n} records)")
    for entity, violations in by_entity.items():
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=f"entity {entity}")
        kinds = sorted({str(v.kind) for v in violations})
        failure = ET.SubElement(case, "failure", type="order", message=", ".join(kinds))
        failure.text = "\n".join(f"{v.kind} at {v.where}: {note(shown, v)}" for v in violations)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def render_explain(shown: AuditShown, trace: EntityTrace, con: Console) -> None:
    """The entity's records in log order with their timestamps, then its violations."""
    entity = trace.entity
    records = trace.records
    if not records:
        con.print(f"entity {entity}: no record of it in {shown.source}", soft_wrap=True)
        return
    table = Table(title=f"entity {entity} in {shown.source}, in log order", title_justify="left")
    for name in ("where", "timestamp (UTC)", "value"):
        table.add_column(name, no_wrap=True)
    for r in records:
        value = r.value if r.unmapped is None else f"(not judged: {r.unmapped.words})"
        table.add_row(at(r.partition, r.offset), _stamp(r.timestamp_ms), value)
    con.print(table)
    mine = [v for v in shown.verdict.violations if v.entity == entity]
    if not mine:
        con.print(f"entity {entity}: no violation", soft_wrap=True)
    for v in mine:
        con.print(f"{v.kind} at {v.where}: {note(shown, v)}", soft_wrap=True, highlight=False)


def _stamp(ms: int) -> str:
    if ms < 0:
        return "unknown"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
