"""The retry gotcha and its fixes, through the fault proxy, judged by ``ridectl check`` on
the real broker; and the proxy serving a client that is not kafka-python (the Java
producer from Kafka's own tools)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from ridectl.broker.local import ensure_jars, find_java

pytestmark = pytest.mark.kafka

#: One record per request, several requests in flight, retries on, no backoff (see README,
#: "Failures on demand").
PIPELINED = [
    "--max-in-flight", "5", "--retries", "1000000", "--batch-size", "1",
    "-X", "retry.backoff.ms=0", "--seed", "5",
]  # fmt: skip


def _run(
    cli: Callable[..., Any],
    bootstrap: str,
    topic: str,
    fault: str,
    *extra: str,
    rides: int = 150,
    partitions: int = 3,
) -> tuple[dict[str, Any], dict[str, Any]]:
    res = cli(
        "produce", "-b", bootstrap, "-t", topic, "--rides", str(rides), "-p", str(partitions),
        "--fault", fault, "--format", "json", *PIPELINED, *extra,
    )  # fmt: skip
    assert res.code == 0, res
    run = json.loads(res.out)
    assert run["events_acked"] == rides * 5
    assert sum(run["faults"]["faults_injected"].values()) > 0
    res = cli("check", "-b", bootstrap, "-t", topic, "--format", "json")
    assert res.code == 0, res
    return run, json.loads(res.out)


def test_retry_gotcha_reorders_single_partitions_and_repeats_with_the_same_seed(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    violating: list[set[str]] = []
    for _ in range(2):
        _, report = _run(
            cli, kafka_bootstrap, new_topic("gotcha"), "error:every=7,hold=4",
            "--no-idempotence", partitions=1,
        )  # fmt: skip
        assert report["summary"]["by_kind"]["out_of_order"] > 0
        assert report["summary"]["rides_split"] == 0
        violating.append({v["ride_id"] for v in report["violations"]})
    assert violating[0] == violating[1]


@pytest.mark.parametrize(
    "fix", [["--no-idempotence", "--max-in-flight", "1"], ["--idempotence"]], ids=str
)
def test_one_in_flight_or_idempotence_keeps_order_under_the_same_faults(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str], fix: list[str]
) -> None:
    run, report = _run(cli, kafka_bootstrap, new_topic("fix"), "error:every=7,hold=4", *fix)
    assert run["batch_retries"] > 0
    assert report["violations"] == []


def test_lost_acks_duplicate_without_idempotence_only(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    _, off = _run(
        cli, kafka_bootstrap, new_topic("lostack"), "lost-ack:every=7,ms=20", "--no-idempotence"
    )
    dups = [v for v in off["violations"] if v["kind"] == "duplicate"]
    assert dups and all(v["duplicate_kind"] == "producer" for v in dups)
    _, on = _run(
        cli, kafka_bootstrap, new_topic("lostack"), "lost-ack:every=7,ms=20", "--idempotence"
    )
    assert on["violations"] == []


def test_disconnects_with_requests_in_flight_break_ordering_without_idempotence(
    cli: Callable[..., Any], kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    _, report = _run(
        cli, kafka_bootstrap, new_topic("disconnect"), "disconnect:every=25", "--no-idempotence",
        rides=200,
    )  # fmt: skip
    assert report["summary"]["violating_rides"] > 0
    assert report["summary"]["by_kind"]["lost"] == 0


def test_java_producer_through_ridectl_proxy(
    kafka_bootstrap: str, new_topic: Callable[[str], str], tmp_path: Path
) -> None:
    topic = new_topic("java")
    from ridectl.clients.admin import ensure_topic
    from ridectl.settings import build_settings

    ensure_topic(build_settings(kafka_bootstrap, None, []), topic, 1)
    jars = ensure_jars(tools=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    proxy = subprocess.Popen(
        [sys.executable, "-m", "ridectl", "proxy", "--listen", f"127.0.0.1:{port}",
         "--fault", "error:first=2", "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert proxy.poll() is None, proxy.stderr.read() if proxy.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.1)
        # VerifiableProducer defaults to retries=0; give it the Java client's usual settings.
        props = tmp_path / "producer.properties"
        props.write_text("retries=2147483647\nenable.idempotence=true\nacks=all\n")
        java = subprocess.run(
            [find_java(), "-cp", f"{jars}/*", "org.apache.kafka.tools.VerifiableProducer",
             "--bootstrap-server", f"127.0.0.1:{port}", "--topic", topic,
             "--max-messages", "200", "--producer.config", str(props)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        events = [json.loads(ln) for ln in java.stdout.splitlines() if ln.startswith("{")]
        final = [e for e in events if e.get("name") == "tool_data"]
        assert final and final[-1]["acked"] == 200, java.stdout[-2000:] + java.stderr[-2000:]
    finally:
        proxy.send_signal(signal.SIGINT)
        out, err = proxy.communicate(timeout=30)
    assert proxy.returncode == 0, err
    stats = json.loads(out)
    assert stats["faults_injected"] == {"error": 2}
    assert "loopback only" in err
    # Retried by the Java client (idempotent by default): every value once, in order.
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    values: list[int] = []
    while len(values) < 200:
        for records in consumer.poll(timeout_ms=2000).values():
            values.extend(int(r.value) for r in records)
    consumer.close()
    assert values == list(range(200))
