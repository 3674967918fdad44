"""compose.yaml (for Docker users) and the local broker must run the same Kafka."""

from __future__ import annotations

from pathlib import Path

import yaml

from ridectl.versions import DEFAULT_PORT, KAFKA_VERSION

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict[str, dict[str, dict[str, object]]]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())  # type: ignore[no-any-return]


def test_every_service_uses_the_pinned_official_image() -> None:
    services = _compose()["services"]
    assert set(services) == {"kafka", "kafka-1", "kafka-2", "kafka-3"}
    for name, svc in services.items():
        assert svc["image"] == f"apache/kafka:{KAFKA_VERSION}", name


def test_single_node_advertises_ridectls_default_bootstrap() -> None:
    kafka = _compose()["services"]["kafka"]
    env = kafka["environment"]
    assert isinstance(env, dict)
    assert f"PLAINTEXT://localhost:{DEFAULT_PORT}" in str(env["KAFKA_ADVERTISED_LISTENERS"])
    assert f"{DEFAULT_PORT}:{DEFAULT_PORT}" in kafka["ports"]  # type: ignore[operator]
    assert "profiles" not in kafka  # `docker compose up` starts it


def test_cluster_profile_has_three_distinct_brokers() -> None:
    services = _compose()["services"]
    nodes = [services[f"kafka-{i}"] for i in (1, 2, 3)]
    assert all(n["profiles"] == ["cluster"] for n in nodes)
    ids = {n["environment"]["KAFKA_NODE_ID"] for n in nodes}  # type: ignore[index]
    assert ids == {1, 2, 3}
    voters = {str(n["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"]) for n in nodes}  # type: ignore[index]
    assert len(voters) == 1 and voters.pop().count("@") == 3


def test_maven_pom_pins_the_same_kafka() -> None:
    pom = (ROOT / "ridectl" / "broker" / "pom.xml").read_text()
    assert f"<kafka.version>{KAFKA_VERSION}</kafka.version>" in pom


def test_compose_runs_the_local_brokers_group_settings() -> None:
    """The consumer-group lessons rely on these; Docker users must get the same broker."""
    from ridectl.broker.config import Layout, server_properties

    props = dict(
        line.split("=", 1)
        for line in server_properties(Layout(1, 9092), 1, Path("/tmp/x")).splitlines()
        if "=" in line and not line.startswith("#")
    )
    for service in _compose()["services"].values():
        env = service["environment"]
        assert isinstance(env, dict)
        for key in ("group.initial.rebalance.delay.ms", "group.min.session.timeout.ms"):
            name = "KAFKA_" + key.upper().replace(".", "_")
            assert str(env[name]) == props[key], (name, env.get(name))
