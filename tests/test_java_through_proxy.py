"""Kafka's own Java producer (``VerifiableProducer`` from Kafka's tools) through ``ridectl
proxy`` on the real broker.

What a brand-new idempotent producer does when its first produce request fails while a later
one is already on the way (docs/faults.md, "When the first request of an idempotent
producer fails"): the broker holds no sequence state for a producer id it has never written, so it
accepts whatever sequence number arrives first. A later batch can then be written at offset 0,
after which the retried first batch is out of sequence for good: the broker answers
OUT_OF_ORDER_SEQUENCE_NUMBER to every retry, the Java client keeps retrying (the batch is not
the next one after the last acknowledged sequence, so it waits for a gap to close that never
will) until ``delivery.timeout.ms`` expires the batch. Whether that happens by chance depends on
how many requests the client had in flight when the first error came back; the tests below
make each outcome certain:

* the first requests fail, but only one request is ever in flight (``max.in.flight=1``), or the
  faults start once the broker knows the producer (``after=1``): every record arrives, in order;
* the first request's error is held back while later requests go through: the stall, every
  time, with the broker's error code read from the client's own log.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from ridectl.broker.jars import ensure_jars, find_java

pytestmark = pytest.mark.kafka

#: Every subprocess is bounded; the producers below finish in seconds. Longer than the
#: client's default delivery.timeout.ms (120 s), so that a producer stuck on a batch ends by
#: itself and its output is in the failure message.
JAVA_TIMEOUT_S = 180
PROXY_START_TIMEOUT_S = 30
PROXY_STOP_TIMEOUT_S = 30
READ_BACK_TIMEOUT_S = 60
RECORDS = 200

#: Only the producer's warnings, on stderr: one line per failed produce response.
_LOG4J2 = """\
status = error
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p [%c{1}] %m%n
rootLogger.level = error
rootLogger.appenderRef.err.ref = ERR
logger.sender.name = org.apache.kafka.clients.producer.internals.Sender
logger.sender.level = warn
"""

_ERROR_LINE = re.compile(
    r"Got error produce response with correlation id (\d+) on topic-partition (\S+), "
    r"retrying .*?Error: (\w+)"
)


@dataclass
class JavaRun:
    acked: dict[int, str]
    """offset -> value of every acknowledged record."""
    failed: dict[str, str]
    """value -> exception class of every record the producer gave up on."""
    produce_errors: list[tuple[int, str]]
    """(correlation id, error name) of every failed produce response, in arrival order."""
    proxy: dict[str, Any]
    proxy_err: str
    output: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(proxy: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + PROXY_START_TIMEOUT_S
    while True:
        assert proxy.poll() is None, proxy.stderr.read() if proxy.stderr else ""
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert time.monotonic() < deadline, "the proxy did not start listening"
        time.sleep(0.1)


def _stop(proxy: subprocess.Popen[str]) -> tuple[str, str]:
    proxy.send_signal(signal.SIGINT)
    try:
        return proxy.communicate(timeout=PROXY_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proxy.kill()
        proxy.communicate(timeout=PROXY_STOP_TIMEOUT_S)
        raise


def run_java_through_proxy(
    bootstrap: str, topic: str, fault: str, settings: dict[str, str], tmp_path: Path
) -> JavaRun:
    """``ridectl proxy --fault FAULT`` in front of the broker, VerifiableProducer through it
    (idempotent, retries on, plus ``settings``), 200 records to ``topic``."""
    from ridectl.clients.admin import ensure_topic
    from ridectl.clients.settings import build_settings

    ensure_topic(build_settings(bootstrap, None, []), topic, 1)
    jars = ensure_jars(tools=True)
    port = _free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    proxy = subprocess.Popen(
        [sys.executable, "-m", "ridectl", "proxy", "--listen", f"127.0.0.1:{port}",
         "--fault", fault, "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        _wait_listening(proxy, port)
        props = tmp_path / "producer.properties"
        every = {"enable.idempotence": "true", "acks": "all", "retries": "2147483647"}
        props.write_text("".join(f"{k}={v}\n" for k, v in (every | settings).items()))
        log4j = tmp_path / "log4j2.properties"
        log4j.write_text(_LOG4J2)
        java = subprocess.run(
            [find_java(), f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{jars}/*",
             "org.apache.kafka.tools.VerifiableProducer",
             "--bootstrap-server", f"127.0.0.1:{port}", "--topic", topic,
             "--max-messages", str(RECORDS), "--producer.config", str(props)],
            capture_output=True, text=True, timeout=JAVA_TIMEOUT_S, check=False,
        )  # fmt: skip
    finally:
        out, err = _stop(proxy)
    assert proxy.returncode == 0, err
    output = java.stdout[-3000:] + java.stderr[-3000:]
    events = [json.loads(ln) for ln in java.stdout.splitlines() if ln.startswith("{")]
    final = [e for e in events if e.get("name") == "tool_data"]
    # Every record was either acknowledged or given up on: the producer ended by itself.
    assert final and final[-1]["sent"] == RECORDS, output
    acked = {
        int(e["offset"]): str(e["value"]) for e in events if e["name"] == "producer_send_success"
    }
    failed = {
        str(e["value"]): str(e["exception"]).rsplit(".", 1)[-1]
        for e in events
        if e["name"] == "producer_send_error"
    }
    assert len(acked) + len(failed) == RECORDS == final[-1]["acked"] + len(failed), output
    errors = [(int(m[1]), m[3]) for m in _ERROR_LINE.finditer(java.stderr) if m[2] == f"{topic}-0"]
    return JavaRun(acked, failed, errors, json.loads(out), err, output)


def answers(proxy: dict[str, Any]) -> list[tuple[int, str, int, int | None]]:
    """The proxy's record of every Produce answer, in the order it gave them: (request
    number, who answered: ``broker`` or ``fault``, error code, base offset)."""
    assert proxy["produce_answers_dropped"] == 0
    return [
        (int(a["request"]), str(a["source"]), int(p["error_code"]), p["base_offset"])
        for a in proxy["produce_answers"]
        for p in a["partitions"]
    ]


def read_back(bootstrap: str, topic: str, count: int) -> dict[int, str]:
    """offset -> value of the first ``count`` records of partition 0."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        found: dict[int, str] = {}
        deadline = time.monotonic() + READ_BACK_TIMEOUT_S
        while len(found) < count:
            assert time.monotonic() < deadline, f"read {len(found)} of {count} records"
            for records in consumer.poll(timeout_ms=1000).values():
                found.update((r.offset, r.value.decode()) for r in records)
        return found
    finally:
        consumer.close()


