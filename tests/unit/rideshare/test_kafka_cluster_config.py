"""The local Kafka's layout and node configuration, one node and three (pure: no process is started)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import load_settings
from rideshare.infra.exceptions import InfraError
from rideshare.infra.kafka import KafkaNode, KafkaService, new_cluster_id, node_config


def _config(tmp_path: Path, brokers: int) -> list[dict[str, str]]:
    service = KafkaService(load_settings(kafka_brokers=brokers, kafka_port=19092, kafka_controller_port=19093, local_dir=tmp_path))
    specs = tuple(node.spec for node in service.nodes)
    return [node_config(service.settings, node.spec, specs, node.home / "data") for node in service.nodes]


def test_one_node_is_a_standalone_quorum_with_single_replicas(tmp_path: Path) -> None:
    (config,) = _config(tmp_path, 1)
    assert config["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert "controller.quorum.voters" not in config
    assert config["offsets.topic.replication.factor"] == config["transaction.state.log.replication.factor"] == "1"
    assert config["min.insync.replicas"] == config["transaction.state.log.min.isr"] == "1"


def test_three_nodes_know_every_voter_and_replicate_everything_three_times_with_two_in_sync(tmp_path: Path) -> None:
    configs = _config(tmp_path, 3)
    assert {c["controller.quorum.voters"] for c in configs} == {"1@127.0.0.1:19093,2@127.0.0.1:19193,3@127.0.0.1:19293"}
    assert [c["node.id"] for c in configs] == ["1", "2", "3"]
    assert [c["advertised.listeners"] for c in configs] == [f"PLAINTEXT://127.0.0.1:{p}" for p in (19092, 19192, 19292)]
    assert len({c["log.dirs"] for c in configs}) == 3
    for config in configs:
        assert "controller.quorum.bootstrap.servers" not in config
        for key in ("default.replication.factor", "offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                    "share.coordinator.state.topic.replication.factor"):
            assert config[key] == "3", key
        for key in ("min.insync.replicas", "transaction.state.log.min.isr", "share.coordinator.state.topic.min.isr"):
            assert config[key] == "2", key
        assert config["unclean.leader.election.enable"] == "false"


def test_clients_bootstrap_from_every_node_and_topics_replicate_as_the_cluster_allows() -> None:
    three = load_settings(kafka_brokers=3, kafka_port=19092, kafka_controller_port=19093)
    assert three.bootstrap_servers == "127.0.0.1:19092,127.0.0.1:19192,127.0.0.1:19292"
    assert (three.kafka_replication_factor, three.kafka_min_insync_replicas) == (3, 2)
    assert (load_settings(kafka_brokers=2).kafka_replication_factor, load_settings(kafka_brokers=2).kafka_min_insync_replicas) == (2, 1)
    assert load_settings(kafka_brokers=5).kafka_replication_factor == 3
    assert load_settings(kafka_brokers=3, kafka_bootstrap="elsewhere:9092").bootstrap_servers == "elsewhere:9092"


def test_node_ports_that_collide_are_refused_with_the_settings_to_change() -> None:
    with pytest.raises(ValidationError, match="RIDESHARE_KAFKA_NODE_PORT_STEP"):
        load_settings(kafka_brokers=3, kafka_port=19092, kafka_controller_port=19192)


def test_a_cluster_keeps_its_nodes_apart_from_the_single_node_on_the_same_port(tmp_path: Path) -> None:
    single = KafkaService(load_settings(kafka_port=19092, kafka_controller_port=19093, local_dir=tmp_path))
    cluster = KafkaService(load_settings(kafka_brokers=3, kafka_port=19092, kafka_controller_port=19093, local_dir=tmp_path))
    assert single.nodes[0].home == tmp_path / "kafka" / "port-19092"
    assert [node.home for node in cluster.nodes] == [tmp_path / "kafka" / "cluster-19092x3" / f"node-{n}" for n in (1, 2, 3)]
    assert KafkaService.running_sizes(cluster.settings) == []


def _exited_node(tmp_path: Path, log: str) -> tuple[KafkaNode, list[int]]:
    """Node 1 of three whose JVM exited after writing `log` (no process runs); its relaunches are recorded."""
    node = KafkaService(load_settings(kafka_brokers=3, kafka_port=19092, kafka_controller_port=19093, local_dir=tmp_path)).nodes[0]
    node.server_log.parent.mkdir(parents=True)
    node.server_log.write_text(log)
    relaunches: list[int] = []
    node.launch = lambda **_: relaunches.append(1)  # type: ignore[method-assign]  # no JVM in a unit test
    return node, relaunches


def test_a_node_that_lost_the_race_for_its_port_is_launched_again_however_long_its_shutdown_log(tmp_path: Path) -> None:
    shutdown = "".join(f"INFO [BrokerServer id=1] shutting down step {n}\n" for n in range(80))
    node, relaunches = _exited_node(tmp_path, "ERROR Socket server failed to bind to 127.0.0.1:19092: Address already in use.\n"
                                              + shutdown)
    assert node.check_started() is False
    assert relaunches == [1]


def test_a_node_that_exited_for_another_reason_is_an_error_with_its_log(tmp_path: Path) -> None:
    node, relaunches = _exited_node(tmp_path, "ERROR Exiting Kafka due to fatal exception: Invalid cluster.id\n")
    with pytest.raises(InfraError, match=r"Invalid cluster\.id"):
        node.check_started()
    assert relaunches == []


def test_a_new_cluster_id_never_starts_with_a_dash_which_the_storage_tool_would_read_as_an_option() -> None:
    ids = [new_cluster_id() for _ in range(2_000)]  # one base64url id in 64 starts with '-' when drawn plainly
    assert not [cluster_id for cluster_id in ids if cluster_id.startswith("-")]
    assert len(set(ids)) == len(ids) and all(len(cluster_id) == 22 for cluster_id in ids)
