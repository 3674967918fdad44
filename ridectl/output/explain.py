"""How a ride's story is shown: a table of steps in time order for people, JSON for scripts,
and the one-line story under a lesson's table."""

from __future__ import annotations

import json

from rich.console import Console
from rich.text import Text

from ridectl.output.tables import Column, FitTable, Kind
from ridectl.story.explain import Evidence, RideStory, StepKind

_EVIDENCE_TEXT = {
    Evidence.REQUESTS: "the fault proxy's request log, the acknowledgements and the history",
    Evidence.ACKS: "the acknowledgements and the history (no fault proxy: no request log)",
    Evidence.NONE: "the history only (no run record from the producer)",
}

_COLUMNS = [
    Column("step", "placed, a Produce request (#N), a processing position, or the verdict"),
    Column("what happened", kind=Kind.TEXT, min_width=30),
]


def _when(kind: StepKind, request: int | None, position: int | None) -> str:
    if kind is StepKind.REQUEST and request is not None:
        return f"#{request}"
    if kind is StepKind.PROCESSED and position is not None:
        return f"pos {position}"
    return {
        StepKind.PLACED: "placed",
        StepKind.ACKED: "sent",
        StepKind.UNACKED: "sent",
        StepKind.NOT_PROCESSED: "never",
        StepKind.VERDICT: "verdict",
    }.get(kind, str(kind))


def render_story(story: RideStory, console: Console) -> None:
    """The ride's steps, then the story in one line."""
    rows = [[_when(s.kind, s.request, s.position), s.text] for s in story.steps]
    run = f" (run {story.run_id})" if story.run_id else ""
    title = f"{story.ride_id} on {story.topic}{run}"
    notes = [f"evidence: {_EVIDENCE_TEXT[story.evidence]}"]
    console.print(FitTable(_COLUMNS, rows, title=title, notes=notes))
    console.print(story_line(story))


def story_line(story: RideStory) -> Text:
    """``Story of ride-00042: ...``, for under a table."""
    line = Text(f"Story of {story.ride_id}: ", style="bold")
    line.append(story.summary)
    return line


def story_json(story: RideStory) -> str:
    return json.dumps(story.to_dict(), indent=2, ensure_ascii=False)
