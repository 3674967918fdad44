"""The Java client behind the client seam: ``RideClient.java`` driven over stdin/stdout.

The program (``ridectl/clients/java/RideClient.java``, one readable file; its header describes
the binary frames both sides exchange) runs a ``KafkaProducer`` or ``KafkaConsumer`` from the
``kafka-clients`` jar of the broker's own jar set, so the client is the same Kafka version as
the broker. It is compiled once into the cache (``<cache>/java-client/<hash of the source>/``)
with the JDK's compiler module (``java -m jdk.compiler/...``, which Debian's JRE package
already carries) and started once per producer or consumer, never per record.

Settings are handed over unchanged, by their Java names (ridectl's ``-X`` names are Java's);
the program prints the values its client really holds before it accepts records, and
:meth:`JavaProducer.settings_in_force` reports exactly those. A Java exception while starting,
or a process that dies, becomes a :class:`~ridectl.errors.RidectlError` whose one line starts
with "java client"; one record's failure is a :class:`~ridectl.clients.base.Delivery` carrying
the exception's class name and message.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import cast

from ridectl.broker.jars import cache_dir_default, ensure_jars, find_java
from ridectl.clients.base import (
    ClientName,
    Delivery,
    DeliveryCallback,
)
from ridectl.clients.java_process import JavaProcess, client_error
from ridectl.clients.key_placement import KeyPlacement
from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import IGNORED, SETTINGS, ClientSettings, parse_jaas
from ridectl.clients.settings import knows as knows_setting
from ridectl.errors import RidectlError, UsageError
from ridectl.versions import KAFKA_VERSION

MAIN_CLASS = "RideClient"
#: The sources compiled together into one class directory: the client (its consumer in
#: ``RideConsumer.java``), and the benchmark's bare loops of the same client (``BareLoop.java``),
#: which run with the same JVM and classes.
PROGRAMS = (MAIN_CLASS, "RideConsumer", "BareLoop")
START_TIMEOUT_S = 120.0
#: How long a command may take beyond the client's own waits (a busy machine, a slow JVM).
GRACE_S = 15.0

#: The JVM's options. The client lives for one run (seconds to minutes), so the quick
#: compiler alone (TieredStopAtLevel=1) does better than also paying for the optimising one,
#: whose compile threads cost more CPU over a run than they give back. The JVM's own log lines
#: go to stderr: stdout carries the program's frames alone. A JVM out of memory exits (ridectl
#: sees the client gone and says so) rather than live on with a thread lost mid-command.
JVM_FLAGS = (
    "-XX:+UseSerialGC",
    "-Xmx512m",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",
    "-Xlog:disable",
    "-Xlog:all=warning:stderr",
)

#: Read-side defaults unless the user sets them (as for ridectl's other consumers).
CONSUMER_DEFAULTS: dict[str, str] = {
    SettingName.ENABLE_AUTO_COMMIT: "false",
    SettingName.AUTO_OFFSET_RESET: "earliest",
    SettingName.MAX_POLL_RECORDS: "5000",
    SettingName.FETCH_MAX_WAIT_MS: "100",
}

#: ridectl setting names the Java client spells otherwise or lacks, with what to do instead.
_REFUSED: dict[str, str] = {
    SettingName.BOOTSTRAP_TIMEOUT_MS: "it is kafka-python's own setting",
    SettingName.SSL_CERTIFICATE_LOCATION: "the Java client reads its certificate from "
    "ssl.keystore.*",
    SettingName.SSL_KEY_LOCATION: "the Java client reads its key from ssl.keystore.*",
    SettingName.SSL_CRL_LOCATION: "the Java client takes revocation lists from the JVM's settings",
}


_SIZE_HINT = "raise -X max.request.size and the topic's max.message.bytes, or send smaller records"


def describe_failure(delivery: Delivery) -> RidectlError:
    """One line naming the client for a record the Java client could not deliver."""
    hint = _SIZE_HINT if delivery.error == "RecordTooLargeException" else None
    text = f"{delivery.error}: {delivery.message}" if delivery.message else str(delivery.error)
    return RidectlError(f"java client (producer): record {delivery.index}: {text}", hint=hint)


def source_path(program: str = MAIN_CLASS) -> Path:
    return Path(str(resources.files("ridectl.clients").joinpath("java", f"{program}.java")))


def build_key(source: bytes, java: str) -> str:
    """A hash of what the compiled class depends on: the program's source, the Kafka version
    it is compiled against, and the Java installation compiling it (a class built by a newer
    JDK would not load in an older one)."""
    parts = (source, KAFKA_VERSION.encode(), os.path.realpath(java).encode())
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def compiled_dir(java: str, libs: Path, cache: Path | None = None) -> Path:
    """The directory holding the classes of :data:`PROGRAMS`, compiling their sources once per
    version of them (the directory is named by :func:`build_key` of the sources together)."""
    sources = [source_path(program) for program in PROGRAMS]
    key = build_key(b"\0".join(path.read_bytes() for path in sources), java)
    target = (cache or cache_dir_default()) / "java-client" / key
    if all((target / f"{program}.class").exists() for program in PROGRAMS):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".compile-", dir=target.parent))
    cmd = [java, "-m", "jdk.compiler/com.sun.tools.javac.Main", "-nowarn", "-cp"]
    cmd += [str(libs / f"kafka-clients-{KAFKA_VERSION}.jar"), "-d", str(staging)]
    try:
        proc = subprocess.run(
            [*cmd, *map(str, sources)], capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise RidectlError(f"java client: could not compile its programs: {exc}") from None
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        first = next((ln for ln in proc.stderr.splitlines() if ln.strip()), "no output")
        raise RidectlError(
            f"java client: compiling its programs failed: {first.strip()[:300]}",
            hint="the Java client needs a JDK 17+ (e.g. apt-get install openjdk-17-jdk-headless)",
        )
    try:
        staging.rename(target)
    except OSError:  # another process compiled it first
        shutil.rmtree(staging, ignore_errors=True)
    return target


@cache
def own_names() -> dict[str, frozenset[str]]:
    """Every setting name the Java client has, per role ("producer", "consumer"), as its
    ``ProducerConfig``/``ConsumerConfig`` list them: asked of the program once and kept beside
    its compiled class."""
    java = find_java()
    libs = ensure_jars()
    classes = compiled_dir(java, libs)
    listed = classes / "names.txt"
    if not listed.exists():
        cmd = [java, *JVM_FLAGS, "-cp", f"{classes}{os.pathsep}{libs}/*", MAIN_CLASS, "names"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RidectlError(f"java client: could not list its settings: {exc}") from None
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RidectlError(f"java client: could not list its settings: {tail[:300]}")
        staging = listed.with_suffix(f".{os.getpid()}.tmp")
        staging.write_text(proc.stdout)
        staging.replace(listed)
    lines = listed.read_text().splitlines()
    return {
        "producer": frozenset(line[2:] for line in lines if line.startswith("P ")),
        "consumer": frozenset(line[2:] for line in lines if line.startswith("C ")),
    }


def knows(name: str) -> bool:
    """Whether the Java producer or consumer has a setting called ``name``."""
    names = own_names()
    return name in names["producer"] or name in names["consumer"]


def all_own_names() -> frozenset[str]:
    names = own_names()
    return names["producer"] | names["consumer"]


def java_settings(settings: Mapping[str, str], role: str) -> dict[str, str]:
    """The Java client's properties for ``role`` from ridectl's settings: the other role's
    settings are left out (the Java client's own names too, by its own lists), the few names
    only other clients know are translated or refused (one line naming the client)."""
    out: dict[str, str] = {}
    for key, raw in settings.items():
        known = SETTINGS.get(key)
        if key in IGNORED or (known is not None and role not in known.roles):
            continue
        if not knows_setting(key) and key not in own_names()[role] and knows(key):
            continue  # the Java client's own name, for the other role
        if key in _REFUSED:
            raise UsageError(f"the Java client has no setting {key}: {_REFUSED[key]}")
        if key == SettingName.SSL_CA_LOCATION:
            out[SettingName.SSL_TRUSTSTORE_LOCATION] = raw.strip()
        else:
            out[key] = raw
    if SettingName.SSL_TRUSTSTORE_LOCATION in out:
        # ridectl's trust store is a PEM file (kafka-python reads nothing else).
        out.setdefault(SettingName.SSL_TRUSTSTORE_TYPE, "PEM")
    user, password = (
        out.pop(SettingName.SASL_USERNAME, None),
        out.pop(SettingName.SASL_PASSWORD, None),
    )
    if user is not None and password is not None and SettingName.SASL_JAAS_CONFIG not in out:
        mechanism = out.get(SettingName.SASL_MECHANISM, "PLAIN")
        module = "plain.PlainLoginModule" if mechanism == "PLAIN" else "scram.ScramLoginModule"
        esc_user, esc_pw = (v.replace("\\", "\\\\").replace('"', '\\"') for v in (user, password))
        out[SettingName.SASL_JAAS_CONFIG] = (
            f"org.apache.kafka.common.security.{module} required "
            f'username="{esc_user}" password="{esc_pw}";'
        )
    if SettingName.SASL_JAAS_CONFIG in out:
        parse_jaas(out[SettingName.SASL_JAAS_CONFIG])  # a clear line for a malformed one
    return out


def jvm_command(program: str, *args: str) -> list[str]:
    """The command line that runs one of :data:`PROGRAMS` (compiled if needed) in a JVM with
    the client's flags and class path."""
    java = find_java()
    libs = ensure_jars()
    classes = compiled_dir(java, libs)
    return [java, *JVM_FLAGS, "-cp", f"{classes}{os.pathsep}{libs}/*", program, *args]


def start_program(
    mode: list[str], bootstrap: str, props: Mapping[str, str], what: str
) -> JavaProcess:
    """``RideClient`` started in ``mode`` with these settings, once it said it is ready."""
    settings = {SettingName.BOOTSTRAP_SERVERS: bootstrap, **props}
    return JavaProcess(jvm_command(MAIN_CLASS, *mode), settings, what, START_TIMEOUT_S)


def shown_settings(held: Mapping[str, str]) -> dict[str, str]:
    """The Java client's values, with two spelled as its documentation does."""
    out = dict(held)
    if out.get(SettingName.ACKS) == "-1":
        out[SettingName.ACKS] = "all"
    if out.get(SettingName.PARTITIONER_CLASS) == "null":
        out[SettingName.PARTITIONER_CLASS] = "built-in"
    return out


#: A record's frame header: kind, index, partition (-1: the client's choice), key length
#: (-1: no key), value length.
_RECORD = struct.Struct(">cqiii")
#: A block's frame header: kind, first index, record count, length of the rest.
_BLOCK = struct.Struct(">cqii")
_NO_LENGTH = struct.pack(">i", -1)


def block_frame(
    first: int,
    keys: Sequence[bytes | None],
    values: Sequence[bytes],
    partitions: Sequence[int] | None = None,
    kind: bytes = b"B",
) -> bytes:
    """One ``B`` frame (``S``: held, not sent; see ``RideClient.java``): records ``first``,
    ``first + 1``, ... as columns of partitions (-1, or None for all: the client's choice),
    key lengths (-1: no key) and value lengths, then every key, then every value. Packed in
    C, with no Python step per record but the lengths."""
    n = len(values)
    if n != len(keys) or (partitions is not None and len(partitions) != n):
        raise ValueError("a block's keys, values and partitions must be as many")
    where = _NO_LENGTH * n if partitions is None else struct.pack(f">{n}i", *partitions)
    value_lengths = struct.pack(f">{n}i", *map(len, values))
    if None not in keys:
        keyed = cast("Sequence[bytes]", keys)
        key_lengths = struct.pack(f">{n}i", *map(len, keyed))
        present: Iterable[bytes] = keyed
    elif keys.count(None) == n:
        key_lengths, present = _NO_LENGTH * n, ()
    else:
        key_lengths = struct.pack(f">{n}i", *(-1 if k is None else len(k) for k in keys))
        present = (k for k in keys if k is not None)
    body = b"".join(itertools.chain((where, key_lengths, value_lengths), present, values))
    return _BLOCK.pack(kind, first, n, len(body)) + body


class JavaProducer:
    """A ``KafkaProducer`` in its own JVM, writing to one topic.

    ``bootstrap`` replaces the settings' servers (the fault proxy's address); ``partitioner``
    places keyed records as the named client would (murmur2 is the Java client's own; other
    hashes become explicit partitions)."""

    client = ClientName.JAVA

    def __init__(
        self,
        settings: ClientSettings,
        topic: str,
        on_delivery: DeliveryCallback,
        *,
        bootstrap: str | None = None,
        partitioner: str | None = None,
    ) -> None:
        self._asked = java_settings(settings.values, "producer")
        server = bootstrap or settings.bootstrap
        self._proc = start_program(["produce", topic], server, self._asked, "producer")
        self._proc.deliver_to(on_delivery)
        self._placement: KeyPlacement | None = None
        if partitioner not in (None, "murmur2"):
            self._placement = KeyPlacement(partitioner, lambda: self.partitions_for(topic))

    def send(self, index: int, key: bytes | None, value: bytes, partition: int | None) -> None:
        if partition is None and self._placement is not None:
            partition = self._placement.partition(key)
        target = -1 if partition is None else partition
        if key is None:
            self._proc.write(_RECORD.pack(b"P", index, target, -1, len(value)) + value)
        else:
            self._proc.write(_RECORD.pack(b"P", index, target, len(key), len(value)) + key + value)

    def send_block(self, first: int, keys: Sequence[bytes | None], values: Sequence[bytes]) -> None:
        """The records ``first``, ``first + 1``, ... in one frame (see :func:`block_frame`)."""
        self._proc.write(block_frame(first, keys, values, self._partitions(keys)))

    def stage_block(
        self, first: int, keys: Sequence[bytes | None], values: Sequence[bytes]
    ) -> None:
        """Like :meth:`send_block`, but the JVM holds the records until ``start_staged``."""
        self._proc.write(block_frame(first, keys, values, self._partitions(keys), b"S"))

    def held(self) -> int:
        reply = self._proc.request("H", "H", 60.0 + GRACE_S)
        if reply is None:
            raise client_error("producer", "records handed over were not read within 75s")
        return int(reply[-1].split()[1])

    def start_staged(self) -> None:
        self._proc.send("R")

    def staged_sent(self, timeout_s: float) -> int | None:
        reply = self._proc.collect("R", timeout_s)
        return None if reply is None else int(reply[-1].split()[1])

    def stop_staged(self) -> None:
        self._proc.send("Z")

    def _partitions(self, keys: Sequence[bytes | None]) -> list[int] | None:
        """Explicit partitions for another client's hash (None: the Java client places)."""
        placement = self._placement
        if placement is None:
            return None
        return [-1 if p is None else p for p in map(placement.partition, keys)]

    def flush(self, timeout_s: float) -> bool:
        return self._proc.request("F", "F", timeout_s) is not None

    def partitions_for(self, topic: str) -> int:
        # partitionsFor waits up to max.block.ms (60 s by default) for an unknown topic.
        reply = self._proc.request(f"M {topic}", "M", 60.0 + GRACE_S)
        return int(reply[-1].split()[1]) if reply else 0

    def settings_in_force(self) -> Mapping[str, str]:
        return shown_settings(self._proc.settings)

    def process_cpu_s(self) -> float | None:
        return self._proc.cpu_s()

    def close(self, timeout_s: float) -> None:
        self._proc.close(f"Q {int(max(0.0, timeout_s) * 1000)}", timeout_s + GRACE_S)

    def retried_batches(self) -> int:
        """The producer's ``record-retry-total`` metric: records it sent again. The Java
        client counts retries per record, not per batch; the two agree when every batch
        holds one record (the retry recipe's ``batch.size``)."""
        reply = self._proc.request("T", "T", 60.0 + GRACE_S)
        return int(float(reply[-1].split()[1])) if reply else 0

    def changed_by_client(self) -> list[str]:
        """Settings the Java client chose unlike its default, with the reason."""
        if SettingName.ENABLE_IDEMPOTENCE in self._asked:
            return []
        if self._proc.settings.get(SettingName.ENABLE_IDEMPOTENCE) == "false":
            why = [
                f"{k}={self._asked[k]}"
                for k in (SettingName.ACKS, SettingName.RETRIES, SettingName.MAX_IN_FLIGHT)
                if k in self._asked
            ]
            return [
                "the Java client turned idempotence OFF by itself (its default is on) because "
                f"of {', '.join(why) or 'a conflicting setting'}; set enable.idempotence to choose"
            ]
        return []
