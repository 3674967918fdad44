"""The audit is read-only by construction: run as a SCRAM user whose ACLs allow only READ and
DESCRIBE on the topic (on a broker of its own with the authorizer on), it reads the whole
topic, and the cluster's consumer groups and their committed offsets are the same after."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from conftest import CliResult, secured_up

from ridectl.broker.config import ClusterState, SecurityOptions

pytestmark = pytest.mark.kafka

Cli = Callable[..., CliResult]
USER = "auditor"
PASSWORD = "aud1t-0nly-r3ad"
TOPIC = "orders"
GROUP = "billing"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterState]:
    security = SecurityOptions(scram_users={USER: PASSWORD}, acls=True)
    with secured_up(tmp_path_factory.mktemp("acl-state"), security) as state:
        yield state


def _prepare(bootstrap: str) -> AdminClient:
    """The topic (o1 swapped), a group of another application with committed offsets, and
    the auditor's two ACLs; all through the plaintext listener (the super user)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC, 2, 1)])[TOPIC].result(30)
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition, version in ((0, 1), (0, 3), (0, 2), (1, 1)):
        producer.produce(
            TOPIC, json.dumps({"v": version}), key=f"o{partition}", partition=partition
        )
        producer.flush(30)
    other = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP})
    other.commit(
        offsets=[TopicPartition(TOPIC, 0, 2), TopicPartition(TOPIC, 1, 1)], asynchronous=False
    )
    other.close()
    bindings = [
        AclBinding(
            ResourceType.TOPIC,
            TOPIC,
            ResourcePatternType.LITERAL,
            f"User:{USER}",
            "*",
            op,
            AclPermissionType.ALLOW,
        )
        for op in (AclOperation.READ, AclOperation.DESCRIBE)
    ]
    for future in admin.create_acls(bindings).values():
        future.result(30)
    return admin


def _groups_and_offsets(admin: AdminClient) -> dict[str, dict[int, int]]:
    from confluent_kafka import ConsumerGroupTopicPartitions

    groups = sorted(g.group_id for g in admin.list_consumer_groups().result(30).valid)
    out: dict[str, dict[int, int]] = {}
    for group in groups:
        (future,) = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)]
        ).values()
        out[group] = {tp.partition: tp.offset for tp in future.result(30).topic_partitions}
    return out


# librdkafka is left out: as this user its read fails with a SystemError inside
# confluent-kafka (open, see the branch report)
@pytest.mark.parametrize("client", ["kafka-python"])
def test_audit_as_a_read_only_user_changes_nothing(
    cli: Cli, guarded: ClusterState, client: str
) -> None:
    admin = AdminClient({"bootstrap.servers": guarded.bootstrap})
    if TOPIC not in admin.list_topics(timeout=10).topics:
        admin = _prepare(guarded.bootstrap)
    before = _groups_and_offsets(admin)
    assert before == {GROUP: {0: 2, 1: 1}}
    r = cli(
        "audit",
        "-t",
        TOPIC,
        "--seq",
        "v",
        "-f",
        "json",
        "--exit-code",
        "--client",
        client,
        "-b",
        guarded.extra["sasl_plaintext"],
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.mechanism=SCRAM-SHA-512",
        "-X",
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
        f'required username="{USER}" password="{PASSWORD}";',
    )
    assert r.code == 1, r
    doc = json.loads(r.out)
    assert doc["summary"]["records"] == 4
    assert [(v["entity"], v["kind"]) for v in doc["violations"]] == [("o0", "out_of_order")]
    assert _groups_and_offsets(admin) == before
