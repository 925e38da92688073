"""The lag gauge follows the partitions a member owns: after a rebalance the lost ones vanish,
so summing `monitor_consumer_lag` over a scaled-out group counts each partition once."""

from __future__ import annotations

from kafka import TopicPartition
from prometheus_client import REGISTRY

from monitor.ingest.observe import IngestObserver

TOPIC = "observe-test"


class FakeConsumer:
    """What `on_poll` reads of a KafkaConsumer: its assignment and fetch positions."""

    def __init__(self, partitions: set[int], highwater: int, position: int) -> None:
        self.partitions = partitions
        self.high = highwater
        self.pos = position

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(TOPIC, p) for p in self.partitions}

    def highwater(self, tp: TopicPartition) -> int:
        return self.high

    def position(self, tp: TopicPartition) -> int:
        return self.pos


def gauge() -> dict[str, float]:
    return {
        s.labels["partition"]: s.value
        for family in REGISTRY.collect()
        if family.name == "monitor_consumer_lag"
        for s in family.samples
        if s.labels["topic"] == TOPIC
    }


def test_lag_of_partitions_lost_in_a_rebalance_is_dropped() -> None:
    observer = IngestObserver(TOPIC)
    observer.on_poll(FakeConsumer({0, 1, 2, 3}, highwater=10, position=4))
    assert gauge() == {"0": 6, "1": 6, "2": 6, "3": 6}

    observer.on_poll(FakeConsumer({1, 3}, highwater=10, position=10))
    assert gauge() == {"1": 0, "3": 0}

    observer.on_poll(FakeConsumer({0, 1, 3}, highwater=10, position=9))
    assert gauge() == {"0": 1, "1": 1, "3": 1}
