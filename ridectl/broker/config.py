"""How a local cluster is laid out (nodes, ports, secured listeners), what its state file
records, and the ``server.properties`` each node runs with."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
#: The shortest session a group member may ask for (compose.yaml sets the same).
GROUP_MIN_SESSION_TIMEOUT_MS = 1000


@dataclass(frozen=True)
class SecurityOptions:
    """Extra listeners for a single node, for trying secured connections locally.

    ``scram_users`` (name -> password) adds a SASL_PLAINTEXT listener that accepts
    SCRAM-SHA-512; the credentials are written into the metadata when storage is formatted.
    ``tls`` is (certificate chain PEM file, unencrypted PKCS#8 key PEM file) and adds an SSL
    listener (server authentication only). The plaintext listener stays, for admin work.
    ``acls`` turns on Kafka's authorizer: the plaintext listener's anonymous principal is a
    super user (admin work there is unrestricted), every other user may do only what ACLs
    allow it.
    """

    scram_users: Mapping[str, str] = field(default_factory=dict)
    tls: tuple[Path, Path] | None = None
    acls: bool = False

    def fingerprint(self) -> str:
        """What must match for formatted storage to be reused (names, not passwords)."""
        users = ",".join(sorted(self.scram_users))
        more = ";acls=yes" if self.acls else ""
        return f"scram={users};tls={'yes' if self.tls else 'no'}{more}"


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


def server_properties(layout: Layout, node_id: int, data_dir: Path) -> str:
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
        # Members may ask for a 1 s session (Kafka's floor is 6 s), so that the consumer-group
        # lessons see a killed member's partitions move on within a second or two.
        "group.min.session.timeout.ms": str(GROUP_MIN_SESSION_TIMEOUT_MS),
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
    if layout.security is not None and layout.security.acls:
        lines["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        lines["super.users"] = "User:ANONYMOUS"
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


def new_cluster_id() -> str:
    """A KRaft cluster id as Kafka's ``Uuid.randomUuid().toString()`` makes them: 16 random
    bytes in URL-safe base64 without padding, never starting with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text
