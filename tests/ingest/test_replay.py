"""The demo replay resumes where it stopped instead of re-sending (and so re-versioning) it."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition

from monitor.ingest import kafka
from monitor.ingest.demo import load_demo_feed
from monitor.ingest.replay import replay_demo
from monitor.settings import KafkaSettings

pytestmark = pytest.mark.integration


def messages_on(settings: KafkaSettings) -> int:
    probe = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    partitions = [TopicPartition(settings.topic, p) for p in range(settings.partitions)]
    total = sum(probe.end_offsets(partitions).values())
    probe.close()
    return total


def test_replay_reports_progress_and_resumes_after_it(broker: str) -> None:
    settings = KafkaSettings(bootstrap_servers=broker, topic=f"demo-{uuid.uuid4().hex[:8]}")
    kafka.ensure_topic(settings)
    producer = kafka.make_producer(settings)
    progress: list[int] = []
    total = len(load_demo_feed())

    sent = replay_demo(
        producer,
        settings.topic,
        live_minutes=1,
        speed=600,
        skip=total - 30,
        on_progress=progress.append,
    )

    assert sent == total
    assert progress[-1] == total and progress == sorted(progress)
    assert messages_on(settings) == 30  # only what was left after `skip`
    again = replay_demo(producer, settings.topic, skip=total)
    assert again == total and messages_on(settings) == 30
    producer.close()
