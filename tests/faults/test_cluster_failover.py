"""A 3-node KRaft cluster from the project's launcher (replication 3, min.insync.replicas 2, acks=all) with
one node killed by kill -9 in the middle of a run, while a producer keeps sending.

The node killed is the coordinator of bronze's consumer group (so the group moves too) and leads about a
third of the partitions. Nothing acknowledged is lost (two in-sync replicas had it), nothing is doubled
(idempotent producer, bronze's Delta app transactions), and the real-time path recovers without a
restart by anyone: every driver's live position comes from a ping sent after the kill. The cluster is
started once for this module, on ports of this checkout's block (RIDESHARE_KAFKA_PORT + 300 and up).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaClient
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from core.settings import Settings
from rideshare.infra import KafkaService, RedisService
from rideshare.supervisor import rideshare_command
from rideshare.topics import create_topics
from rideshare.worker_process import settings_env
from schemas.catalog import CATALOG
from streams.app import WorkerRole, app_id_for
from streams.metadata import unlisted_topics, wait_until_listed
from tests.faults.pipeline_support import Loads, Pipeline, ride_out_fault

pytestmark = pytest.mark.integration

PORT_OFFSET = 300  # nodes on kafka_port + 300, + 400, + 500: clear of the session's single broker


@pytest.fixture(scope="module")
def cluster_settings(service_settings: Settings, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    local = tmp_path_factory.mktemp("cluster")
    jars = KafkaService(service_settings).ensure_jars()
    (local / "kafka" / service_settings.kafka_version).mkdir(parents=True)
    (local / "kafka" / service_settings.kafka_version / "lib").symlink_to(jars)  # the session's jars, not a second download
    (local / "redis").symlink_to(service_settings.local_dir / "redis", target_is_directory=True)  # `infra up` finds the session's Redis
    return settings.model_copy(update={
        "kafka_brokers": 3, "kafka_bootstrap": None, "kafka_heap": "512m", "local_dir": local,
        "kafka_port": service_settings.kafka_port + PORT_OFFSET,
        "kafka_controller_port": service_settings.kafka_controller_port + PORT_OFFSET,
    })


@pytest.fixture(scope="module")
def cluster(cluster_settings: Settings) -> Iterator[KafkaService]:
    service = KafkaService(cluster_settings)
    try:
        service.start(timeout_s=180)
        create_topics(cluster_settings)
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def loads() -> Loads:
    return Loads()


@pytest.fixture(scope="module")
def pipeline(cluster: KafkaService, cluster_settings: Settings, redis_service: RedisService) -> Iterator[Pipeline]:
    running = Pipeline(cluster_settings, cluster_settings.local_dir / "workers").start()
    try:
        yield running
    finally:
        running.stop()


def coordinator_of(settings: Settings, group: str) -> int:
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    return int(admin.describe_consumer_groups([group])[group].result(timeout=15).coordinator.id)


def assert_three_replicas_two_in_sync(settings: Settings) -> None:
    """Catalog topics, the workers' changelogs and the offsets topic: 3 replicas, min.insync.replicas 2."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    metadata = admin.list_topics(timeout=10)
    changelogs = [name for name in metadata.topics
                  if name.startswith(app_id_for(settings, WorkerRole.REALTIME)) and "changelog" in name]
    checked = [spec.qualified(settings.topic_namespace) for spec in CATALOG] + changelogs + ["__consumer_offsets"]
    assert len(changelogs) >= 4 and "__consumer_offsets" in metadata.topics
    for name in checked:
        replicas = {len(partition.replicas) for partition in metadata.topics[name].partitions.values()}
        assert replicas == {3}, f"{name}: replicas per partition {replicas}"
    resources = [ConfigResource("topic", name) for name in checked if not name.startswith("__")]
    for resource, future in admin.describe_configs(resources).items():
        assert future.result()["min.insync.replicas"].value == "2", resource.name


def test_a_new_topic_counts_as_listed_only_once_every_broker_lists_it(cluster: KafkaService, cluster_settings: Settings) -> None:
    # what a worker waits for before its group leader assigns the partitions of the changelogs it just created
    topic = f"{cluster_settings.topic_namespace}listed-{uuid.uuid4().hex[:6]}"

    async def create_and_wait() -> tuple[set[int], dict[str, list[int]], dict[str, list[int]]]:
        client = AIOKafkaClient(bootstrap_servers=cluster_settings.bootstrap_servers)
        await client.bootstrap()
        try:
            brokers = {broker.nodeId for broker in client.cluster.brokers()}
            before = await unlisted_topics(client, [topic])
            admin = AdminClient({"bootstrap.servers": cluster_settings.bootstrap_servers})
            admin.create_topics([NewTopic(topic, 12, 3)])[topic].result(timeout=30)
            return brokers, before, await wait_until_listed(client, [topic], timeout_s=30)
        finally:
            await client.close()

    brokers, before, after = asyncio.run(create_and_wait())
    assert len(brokers) == 3 and set(before[topic]) == brokers  # every broker was asked, not one of them
    assert after == {}


def test_one_node_killed_mid_run_loses_and_doubles_nothing_and_the_pipeline_recovers_by_itself(
    cluster: KafkaService, cluster_settings: Settings, pipeline: Pipeline, loads: Loads
) -> None:
    s = cluster_settings
    bronze_group = app_id_for(s, WorkerRole.BRONZE)
    victims = []

    def kill_bronze_coordinator() -> None:
        # The pipeline flows, so the workers created their changelogs: everything is replicated before the kill.
        assert_three_replicas_two_in_sync(s)
        victims.append(coordinator_of(s, bronze_group))
        cluster.nodes[victims[0] - 1].kill()

    outcome = ride_out_fault(s, pipeline, loads, tag="failover", fault=kill_bronze_coordinator)
    assert coordinator_of(s, bronze_group) != victims[0]
    print(f"killed node {victims[0]} (bronze's coordinator): {outcome}; supervisor: {pipeline.events}")


def test_infra_status_names_a_dead_node_and_infra_up_starts_it_again(
    cluster: KafkaService, cluster_settings: Settings, redis_service: RedisService
) -> None:
    if all(node.running() for node in cluster.nodes):
        cluster.nodes[-1].kill()
    dead = [node.spec.node_id for node in cluster.nodes if not node.running()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIDESHARE_")} | settings_env(cluster_settings)

    def rideshare(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(rideshare_command(*args), capture_output=True, text=True, env=env, timeout=180,
                              cwd=cluster_settings.local_dir)  # no .env there: the environment alone configures it

    status = rideshare("infra", "status")
    assert status.returncode == 1, status.stdout + status.stderr
    rows = {line.split()[1]: line for line in status.stdout.splitlines() if line.strip().startswith("│ kafka-")}
    assert sorted(rows) == ["kafka-1", "kafka-2", "kafka-3"], status.stdout
    assert all(("down" in rows[f"kafka-{n}"]) == (n in dead) for n in (1, 2, 3)), status.stdout
    up = rideshare("infra", "up", "--brokers", "3")
    assert up.returncode == 0 and "3 of 3 nodes up" in up.stdout, up.stdout + up.stderr
    assert all(node.running() and node.ready() for node in cluster.nodes)
