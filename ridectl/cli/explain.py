"""``ridectl explain``: the story of one ride, argument parsing only (the story is built by
ridectl.story.explain from the run's records and shown by ridectl.output.explain)."""

from __future__ import annotations

import gc
from typing import Annotated

import typer

from ridectl.cli.options import Bootstrap, ConfigFile, TableOrJson, Topic, XOption, settings_from
from ridectl.cli.reading import RunId, consume_history, judged_nothing
from ridectl.errors import UsageError
from ridectl.output.formats import Format, Views, emit


def explain(
    ride_id: Annotated[str, typer.Argument(help="The ride to explain, e.g. ride-00042.")],
    topic: Topic,
    run_id: RunId = None,
    fmt: TableOrJson = Format.table,
    bootstrap_servers: Bootstrap = None,
    config: ConfigFile = None,
    x: XOption = None,
) -> None:
    """Tell one ride's story: sends, requests, faults, retries, offsets, processing, verdict."""
    from ridectl.output.explain import render_story, story_json
    from ridectl.run.flow import judge
    from ridectl.story.evidence import run_evidence
    from ridectl.story.explain import StoryIndex

    settings = settings_from(bootstrap_servers, config, x)
    # The run judged is named in the story's title, so stderr stays for errors.
    history, _stats = consume_history(topic, run_id, None, 1, None, settings, announce=False)
    gc.freeze()
    report = judge(history)
    if report.events == 0:
        judged_nothing(history, f"topic {topic}", True)
    index = StoryIndex(run_evidence(topic, history), history, report)
    if not index.knows(ride_id):
        violating = [r.ride_id for r in report.per_ride[:3]]
        hint = "violating rides: " + ", ".join(violating) if violating else "no ride violated"
        raise UsageError(f"no ride {ride_id} in run {history.run_id} on {topic}", hint=hint)
    story = index.story(ride_id)
    emit(fmt, Views(table=lambda out: render_story(story, out), json=lambda: story_json(story)))


def register(app: typer.Typer) -> None:
    """Attach ``explain`` to the root app."""
    app.command()(explain)
