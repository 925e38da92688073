"""Thin kafka-python wrappers: clients built from settings, start-up checks, topic creation."""

from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from monitor.errors import ConfigError
from monitor.settings import KafkaSettings

log = logging.getLogger(__name__)
BOOTSTRAP_SETTING = "MONITOR_KAFKA__BOOTSTRAP_SERVERS"


def _servers(settings: KafkaSettings) -> list[str]:
    return [s.strip() for s in settings.bootstrap_servers.split(",")]


def check_broker(settings: KafkaSettings) -> None:
    """Fail fast, naming the setting, when no broker answers within connect_timeout_s."""
    deadline = time.monotonic() + settings.connect_timeout_s
    last_error: Exception | None = None
    while (left_s := deadline - time.monotonic()) > 0:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=_servers(settings),
                client_id="monitor-check",
                request_timeout_ms=5000,
                # kafka-python's own bootstrap wait (30 s by default) would outlast ours.
                bootstrap_timeout_ms=max(int(left_s * 1000), 100),
            )
        except (KafkaError, OSError) as exc:
            last_error = exc
            time.sleep(0.5)
            continue
        admin.close()
        return
    raise ConfigError(
        BOOTSTRAP_SETTING,
        f"no Kafka broker answered at {settings.bootstrap_servers} within "
        f"{settings.connect_timeout_s:g} s ({last_error})",
    )


def ensure_topic(settings: KafkaSettings) -> None:
    """Create the topic with `partitions` partitions if it does not exist yet."""
    admin = KafkaAdminClient(bootstrap_servers=_servers(settings), client_id="monitor-admin")
    try:
        if settings.topic in admin.list_topics():
            return
        admin.create_topics([NewTopic(settings.topic, settings.partitions, 1)])
        log.info("created topic %s with %d partitions", settings.topic, settings.partitions)
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


def make_consumer(settings: KafkaSettings) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=_servers(settings),
        group_id=settings.group_id,
        client_id=f"monitor-consume-{settings.group_id}",
        enable_auto_commit=False,  # offsets are committed only after the DB commit
        auto_offset_reset="earliest",
        max_poll_records=settings.max_poll_records,
        group_instance_id=settings.group_instance_id,
        # A batch's model + DB time must fit well inside this, or the group rebalances.
        max_poll_interval_ms=settings.max_poll_interval_ms,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=max(settings.session_timeout_ms // 5, 500),
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )


def make_producer(settings: KafkaSettings) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=_servers(settings),
        client_id="monitor-produce",
        acks="all",
        linger_ms=5,
        retries=5,
        max_request_size=max(settings.max_message_bytes * 2, 1_048_576),
    )
