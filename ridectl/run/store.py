"""Runs: what one ``ridectl produce`` did, remembered so the next command can find it.

``produce`` writes ``<home>/runs/<run_id>.json`` (the summary) and ``<run_id>.acks.ndjson``
(every acknowledged event with its partition and offset), and points ``<home>/last-run.json``
at it. ``consume``/``check`` without ``--run-id`` judge the last run on the same topic, and use
its acknowledgements to tell events the broker lost from events that were never acknowledged.
A run through the fault proxy also keeps ``<run_id>.requests.ndjson``: the Produce requests
``ridectl explain`` needs (see :func:`keep_requests`).
``<home>`` is ``$RIDECTL_HOME`` or ``~/.local/state/ridectl``.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import msgspec

from ridectl.faults.requests import RequestFate, RequestRecord
from ridectl.judge.history import Ack, decode_lines
from ridectl.run.options import ProduceResult

#: requests of the run record kept in full (those touching rides a fault or retry touched)
MAX_REQUESTS_KEPT = 5_000


def home() -> Path:
    env = os.environ.get("RIDECTL_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ridectl"


_last_run_id = ""
_run_id_lock = threading.Lock()


def new_run_id() -> str:
    """Short, sortable by time, unique enough: ``20261127-061203-3fa9``.

    The last four hex digits are the millisecond (three digits) and one random digit, so two
    runs started within the same second still sort in the order they started; inside one
    process each id also sorts after the one before (the newest run on a topic wins)."""
    global _last_run_id
    with _run_id_lock:
        now = time.time()
        stamp = time.strftime("%Y%m%d-%H%M%S-", time.localtime(now))
        millis = min(999, int((now % 1) * 1000))
        run_id = f"{stamp}{millis:03x}{secrets.randbelow(16):x}"
        if run_id <= _last_run_id:
            # Same millisecond (or the clock stepped back): one past the last id.
            head, tail = _last_run_id.rsplit("-", 1)
            run_id = f"{head}-{int(tail, 16) + 1:04x}"
        _last_run_id = run_id
        return run_id


def is_newer(run_id: str, than: str) -> bool:
    """Whether ``run_id`` started after ``than`` (run ids sort by the time they started)."""
    return run_id > than


def _runs_dir() -> Path:
    d = home() / "runs"
    d.mkdir(parents=True, exist_ok=True)
    return d


def save_run(record: Mapping[str, object], acks: Iterable[Ack]) -> Path:
    """Best effort: a run that cannot be remembered still happened, so failures to write
    here are reported by the caller as a warning, not an error."""
    run_id = str(record["run_id"])
    d = _runs_dir()
    (d / f"{run_id}.acks.ndjson").write_bytes(_encode_lines(list(acks)))
    path = d / f"{run_id}.json"
    path.write_text(json.dumps(record, indent=2))
    (home() / "last-run.json").write_text(json.dumps({"run_id": run_id, "topic": record["topic"]}))
    return path


def last_run(topic: str | None = None) -> dict[str, object] | None:
    """The last run (on ``topic`` when given), or None."""
    try:
        ref = json.loads((home() / "last-run.json").read_text())
    except (OSError, ValueError):
        return None
    if topic is not None and ref.get("topic") != topic:
        return None
    return load_run(str(ref.get("run_id")))


def load_run(run_id: str) -> dict[str, object] | None:
    try:
        doc = json.loads((home() / "runs" / f"{run_id}.json").read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def save_requests(run_id: str, records: Iterable[Mapping[str, object]]) -> None:
    """The fault proxy's request log kept with a run (``<run_id>.requests.ndjson``)."""
    with (_runs_dir() / f"{run_id}.requests.ndjson").open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, separators=(",", ":")) + "\n")


def load_requests(run_id: str) -> list[Mapping[str, object]] | None:
    """The request log saved with a run, or None when the run kept none (no fault proxy)."""
    try:
        fh = (home() / "runs" / f"{run_id}.requests.ndjson").open(encoding="utf-8")
    except OSError:
        return None
    out: list[Mapping[str, object]] = []
    with fh:
        for line in fh:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict):
                out.append(doc)
    return out


def load_acks(run_id: str) -> list[Ack] | None:
    """The acknowledgements saved with a run (lines that cannot be read are left out), or
    None when the run kept none."""
    try:
        text = (home() / "runs" / f"{run_id}.acks.ndjson").read_bytes()
    except OSError:
        return None
    return decode_lines(_ACKS, text)[0]


def run_record(result: ProduceResult) -> tuple[dict[str, object], list[RequestRecord]]:
    """What a run shows of itself, to a script (``produce --format json``) and in its saved
    record: the result with the fault proxy's request log cut to a summary (the whole log can
    hold thousands of requests), and the requests worth keeping beside it for ``explain``."""
    record = result.to_dict()
    faults = record.get("faults")
    if result.fault_stats is None or not isinstance(faults, dict):
        return record, []
    kept, summary = keep_requests(result.fault_stats.request_log)
    record["faults"] = {**faults, "request_log": summary}
    return record, kept


def remember(result: ProduceResult, bootstrap: str) -> Path:
    """Save what ``result`` did so later commands can judge and explain it: the run record
    (:func:`run_record`, with the broker it went to), its acknowledgements, and the Produce
    requests ``explain`` needs. Raises OSError when the run cannot be written."""
    record, kept = run_record(result)
    record["bootstrap"] = bootstrap
    if result.fault_stats is not None:
        save_requests(result.run_id, (r.to_dict() for r in kept))
    return save_run(record, result.acks)


def keep_requests(
    records: Sequence[RequestRecord], limit: int = MAX_REQUESTS_KEPT
) -> tuple[list[RequestRecord], dict[str, object]]:
    """The requests worth saving with a run, and a summary of all of them.

    A ride can only be reordered or repeated by the producer when one of its events went in a
    request that was not simply written (failed, refused, closed, its ack replaced) or in a
    retry; every request carrying an event of such a ride is kept, up to ``limit``. The rest
    are counted by fate."""
    touched: set[str] = set()
    for record in records:
        if record.fate is not RequestFate.WRITTEN or record.retry_of or record.duplicate_of:
            touched.update(e.ride_id for e in record.events)
    kept = [r for r in records if any(e.ride_id in touched for e in r.events)][:limit]
    fates: dict[str, int] = defaultdict(int)
    for record in records:
        fates[str(record.fate)] += 1
    summary: dict[str, object] = {
        "requests": len(records),
        "kept": len(kept),
        "rides_touched": len(touched),
        "by_fate": dict(sorted(fates.items())),
    }
    return kept, summary


# (msgspec, not json: 300,000 acknowledgements took about a second each way with json)
_encode_lines = msgspec.json.Encoder().encode_lines
_ACKS = msgspec.json.Decoder(Ack)
