"""Consumer-group lag per partition: the broker's high watermark minus the committed offset.

Works against noida-db and Apache Kafka alike (kafka-python 3.x `list_group_offsets`; end
offsets from a throwaway consumer, since `describe_cluster()` fails against noida-db).
"""

from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition


def consumer_lag(bootstrap_servers: str, topic: str, group_id: str) -> dict[int, int]:
    """{partition: messages not yet committed by `group_id`} for every partition of `topic`."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="monitor-lag")
    probe = KafkaConsumer(bootstrap_servers=bootstrap_servers, client_id="monitor-lag")
    try:
        partitions = probe.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = probe.end_offsets(tps) if tps else {}
        committed = admin.list_group_offsets(group_id).get(group_id, {})
        lag: dict[int, int] = {}
        for tp in tps:
            done = committed.get(tp)
            position = done.offset if done is not None and done.offset >= 0 else 0
            lag[tp.partition] = max(0, int(ends.get(tp, 0)) - position)
        return lag
    finally:
        probe.close()
        admin.close()
