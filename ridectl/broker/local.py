"""The local Apache Kafka broker: jars from Maven Central, run with ``java`` in KRaft mode.

Layout of the state directory (``ridectl broker status`` prints it)::

    <state>/cluster.json          what is running: nodes, ports, pids, start time
    <state>/layout.json           the layout the data was formatted for (nodes, ports, cluster id)
    <state>/node-<id>/server.properties
    <state>/node-<id>/data/       the node's log directory (metadata and topic data)
    <state>/node-<id>/broker.log  everything the JVM printed

Jars are cached apart from the state, in ``<cache>/kafka-<version>/libs``, so a second start
downloads nothing and ``ridectl broker down --wipe`` never throws them away.

Ports: with ``--port P`` and ``--nodes N`` the client listeners are P .. P+N-1 and the KRaft
controller listeners P+N .. P+2N-1, all on 127.0.0.1. A single node started with
``SecurityOptions`` (tests only) also listens with SASL_PLAINTEXT (SCRAM-SHA-512) on P+2 and
with SSL on P+3.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from ridectl.errors import BrokerError
from ridectl.versions import DEFAULT_PORT, KAFKA_VERSION

HOST = "127.0.0.1"
READY_LINE = "Kafka Server started"
JAVA_MIN = 17
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


def state_dir_default() -> Path:
    env = os.environ.get("RIDECTL_STATE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ridectl" / "broker"


def cache_dir_default() -> Path:
    env = os.environ.get("RIDECTL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ridectl"


# --------------------------------------------------------------------------- prerequisites


def find_java() -> str:
    """Path of a ``java`` of version 17 or newer, or a BrokerError saying what to install."""
    java_home = os.environ.get("JAVA_HOME")
    candidates = [str(Path(java_home) / "bin" / "java")] if java_home else []
    found = shutil.which("java")
    if found:
        candidates.append(found)
    for java in candidates:
        if not Path(java).exists():
            continue
        try:
            out = subprocess.run(
                [java, "-version"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
        if m:
            major = int(m.group(1))
            if major == 1 and m.group(2):  # "1.8.0" style
                major = int(m.group(2))
            if major >= JAVA_MIN:
                return java
            raise BrokerError(
                f"Java {major} found at {java}, but Kafka {KAFKA_VERSION} needs Java {JAVA_MIN}+",
                hint="install a JDK 17 or newer (e.g. apt-get install openjdk-17-jre-headless) "
                "or set JAVA_HOME",
            )
    raise BrokerError(
        "Java not found",
        hint=f"install Java {JAVA_MIN}+ (e.g. apt-get install openjdk-17-jre-headless), "
        "or use Docker: docker compose up -d",
    )


def pom_path() -> Path:
    return Path(str(resources.files("ridectl.broker").joinpath("pom.xml")))


def jar_dir(cache: Path | None = None, set_name: str = "libs") -> Path:
    return (cache or cache_dir_default()) / f"kafka-{KAFKA_VERSION}" / set_name


def ensure_jars(cache: Path | None = None, *, tools: bool = False, quiet: bool = True) -> Path:
    """Download the broker's runtime jars once (Maven ``dependency:copy-dependencies``).

    With ``tools=True`` the set also holds ``kafka-tools`` (ProducerPerformance, console
    producer). Returns the directory to put on the classpath. A complete set is marked by a
    ``.complete`` file written last, so an interrupted download is redone, not half-used.
    """
    target = jar_dir(cache, "tools" if tools else "libs")
    if (target / ".complete").exists():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            "Maven (mvn) not found: it fetches the Kafka jars from Maven Central once",
            hint="install it (e.g. apt-get install maven), or use Docker: docker compose up -d",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
    cmd = [
        mvn,
        "-B",
        "-f",
        str(pom_path()),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
    ]
    if quiet:
        cmd.insert(1, "-q")
    if tools:
        cmd.append("-Ptools")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1800)
    except subprocess.TimeoutExpired as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(
            "downloading the Kafka jars with Maven timed out after 30 minutes",
            hint="check the network access to Maven Central and retry",
        ) from exc
    if proc.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        shutil.rmtree(staging, ignore_errors=True)
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "ERROR" in ln]
        last = lines[0].strip() if lines else f"mvn exited with code {proc.returncode}"
        raise BrokerError(
            f"could not download the Kafka {KAFKA_VERSION} jars from Maven Central: {last[:300]}",
            hint="check network access to Maven Central (or a mirror in ~/.m2/settings.xml)",
        )
    (staging / ".complete").write_text(KAFKA_VERSION + "\n")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def jar_set_size(path: Path) -> tuple[int, int]:
    """(number of jars, total bytes) of a jar directory."""
    jars = list(path.glob("*.jar"))
    return len(jars), sum(j.stat().st_size for j in jars)


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class SecurityOptions:
    """Extra listeners for a single node, for trying secured connections locally.

    ``scram_users`` (name -> password) adds a SASL_PLAINTEXT listener that accepts
    SCRAM-SHA-512; the credentials are written into the metadata when storage is formatted.
    ``tls`` is (certificate chain PEM file, unencrypted PKCS#8 key PEM file) and adds an SSL
    listener (server authentication only). The plaintext listener stays, for admin work.
    """

    scram_users: Mapping[str, str] = field(default_factory=dict)
    tls: tuple[Path, Path] | None = None

    def fingerprint(self) -> str:
        """What must match for formatted storage to be reused (names, not passwords)."""
        users = ",".join(sorted(self.scram_users))
        return f"scram={users};tls={'yes' if self.tls else 'no'}"


@dataclass(frozen=True)
class Layout:
    nodes: int
    port: int
    security: SecurityOptions | None = None

    def sasl_port(self) -> int | None:
        if self.security is None or not self.security.scram_users:
            return None
        return self.port + 2 * self.nodes

    def ssl_port(self) -> int | None:
        if self.security is None or self.security.tls is None:
            return None
        return self.port + 2 * self.nodes + 1

    def client_port(self, node_id: int) -> int:
        return self.port + node_id - 1

    def controller_port(self, node_id: int) -> int:
        return self.port + self.nodes + node_id - 1

    @property
    def node_ids(self) -> list[int]:
        return list(range(1, self.nodes + 1))

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{HOST}:{self.client_port(n)}" for n in self.node_ids)

    def all_ports(self) -> list[int]:
        extra = [p for p in (self.sasl_port(), self.ssl_port()) if p is not None]
        return (
            [self.client_port(n) for n in self.node_ids]
            + [self.controller_port(n) for n in self.node_ids]
            + extra
        )


@dataclass
class ClusterState:
    """What ``cluster.json`` records about a running cluster."""

    version: str
    nodes: int
    port: int
    bootstrap: str
    pids: dict[str, int]
    started_at: float
    state_dir: str
    cluster_id: str
    ready_after_s: float = 0.0
    #: extra listeners by name ("sasl_plaintext", "ssl") -> host:port, when secured
    extra: dict[str, str] = field(default_factory=dict)


def _server_properties(layout: Layout, node_id: int, data_dir: Path) -> str:
    rf = min(3, layout.nodes)
    voters = ",".join(f"{n}@{HOST}:{layout.controller_port(n)}" for n in layout.node_ids)
    lines = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "listeners": (
            f"PLAINTEXT://{HOST}:{layout.client_port(node_id)},"
            f"CONTROLLER://{HOST}:{layout.controller_port(node_id)}"
        ),
        "advertised.listeners": f"PLAINTEXT://{HOST}:{layout.client_port(node_id)}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "offsets.topic.replication.factor": str(rf),
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": str(rf),
        "share.coordinator.state.topic.min.isr": "1",
        "share.coordinator.state.topic.num.partitions": "1",
        # A single node starts serving groups at once instead of waiting for more members.
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.segment.bytes": str(64 * 1024 * 1024),
        "log.retention.check.interval.ms": "60000",
    }
    if layout.nodes == 1:
        lines["controller.quorum.bootstrap.servers"] = f"{HOST}:{layout.controller_port(1)}"
    else:
        lines["controller.quorum.voters"] = voters
        # A killed node is fenced (and its partitions get new leaders) after 3 s instead of 9.
        lines["broker.session.timeout.ms"] = "3000"
        lines["broker.heartbeat.interval.ms"] = "500"
    _add_secure_listeners(lines, layout)
    header = f"# Written by ridectl for node {node_id} of a {layout.nodes}-node local cluster.\n"
    return header + "".join(f"{k}={v}\n" for k, v in lines.items())


def _pem_property(path: Path) -> str:
    """A PEM file as one properties value (line breaks escaped, as Java reads them)."""
    text = path.read_text(encoding="ascii").strip()
    return "\\n".join(text.splitlines())


def _add_secure_listeners(lines: dict[str, str], layout: Layout) -> None:
    sasl, ssl = layout.sasl_port(), layout.ssl_port()
    if sasl is None and ssl is None:
        return
    listeners = [lines["listeners"]]
    advertised = [lines["advertised.listeners"]]
    protocols = [lines["listener.security.protocol.map"]]
    if sasl is not None:
        listeners.append(f"SASL_PLAINTEXT://{HOST}:{sasl}")
        advertised.append(f"SASL_PLAINTEXT://{HOST}:{sasl}")
        protocols.append("SASL_PLAINTEXT:SASL_PLAINTEXT")
        lines["sasl.enabled.mechanisms"] = "SCRAM-SHA-512"
        lines["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"] = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        )
    if ssl is not None:
        assert layout.security is not None and layout.security.tls is not None
        chain, key = layout.security.tls
        listeners.append(f"SSL://{HOST}:{ssl}")
        advertised.append(f"SSL://{HOST}:{ssl}")
        protocols.append("SSL:SSL")
        lines["listener.name.ssl.ssl.keystore.type"] = "PEM"
        lines["listener.name.ssl.ssl.keystore.certificate.chain"] = _pem_property(chain)
        lines["listener.name.ssl.ssl.keystore.key"] = _pem_property(key)
        lines["listener.name.ssl.ssl.client.auth"] = "none"
    lines["listeners"] = ",".join(listeners)
    lines["advertised.listeners"] = ",".join(advertised)
    lines["listener.security.protocol.map"] = ",".join(protocols)


def free_port_block(count: int, host: str = HOST) -> int:
    """A first port P such that P .. P+count-1 can all be bound on ``host`` right now."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            first = int(s.getsockname()[1])
        if first + count >= 65535:
            continue
        held: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(sock)
                sock.bind((host, port))
            return first
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise BrokerError(f"no block of {count} free ports found on {host}")


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as dead.
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
    except OSError:
        return True
    return status != "Z"


def _is_our_java(pid: int, state_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return pid_alive(pid)  # no /proc: trust the pid file
    return "kafka.Kafka" in cmdline and str(state_dir) in cmdline


class LocalCluster:
    """A local KRaft cluster of one or more combined broker+controller nodes."""

    def __init__(self, state_dir: Path | None = None, cache_dir: Path | None = None) -> None:
        self.state_dir = (state_dir or state_dir_default()).resolve()
        self.cache_dir = cache_dir or cache_dir_default()

    # ---- paths
    @property
    def state_file(self) -> Path:
        return self.state_dir / "cluster.json"

    @property
    def layout_file(self) -> Path:
        return self.state_dir / "layout.json"

    def node_dir(self, node_id: int) -> Path:
        return self.state_dir / f"node-{node_id}"

    def log_file(self, node_id: int) -> Path:
        return self.node_dir(node_id) / "broker.log"

    # ---- state
    def read_state(self) -> ClusterState | None:
        try:
            raw = json.loads(self.state_file.read_text())
            return ClusterState(**raw)
        except (OSError, ValueError, TypeError):
            return None

    def _write_state(self, state: ClusterState) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2))
        tmp.replace(self.state_file)

    def running(self) -> ClusterState | None:
        """The recorded cluster if at least one of its nodes is still alive."""
        state = self.read_state()
        if state is None:
            return None
        if any(self.alive(pid) for pid in state.pids.values()):
            return state
        return None

    def alive(self, pid: int) -> bool:
        return pid_alive(pid) and _is_our_java(pid, self.state_dir)

    # ---- start
    def up(
        self,
        *,
        nodes: int = 1,
        port: int = DEFAULT_PORT,
        heap_mb: int | None = None,
        timeout_s: float = START_TIMEOUT_S,
        security: SecurityOptions | None = None,
    ) -> tuple[ClusterState, bool]:
        """Start the cluster, or reuse the one running. Returns (state, started_now).

        ``security`` (a single node only) adds SASL_PLAINTEXT and/or SSL listeners; their
        addresses are recorded in the state's ``extra`` as ``sasl_plaintext`` and ``ssl``."""
        if nodes not in (1, 3):
            raise BrokerError(f"--nodes must be 1 or 3, not {nodes}")
        if security is not None and nodes != 1:
            raise BrokerError("secured listeners are only offered on a single node")
        if not 1024 <= port <= 65535 - 2 * nodes - 2:
            raise BrokerError(
                f"--port must be between 1024 and {65535 - 2 * nodes - 2}, not {port}"
            )
        current = self.running()
        if current is not None:
            if current.nodes != nodes or current.port != port:
                raise BrokerError(
                    f"a {current.nodes}-node broker is already running at {current.bootstrap} "
                    f"from {self.state_dir}",
                    hint="stop it first: ridectl broker down",
                )
            self._restart_dead_nodes(current, heap_mb, timeout_s)
            return current, False
        layout = Layout(nodes, port, security)
        java = find_java()
        libs = ensure_jars(self.cache_dir)
        busy = [p for p in layout.all_ports() if port_in_use(p)]
        if busy:
            raise BrokerError(
                f"port {busy[0]} on {HOST} is already in use"
                + (f" (also {', '.join(map(str, busy[1:]))})" if len(busy) > 1 else ""),
                hint="stop what uses it, or choose another first port with --port",
            )
        cluster_id = self._prepare_storage(java, libs, layout)
        heap = heap_mb or (512 if nodes == 1 else 384)
        t0 = time.monotonic()
        deadline = t0 + timeout_s
        pids: dict[str, int] = {}
        offsets: dict[int, int] = {}
        state = ClusterState(
            version=KAFKA_VERSION,
            nodes=nodes,
            port=port,
            bootstrap=layout.bootstrap,
            pids=pids,
            started_at=time.time(),
            state_dir=str(self.state_dir),
            cluster_id=cluster_id,
        )
        for name, extra_port in (
            ("sasl_plaintext", layout.sasl_port()),
            ("ssl", layout.ssl_port()),
        ):
            if extra_port is not None:
                state.extra[name] = f"{HOST}:{extra_port}"
        try:
            for node_id in layout.node_ids:
                pids[str(node_id)], offsets[node_id] = self._spawn(java, libs, node_id, heap)
            self._write_state(state)
            for node_id in layout.node_ids:
                self._wait_ready(node_id, pids[str(node_id)], offsets[node_id], layout, deadline)
        except BaseException:
            self._terminate(list(pids.values()))
            self.state_file.unlink(missing_ok=True)
            raise
        state.ready_after_s = round(time.monotonic() - t0, 2)
        self._write_state(state)
        return state, True

    def _prepare_storage(self, java: str, libs: Path, layout: Layout) -> str:
        """Write configs and format storage unless the data was formatted for this layout."""
        try:
            saved = json.loads(self.layout_file.read_text())
        except (OSError, ValueError):
            saved = None
        want = {
            "nodes": layout.nodes,
            "port": layout.port,
            "version": KAFKA_VERSION,
            "security": layout.security.fingerprint() if layout.security else "",
        }
        if (
            saved
            and {k: saved.get(k, "" if k == "security" else None) for k in want} == want
            and all(
                (self.node_dir(n) / "data" / "meta.properties").exists() for n in layout.node_ids
            )
        ):
            for n in layout.node_ids:
                self._write_config(layout, n)
            return str(saved["cluster_id"])
        # New, or formatted for another layout: start from empty storage.
        for old in self.state_dir.glob("node-*"):
            shutil.rmtree(old, ignore_errors=True)
        cluster_id = _new_cluster_id()
        jobs = []
        for n in layout.node_ids:
            props = self._write_config(layout, n)
            args = ["format", "-t", cluster_id, "-c", str(props), "--ignore-formatted"]
            if layout.nodes == 1:
                args.append("--standalone")
            if layout.security is not None:
                for name, password in layout.security.scram_users.items():
                    args += ["--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"]
            jobs.append(args)
        # One JVM per node; formatting them side by side saves seconds on a 3-node cluster.
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            list(pool.map(lambda a: self._java_tool(java, libs, a), jobs))
        self.layout_file.write_text(json.dumps({**want, "cluster_id": cluster_id}))
        return cluster_id

    def _write_config(self, layout: Layout, node_id: int) -> Path:
        node = self.node_dir(node_id)
        (node / "data").mkdir(parents=True, exist_ok=True)
        props = node / "server.properties"
        props.write_text(_server_properties(layout, node_id, node / "data"))
        return props

    def _java_tool(self, java: str, libs: Path, args: list[str]) -> str:
        cmd = [java, "-cp", f"{libs}/*", *_log4j_props(), "kafka.tools.StorageTool", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines() or ["(no output)"]
            raise BrokerError(
                f"kafka storage tool failed ({args[0]}): {lines[-1][:300]}",
                hint=f"remove {self.state_dir} and retry",
            )
        return proc.stdout

    def _spawn(self, java: str, libs: Path, node_id: int, heap_mb: int) -> tuple[int, int]:
        """Start one node's JVM; returns its pid and the log size before it wrote anything."""
        node = self.node_dir(node_id)
        log = self.log_file(node_id)
        cmd = [
            java,
            f"-Xms{min(heap_mb, 256)}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            *_log4j_props(),
            # Makes the process findable as ours (see _is_our_java).
            f"-Dridectl.state={self.state_dir}",
            "-cp",
            f"{libs}/*",
            "kafka.Kafka",
            str(node / "server.properties"),
        ]
        with log.open("ab") as out:
            offset = out.tell()
            out.write(f"\n== ridectl: node {node_id} starting at {time.ctime()} ==\n".encode())
            out.flush()
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the CLI; Ctrl-C in the shell does not kill it
                cwd=node,
            )
        return proc.pid, offset

    def _wait_ready(
        self, node_id: int, pid: int, log_offset: int, layout: Layout, deadline: float
    ) -> None:
        """Wait for this start's "Kafka Server started" line (after ``log_offset``) and the port."""
        log = self.log_file(node_id)
        while True:
            chunk = log.read_bytes()[log_offset:].decode(errors="replace")
            if READY_LINE in chunk and port_in_use(layout.client_port(node_id)):
                return
            if not pid_alive(pid):
                raise BrokerError(
                    f"broker node {node_id} exited during start-up: {_last_error(chunk)}",
                    hint=f"see {log}",
                )
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"broker node {node_id} was not ready in time",
                    hint=f"see {log}",
                )
            time.sleep(0.1)

    def _restart_dead_nodes(
        self, state: ClusterState, heap_mb: int | None, timeout_s: float
    ) -> None:
        dead = [int(n) for n, pid in state.pids.items() if not self.alive(pid)]
        if not dead:
            return
        java, libs = find_java(), ensure_jars(self.cache_dir)
        layout = Layout(state.nodes, state.port)
        deadline = time.monotonic() + timeout_s
        offsets: dict[int, int] = {}
        for node_id in dead:
            state.pids[str(node_id)], offsets[node_id] = self._spawn(
                java, libs, node_id, heap_mb or (512 if state.nodes == 1 else 384)
            )
        self._write_state(state)
        for node_id in dead:
            self._wait_ready(node_id, state.pids[str(node_id)], offsets[node_id], layout, deadline)

    # ---- node control (failover scenarios)
    def kill_node(self, node_id: int, *, hard: bool = True) -> None:
        state = self.running()
        if state is None or str(node_id) not in state.pids:
            raise BrokerError(f"no running node {node_id}")
        pid = state.pids[str(node_id)]
        self._terminate([pid], sig=signal.SIGKILL if hard else signal.SIGTERM)

    def start_node(self, node_id: int, timeout_s: float = START_TIMEOUT_S) -> None:
        state = self.read_state()
        if state is None:
            raise BrokerError("no cluster recorded; start one with ridectl broker up")
        self._restart_dead_nodes(state, None, timeout_s)

    # ---- stop
    def down(self, *, wipe: bool = False) -> list[int]:
        """Stop every node of the recorded cluster; returns the pids that were stopped."""
        state = self.read_state()
        stopped: list[int] = []
        if state is not None:
            live = [pid for pid in state.pids.values() if self.alive(pid)]
            self._terminate(live)
            stopped = live
            self.state_file.unlink(missing_ok=True)
        if wipe:
            for old in self.state_dir.glob("node-*"):
                shutil.rmtree(old, ignore_errors=True)
            self.layout_file.unlink(missing_ok=True)
        return stopped

    def _terminate(self, pids: list[int], sig: signal.Signals = signal.SIGTERM) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            _reap(pids)
            time.sleep(0.1)
        for pid in pids:
            if pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            _reap(pids)
            time.sleep(0.05)

    # ---- logs
    def log_lines(self, node_id: int = 1, lines: int = 50) -> list[str]:
        log = self.log_file(node_id)
        if not log.exists():
            raise BrokerError(f"no log for node {node_id} at {log}", hint="ridectl broker up")
        with log.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 256 * 1024))
            tail = fh.read().decode(errors="replace").splitlines()
        return tail[-lines:] if lines > 0 else tail

    def follow(self, node_id: int = 1) -> Iterator[str]:
        log = self.log_file(node_id)
        with log.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            while True:
                line = fh.readline()
                if line:
                    yield line.decode(errors="replace").rstrip("\n")
                else:
                    time.sleep(0.2)


def _reap(pids: list[int]) -> None:
    """Collect exited children (when the cluster was started by this process)."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def _log4j_props() -> list[str]:
    conf = Path(str(resources.files("ridectl.broker").joinpath("log4j2.yaml")))
    return [f"-Dlog4j2.configurationFile={conf}"]


def _new_cluster_id() -> str:
    """A KRaft cluster id as Kafka's ``Uuid.randomUuid().toString()`` makes them: 16 random
    bytes in URL-safe base64 without padding, never starting with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def _last_error(text: str) -> str:
    for line in reversed(text.splitlines()):
        if " ERROR " in line or "Exception" in line:
            return line.strip()[:300]
    tail = [ln for ln in text.splitlines() if ln.strip()]
    return tail[-1].strip()[:300] if tail else "no output"