@pytest.mark.parametrize(
    ("fault", "settings"),
    [
        # One request in flight: the failed first batch is retried before anything else goes.
        ("error:first=2", {"max.in.flight.requests.per.connection": "1"}),
        # Five in flight, but the first request is written: the broker knows the producer's
        # sequence and answers OUT_OF_ORDER_SEQUENCE_NUMBER to the batches behind a failed one
        # until the gap is filled. Small batches, so that there are requests 2 and 3 to fail
        # even when all 200 records are queued before the first request leaves.
        ("error:after=1,first=2", {"batch.size": "200"}),
    ],
    ids=["first-two-fail-one-in-flight", "fail-once-the-broker-knows-the-producer"],
)
def test_java_producer_through_ridectl_proxy(
    kafka_bootstrap: str,
    new_topic: Callable[[str], str],
    tmp_path: Path,
    fault: str,
    settings: dict[str, str],
) -> None:
    topic = new_topic("java")
    run = run_java_through_proxy(kafka_bootstrap, topic, fault, settings, tmp_path)
    assert run.failed == {}, run.output
    assert run.proxy["faults_injected"] == {"error": 2}, run.proxy
    assert run.proxy["ledger"]["outstanding"] == 0, run.proxy["ledger"]
    assert "loopback only" in run.proxy_err
    # The proxy failed two requests; the broker refused nothing but batches waiting behind a
    # gap (OUT_OF_ORDER_SEQUENCE_NUMBER, retried in order), and wrote everything else.
    codes = run.proxy["answer_codes"]
    assert codes["fault:7"] == 2, codes
    assert set(codes) <= {"fault:7", "broker:0", "broker:45"}, codes
    # The client saw the two injected errors (and nothing written out of sequence stuck).
    assert [name for _, name in run.produce_errors].count("REQUEST_TIMED_OUT") == 2, run.output
    # Retried by the Java client, idempotent: every value once, in order.
    values = read_back(kafka_bootstrap, topic, RECORDS)
    assert [values[offset] for offset in sorted(values)] == [str(v) for v in range(RECORDS)]
    assert run.acked == values


