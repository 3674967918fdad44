"""Bad input of every kind ends in one line on stderr naming the problem, exit code 2 (130 for
Ctrl-C), no traceback and no hang. Results stay on stdout; messages stay on stderr.

Most cases run the CLI in this process (the ``cli`` fixture). Cases that need a real signal, a
real stdout file or a broker that dies run ``python -m ridectl`` as a child process; a broker
that dies is a throwaway single node started by the test, never the session broker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import CliResult, free_port_block

from ridectl.broker.local import LocalCluster
from ridectl.errors import BrokerError

Cli = Callable[..., CliResult]
REPO = Path(__file__).resolve().parent.parent
#: an address nothing listens on (port 1 is never a Kafka broker)
DEAD = "127.0.0.1:1"


def one_error_line(r: CliResult, *needles: str, code: int = 2) -> str:
    """Assert the result is a single ``error:`` line on stderr containing every needle."""
    assert r.code == code, r
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1, r
    assert "Traceback" not in r.err and "unexpected" not in r.err, r
    for needle in needles:
        assert needle in errors[0], (needle, r)
    return errors[0]


# --------------------------------------------------------------------------- no broker needed


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["produce", "-t", "t", "-b", "localhost"], ["bad bootstrap server address 'localhost'"]),
        (["produce", "-t", "t", "-b", "localhost:99999"], ["bad bootstrap server", "99999"]),
        (["consume", "-t", "t", "-b", "host:port"], ["bad bootstrap server address"]),
        (["produce", "-t", "t", "-b", ""], ["bootstrap servers are empty"]),
        (["produce", "-t", "t", "-n", "0"], ["'--rides'", "greater than or equal to 1"]),
        (["produce", "-t", "t", "-n", "-5"], ["'--rides'", "greater than or equal to 1"]),
        (["produce", "-t", "t", "-n", "many"], ["Invalid value for '--rides'", "valid integer"]),
        (["produce", "-t", "bad topic!"], ["bad topic name 'bad topic!'"]),
        (
            ["produce", "-t", "t", "-X", "linger=5"],
            ["unknown client setting 'linger'", "linger.ms"],
        ),
        (["produce", "-t", "t", "-X", "linger.ms=abc"], ["linger.ms must be a whole number"]),
        (["produce", "-t", "t", "-X", "nonsense"], ["-X takes key=value"]),
        (["produce", "-t", "t", "-X", "enable.idempotence=maybe"], ["true or false", "maybe"]),
        (["produce", "-t", "t", "-X", "acks=2"], ["acks must be all, -1, 1 or 0"]),
        (["produce", "-t", "t", "-X", "bootstrap.timeout.ms=0"], ["must be 1 or more"]),
        (["consume", "-t", "t", "-X", "security.protocol=TLS"], ["security.protocol must be"]),
        (["consume", "-t", "t", "-X", "sasl.jaas.config=whatever"], ["sasl.jaas.config"]),
        (["consume", "-t", "t", "-X", "retries=3"], []),  # a producer setting: accepted
        (["produce", "-t", "t", "--record-size", "-1"], ["'--record-size'", "greater than or"]),
        (["consume", "-t", "t", "-w", "0"], ["'--workers'", "greater than or equal to 1"]),
        (["produce", "-t", "t", "--fault", "erorr:every=3"], ["bad fault spec", "unknown kind"]),
        (["demo", "-s", "nope"], ["unknown scenario 'nope'", "keyed"]),
        (["check"], ["give either --topic T", "--from FILE"]),
        (["check", "-t", "t", "--from", "x.ndjson"], ["give either --topic T"]),
        (["check", "--from", "/nonexistent/h.ndjson"], ["history file not found"]),
        (["check", "--from", "/"], ["cannot read history file /", "directory"]),
        (["check", "--from", "/dev/null", "--limit", "0"], ["'--limit'", "greater than or"]),
        (["partition", "k", "-p", "0"], ["'--partitions'", "greater than or equal to 1"]),
        (["consume", "-t", "t", "--config", "/nonexistent.properties"], ["config file not found"]),
        (["consume", "-t", "t", "--config", "/"], ["'--config'", "is a directory"]),
        (["produce", "-t", "t", "--frobnicate"], ["No such option", "--frobnicate"]),
        (["bench", "--section", "producer,bogus"], ["unknown --section bogus", "checker"]),
        (["bench", "--section", ","], ["unknown --section (empty)"]),
        (["bench", "--repeat", "0"], ["'--repeat'", "greater than or equal to 1"]),
    ],
)
def test_bad_arguments(cli: Cli, args: list[str], needles: list[str]) -> None:
    # DEAD makes sure nothing can reach a broker: each case fails before connecting,
    # or (for the accepted producer setting) at the bounded connect.
    extra: list[str] = []
    if args[0] in ("produce", "consume") and "-b" not in args:
        extra = ["-b", DEAD, "-X", "bootstrap.timeout.ms=300"]
    r = cli(*args, *extra)
    if not needles:
        one_error_line(r, "cannot reach Kafka")
        return
    one_error_line(r, *needles)
    assert r.out == ""


def test_a_bench_section_that_failed_fails_the_command(cli: Cli, tmp_path: Path) -> None:
    """The figures measured are still written; the exit status says a section failed."""
    out = tmp_path / "bench"
    r = cli("bench", "--size", "small", "--section", "producer", "-b", DEAD, "-o", str(out))
    one_error_line(
        r, "1 section(s) of the bench failed (producer: RidectlError: cannot reach Kafka"
    )
    assert "**failed**" in (out / "RESULTS.md").read_text()


def test_unreachable_broker_fails_within_the_timeout_set(cli: Cli) -> None:
    t0 = time.monotonic()
    r = cli("produce", "-t", "t", "-b", DEAD, "-X", "bootstrap.timeout.ms=1500")
    elapsed = time.monotonic() - t0
    one_error_line(r, f"cannot reach Kafka at {DEAD} within 1.5s", "bootstrap.timeout.ms")
    assert elapsed < 8, elapsed


def test_unresolvable_host_is_bounded_too(cli: Cli) -> None:
    t0 = time.monotonic()
    r = cli("check", "-t", "t", "-b", "no-such-host.invalid:9092", "-X", "bootstrap.timeout.ms=800")
    one_error_line(r, "cannot reach Kafka at no-such-host.invalid:9092")
    assert time.monotonic() - t0 < 8


def test_unreachable_with_json_format_keeps_stdout_clean(cli: Cli) -> None:
    r = cli("produce", "-t", "t", "-f", "json", "-b", DEAD, "-X", "bootstrap.timeout.ms=300")
    one_error_line(r, "cannot reach Kafka")
    assert r.out == ""


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (
            ["--idempotence", "--acks", "1"],
            ["enable.idempotence=true (from --idempotence)", "acks=1 (from --acks)", "acks=all"],
        ),
        (
            ["-X", "enable.idempotence=true", "--max-in-flight", "6"],
            ["(from -X)", "max.in.flight.requests.per.connection=6", "at most 5"],
        ),
        (["--idempotence", "--retries", "0"], ["retries=0 (from --retries)", "--no-idempotence"]),
    ],
)
def test_conflicting_settings_are_explained_before_connecting(
    cli: Cli, args: list[str], needles: list[str]
) -> None:
    r = cli("produce", "-t", "t", *args, "-b", DEAD, "-X", "bootstrap.timeout.ms=5000")
    one_error_line(r, "conflicts with", *needles)


def test_malformed_config_files(cli: Cli, tmp_path: Path) -> None:
    bad_line = tmp_path / "bad-line.properties"
    bad_line.write_text("# a comment\nacks=all\njustakey\n")
    one_error_line(cli("consume", "-t", "t", "-c", str(bad_line)), "bad-line.properties:3")
    continued = tmp_path / "continued.properties"
    continued.write_text("sasl.jaas.config=org.apache.kafka.common.security.plain.\\\n")
    one_error_line(cli("consume", "-t", "t", "-c", str(continued)), "continuation backslash")
    unknown = tmp_path / "unknown.properties"
    unknown.write_text("bootstrap.servers=localhost:9092\nlinger.mss=5\n")
    one_error_line(cli("produce", "-t", "t", "-c", str(unknown)), "'linger.mss'", str(unknown))
    binary = tmp_path / "binary.properties"
    binary.write_bytes(b"\xff\xfe\x00acks")
    one_error_line(cli("produce", "-t", "t", "-c", str(binary)), "cannot read config file")


def _history_lines(n_rides: int) -> list[str]:
    lines, pos = [], 0
    for i in range(n_rides):
        for seq in range(1, 6):
            doc = {"pos": pos, "ride_id": f"r{i}", "seq": seq, "partition": 0, "offset": pos}
            lines.append(json.dumps(doc))
            pos += 1
    return lines


def test_malformed_history_lines_are_counted_and_the_rest_judged(cli: Cli, tmp_path: Path) -> None:
    lines = _history_lines(4)
    lines[3:3] = ["{not json", "[1, 2, 3]", '{"pos": "x", "ride_id": 1}', "\x00\x01binary"]
    path = tmp_path / "h.ndjson"
    path.write_text("\n".join(lines) + "\n")
    r = cli("check", "--from", str(path), "-f", "json")
    assert r.code == 0, r
    doc = json.loads(r.out)  # stdout is the JSON document only
    assert doc["summary"]["rides"] == 4 and doc["summary"]["malformed"] == 4
    assert "4 malformed line(s)" in r.err and str(path) in r.err
    undecodable = tmp_path / "latin.ndjson"
    undecodable.write_bytes(b"\xff\xfe\xfa\n" + "\n".join(_history_lines(1)).encode() + b"\n")
    r = cli("check", "--from", str(undecodable), "-f", "csv")
    assert r.code == 0 and "1 malformed line(s)" in r.err, r


def test_export_to_an_unwritable_place(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "h.ndjson"
    path.write_text("\n".join(_history_lines(2)) + "\n")
    r = cli("check", "--from", str(path), "--export-svg", str(tmp_path / "no" / "x.svg"))
    one_error_line(r, "cannot write the SVG picture", "does not exist")
    r = cli("check", "--from", str(path), "--export-html", str(tmp_path))
    one_error_line(r, "is a directory")
    r = cli("check", "--from", str(path), "--export-html", "/dev/full")
    one_error_line(r, "cannot write /dev/full", "No space left on device")
    r = cli("check", "--from", str(path), "-f", "json", "--export-svg", str(tmp_path / "a.svg"))
    one_error_line(r, "--format table")


def _ridectl(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "ridectl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
        **kw,  # type: ignore[arg-type]
    )


def test_full_disk_on_stdout(tmp_path: Path) -> None:
    path = tmp_path / "h.ndjson"
    path.write_text("\n".join(_history_lines(200)) + "\n")
    for fmt in ("json", "table", "csv"):
        with open("/dev/full", "w") as full:
            proc = subprocess.run(
                [sys.executable, "-m", "ridectl", "check", "--from", str(path), "-f", fmt],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                check=False,
            )
        assert proc.returncode == 2, (fmt, proc.stderr)
        assert proc.stderr.strip().splitlines() == [
            "error: cannot write the results to stdout: No space left on device"
        ], (fmt, proc.stderr)


# --------------------------------------------------------------------------- with the broker


@pytest.mark.kafka
def test_topic_that_does_not_exist(cli: Cli, kafka_bootstrap: str) -> None:
    for cmd in ("consume", "check"):
        r = cli(cmd, "-t", "no-such-topic-here", "-b", kafka_bootstrap)
        one_error_line(r, "topic no-such-topic-here does not exist", "ridectl produce")
        assert r.out == ""


@pytest.mark.kafka
def test_partitions_bad_or_conflicting(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("bad-parts")
    for bad in ("0", "-2"):
        one_error_line(
            cli("produce", "-t", topic, "-p", bad, "-b", kafka_bootstrap), "--partitions"
        )
    r = cli("produce", "-t", topic, "-p", "2", "-n", "3", "-b", kafka_bootstrap)
    assert r.code == 0, r
    r = cli("produce", "-t", topic, "-p", "4", "-n", "3", "-b", kafka_bootstrap, "-f", "json")
    one_error_line(r, f"topic {topic} already exists with 2 partitions, not 4", "--partitions 2")
    assert r.out == ""
    r = cli("produce", "-t", new_topic("rf"), "--replication-factor", "3", "-b", kafka_bootstrap)
    one_error_line(r, "replication factor 3 is more than the cluster's brokers")


@pytest.mark.kafka
def test_out_paths_that_cannot_be_written(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    topic = new_topic("out")
    assert cli("produce", "-t", topic, "-n", "20", "-b", kafka_bootstrap).code == 0
    r = cli("consume", "-t", topic, "-b", kafka_bootstrap, "--out", "/nonexistent/dir/h.ndjson")
    one_error_line(r, "cannot write the history /nonexistent/dir/h.ndjson", "does not exist")
    for cmd in ("consume", "check"):
        r = cli(cmd, "-t", topic, "-b", kafka_bootstrap, "--out", "/dev/full")
        one_error_line(r, "cannot write /dev/full: No space left on device")


@pytest.mark.kafka
def test_foreign_and_oversized_records_are_skipped_and_counted(
    cli: Cli, kafka_bootstrap: str, new_topic: Callable[[str], str]
) -> None:
    from kafka import KafkaProducer

    topic = new_topic("foreign")
    r = cli("produce", "-t", topic, "-n", "30", "-p", "1", "-b", kafka_bootstrap)
    assert r.code == 0, r
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, max_request_size=2_000_000)
    junk = [
        b"plain text",
        b"\xff\xfe\x00binary",
        b'{"other": "json"}',
        b"[1, 2, 3]",
        b'{"schema": "ridectl.ride/v1", "ride_id": 5, "seq": "x"}',
        b"{" + b"x" * 900_000,  # oversized and broken
        b"",
        None,
    ]
    for value in junk:
        producer.send(topic, value=value, key=b"k")
    producer.flush()
    producer.close()
    r = cli("check", "-t", topic, "-b", kafka_bootstrap, "-f", "json")
    assert r.code == 0, r
    summary = json.loads(r.out)["summary"]
    assert summary["rides"] == 30 and summary["events"] == 150
    assert summary["foreign"] == len(junk)
    assert summary["by_kind"]["lost"] == 0


# --------------------------------------------------------------------------- signals


def _wait_for_records(bootstrap: str, topic: str, timeout: float = 60) -> None:
    from kafka import KafkaConsumer, TopicPartition

    deadline = time.monotonic() + timeout
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        while time.monotonic() < deadline:
            parts = consumer.partitions_for_topic(topic) or set()
            if parts:
                ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts])
                if sum(ends.values()) > 0:
                    return
            time.sleep(0.1)
    finally:
        consumer.close()
    raise AssertionError(f"no records reached {topic}")


def _spawn(*args: str, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "RIDECTL_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "ridectl", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


#: The Java run is one built ahead (at most 500,000 records), so that its start is held in the
#: JVM before it is sent; gzip on one request at a time keeps it sending for several seconds.
_SIGINT_RUNS = {
    "kafka-python": ["-n", "400000"],
    "librdkafka": ["-n", "400000"],
    "java": [
        "-n",
        "100000",
        "-X",
        "compression.type=gzip",
        "-X",
        "max.in.flight.requests.per.connection=1",
    ],
}


@pytest.mark.kafka
@pytest.mark.parametrize("client", list(_SIGINT_RUNS))
def test_ctrl_c_during_produce(
    kafka_bootstrap: str, new_topic: Callable[[str], str], tmp_path: Path, client: str
) -> None:
    topic = new_topic("sigint-p")
    args = ["-t", topic, *_SIGINT_RUNS[client], "-b", kafka_bootstrap, "--client", client]
    proc = _spawn("produce", *args, home=tmp_path)
    try:
        _wait_for_records(kafka_bootstrap, topic)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert "acknowledged" in out.lower() or "acked" in out.lower(), out
    runs = list((tmp_path / "runs").glob("*.acks.ndjson"))
    assert len(runs) == 1 and runs[0].stat().st_size > 0
    # Every record acknowledged counts as sent, even one of a block the interrupt cut short.
    acked = len(runs[0].read_bytes().splitlines())
    sent = json.loads(
        (tmp_path / "runs" / runs[0].name.replace(".acks.ndjson", ".json")).read_text()
    )
    assert sent["events_acked"] == acked <= sent["events_sent"], sent
    # Interrupted: records not sent yet (the Java client's held ones too) are not counted.
    assert sent["events_sent"] < sent["rides"] * 5, sent


@pytest.mark.kafka
def test_ctrl_c_during_consume(
    kafka_bootstrap: str, new_topic: Callable[[str], str], tmp_path: Path
) -> None:
    topic = new_topic("sigint-c")
    r = _ridectl("produce", "-t", topic, "-n", "4000", "-p", "1", "-b", kafka_bootstrap)
    assert r.returncode == 0, r.stderr
    # Tiny fetches make the read slow enough to be interrupted halfway.
    proc = _spawn(
        "check",
        "-t",
        topic,
        "-b",
        kafka_bootstrap,
        "-f",
        "json",
        "-X",
        "max.partition.fetch.bytes=300",
        "-X",
        "fetch.max.bytes=300",
        "-X",
        "max.poll.records=1",
        "-w",
        "2",
        "--work-ms",
        "50",
        home=tmp_path,
    )
    try:
        time.sleep(3)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert out == ""
    assert err.strip().startswith("error: interrupted while consuming"), err
    assert len(err.strip().splitlines()) == 1, err


# --------------------------------------------------------------------------- a broker that dies


@pytest.fixture
def doomed_broker(tmp_path: Path) -> Iterator[tuple[LocalCluster, str]]:
    """A throwaway single node in its own state dir, for tests that kill it."""
    cluster = LocalCluster(tmp_path / "doomed")
    for attempt in range(3):
        try:
            state, _ = cluster.up(nodes=1, port=free_port_block(2))
            break
        except BrokerError as exc:
            if "already in use" not in str(exc) or attempt == 2:
                raise
            cluster.down(wipe=True)
    try:
        yield cluster, state.bootstrap
    finally:
        cluster.down(wipe=True)


BOUNDED = [
    "-X", "bootstrap.timeout.ms=3000",
    "-X", "request.timeout.ms=2000",
    "-X", "delivery.timeout.ms=3000",
    "-X", "max.block.ms=3000",
]  # fmt: skip


@pytest.mark.kafka
def test_broker_dies_mid_consume_then_mid_produce(
    cli: Cli,
    doomed_broker: tuple[LocalCluster, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster, bootstrap = doomed_broker
    r = cli("produce", "-t", "kept", "-n", "3000", "-p", "1", "-b", bootstrap)
    assert r.code == 0, r

    # Mid-consume: the node is killed as the first record is processed; tiny fetches leave
    # most of the topic unread at that moment.
    from ridectl.run import consume as consume_module

    # Every poll's records pass through Recorder.add_columns (a columnar client) or
    # Recorder.parse (record by record), whichever path handles the poll.
    Recorder = consume_module.Recorder
    originals = {name: getattr(Recorder, name) for name in ("parse", "add_columns")}
    killed: list[bool] = []

    def killing_first(name: str) -> Callable[..., object]:
        def wrapped(self: object, *args: object) -> object:
            if not killed:
                cluster.kill_node(1)
                killed.append(True)
            return originals[name](self, *args)

        return wrapped

    for name in originals:
        monkeypatch.setattr(Recorder, name, killing_first(name))
    t0 = time.monotonic()
    r = cli(
        "check", "-t", "kept", "-b", bootstrap, "-f", "json", *BOUNDED,
        "-X", "max.partition.fetch.bytes=300", "-X", "fetch.max.bytes=300",
        "-X", "max.poll.records=1",
    )  # fmt: skip
    assert killed
    one_error_line(r, "consuming kept", "still expected")
    assert r.out == ""
    print(f"consume failed {time.monotonic() - t0:.1f}s after start")
    assert time.monotonic() - t0 < 30
    for name, method in originals.items():
        monkeypatch.setattr(Recorder, name, method)

    # Mid-produce: a child process is producing a long run when the node is killed.
    t0 = time.monotonic()
    cluster.start_node(1)
    print(f"restarted in {time.monotonic() - t0:.1f}s")
    proc = _spawn(
        "produce", "-t", "doomed", "-n", "400000", "-b", bootstrap, *BOUNDED, home=tmp_path
    )
    try:
        _wait_for_records(bootstrap, "doomed")
        cluster.kill_node(1)
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=60)
        produce_s = time.monotonic() - t0
    finally:
        proc.kill()
    print(err, f"produce failed {produce_s:.1f}s after the kill")  # shown with pytest -s
    assert proc.returncode == 2, (out, err)
    assert "Traceback" not in err and "unexpected" not in err, err
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "stopped acknowledging" in errors[0], err
    assert "acknowledged" in out.lower(), out
    assert produce_s < 40
