"""The evidence a run left for its story: where the producer placed each record and why, the
acknowledgements it saw, and the fault proxy's request log. Gathered from a run this process
produced (in memory) or from the records ``ridectl produce`` saved (:mod:`ridectl.run.store`)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from ridectl.faults.requests import RequestRecord
from ridectl.judge.history import Ack, History
from ridectl.run import store
from ridectl.run.flow import Trial
from ridectl.run.placement import Placement


@dataclass(frozen=True)
class RunEvidence:
    """What the producer side recorded about a run (each part may be unknown)."""

    topic: str
    run_id: str | None
    placement: Placement | None = None
    acks: Sequence[Ack] | None = None
    #: the proxy's request log (None: the run did not go through the fault proxy)
    requests: Sequence[RequestRecord] | None = None


def run_evidence(topic: str, history: History) -> RunEvidence:
    """What the producer of the judged run recorded (where records went and why, the
    acknowledgements, the fault proxy's request log), for ``ridectl explain``; each part is
    None when the run left none (produced elsewhere, or without the proxy)."""
    run_id = history.run_id
    record = None if run_id is None else store.load_run(run_id)
    placement = None
    saved_placement = None if record is None else record.get("placement")
    if isinstance(saved_placement, dict):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            placement = Placement.from_dict(saved_placement)
    saved = None if run_id is None else store.load_requests(run_id)
    requests = None
    if saved is not None:
        requests = []
        for doc in saved:
            with contextlib.suppress(ValueError, KeyError, TypeError, IndexError):
                requests.append(RequestRecord.from_dict(doc))
    return RunEvidence(topic, run_id, placement, history.acked, requests)


def trial_evidence(trial: Trial) -> RunEvidence:
    """The same, for a run this process produced (nothing read back from disk)."""

    stats = trial.run.fault_stats
    return RunEvidence(
        trial.run.topic.name,
        trial.run.run_id,
        trial.run.placement,
        trial.run.acks,
        None if stats is None else stats.request_log,
    )