def test_new_idempotent_producer_loses_its_first_batch_when_a_later_one_lands_first(
    kafka_bootstrap: str, new_topic: Callable[[str], str], tmp_path: Path
) -> None:
    topic = new_topic("java-stall")
    # The proxy answers request 1 (the batch with sequence 0) with REQUEST_TIMED_OUT, without
    # forwarding it, but only after 2 s: meanwhile the client sends the next batches (small
    # batches, five in flight), which reach the broker and are written. Short timeouts so the
    # stuck batch expires in seconds instead of two minutes.
    settings = {
        "batch.size": "1024",
        "request.timeout.ms": "6000",
        "delivery.timeout.ms": "10000",
    }
    run = run_java_through_proxy(
        kafka_bootstrap, topic, "error:first=1,ms=2000", settings, tmp_path
    )
    assert run.proxy["faults_injected"] == {"error": 1}
    assert run.proxy["ledger"]["outstanding"] == 0, run.proxy["ledger"]
    # The first batch (values 0..k-1) was never written: every retry was refused, and the
    # client gave up on it when delivery.timeout.ms ran out.
    lost = len(run.failed)
    assert 0 < lost < RECORDS, run.output
    assert sorted(int(v) for v in run.failed) == list(range(lost)), run.output
    assert set(run.failed.values()) == {"TimeoutException"}, run.output
    # The batches behind it were written, in order, from offset 0: nothing else is missing.
    assert run.acked == {offset: str(lost + offset) for offset in range(RECORDS - lost)}
    # What the proxy saw: request 1 answered by the fault (7); a later request written by the
    # broker at offset 0; every other broker answer either a success or
    # OUT_OF_ORDER_SEQUENCE_NUMBER (45), the broker's answer to each retry of the first batch.
    seen = answers(run.proxy)
    assert seen[0] == (1, "fault", 7, None), seen
    written_first = next(a for a in seen if a[1] == "broker" and a[2] == 0)
    assert written_first[0] > 1 and written_first[3] == 0, seen
    assert {(source, code) for _, source, code, _ in seen[1:]} == {
        ("broker", 0),
        ("broker", 45),
    }, seen
    # The client's side of it: the injected error once, then 45 on every retry it logged
    # (a retry answered after the batch expired is not logged as one).
    names = [name for _, name in run.produce_errors]
    assert names[0] == "REQUEST_TIMED_OUT", run.output
    assert names.count("REQUEST_TIMED_OUT") == 1, run.output
    assert names.count("OUT_OF_ORDER_SEQUENCE_NUMBER") >= 1, run.output
    assert set(names) == {"REQUEST_TIMED_OUT", "OUT_OF_ORDER_SEQUENCE_NUMBER"}, run.output
    assert names.count("OUT_OF_ORDER_SEQUENCE_NUMBER") <= run.proxy["answer_codes"]["broker:45"]
    # The topic holds exactly what was acknowledged, at the acknowledged offsets.
    assert read_back(kafka_bootstrap, topic, len(run.acked)) == run.acked
