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

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from importlib import resources
from pathlib import Path

from ridectl.broker.config import (
    HOST,
    ClusterState,
    Layout,
    SecurityOptions,
    new_cluster_id,
    server_properties,
)
from ridectl.broker.jars import cache_dir_default, ensure_jars, find_java
from ridectl.broker.processes import is_our_java, pid_alive, port_in_use
from ridectl.errors import BrokerError
from ridectl.versions import DEFAULT_PORT, KAFKA_VERSION

READY_LINE = "Kafka Server started"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


def state_dir_default() -> Path:
    env = os.environ.get("RIDECTL_STATE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "ridectl" / "broker"


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
        return pid_alive(pid) and is_our_java(pid, self.state_dir)

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
        cluster_id = new_cluster_id()
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
        props.write_text(server_properties(layout, node_id, node / "data"))
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
            # Makes the process findable as ours (see is_our_java).
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


def _last_error(text: str) -> str:
    for line in reversed(text.splitlines()):
        if " ERROR " in line or "Exception" in line:
            return line.strip()[:300]
    tail = [ln for ln in text.splitlines() if ln.strip()]
    return tail[-1].strip()[:300] if tail else "no output"
