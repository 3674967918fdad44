"""``watch`` on a topic that does not exist yet says so once, and --idle-timeout bounds the wait
(real broker)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import CliResult

pytestmark = pytest.mark.kafka


def test_watch_waits_once_visibly_and_gives_up_after_the_idle_timeout(
    cli: Callable[..., CliResult], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("never")
    r = cli("watch", "-t", topic, "--idle-timeout", "2", "-b", kafka_bootstrap)
    assert r.code == 2, r
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    assert len(lines) == 2, r  # the waiting note, once, then the one error line
    assert lines[0].startswith(f"waiting up to 2s for topic {topic}"), r
    assert lines[1].startswith(f"error: topic {topic} did not appear") and "within 2s" in lines[1]
    assert "Traceback" not in r.err and "unexpected" not in r.err
    assert r.out == ""


def test_wait_topic_overrides_the_idle_timeout(
    cli: Callable[..., CliResult], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("never")
    r = cli(
        "watch", "-t", topic, "--idle-timeout", "30", "--wait-topic", "1", "-b", kafka_bootstrap
    )
    assert r.code == 2, r
    assert "within 1s" in r.err and r.err.count("waiting up to 1s") == 1, r
