"""What the ingestion loop reports about itself: Prometheus metrics and /healthz liveness.

Kept out of the loop, which only calls `on_poll` and `on_batch`.
"""

from __future__ import annotations

from kafka import KafkaConsumer

from monitor import metrics
from monitor.ingest.pipeline import BatchResult


class IngestObserver:
    def __init__(self, topic: str, health: metrics.Health | None = None) -> None:
        self.topic = topic
        self.health = health
        self._reported: set[int] = set()

    def on_poll(self, consumer: KafkaConsumer) -> None:
        """Lag of the partitions this member owns, from the fetcher's own metadata (no RPC).

        Partitions lost in a rebalance are dropped from the gauge: their new owner reports them,
        and a frozen value here would be counted twice when lag is summed over the group.
        """
        owned = {tp.partition for tp in consumer.assignment()}
        for partition in self._reported - owned:
            metrics.CONSUMER_LAG.remove(self.topic, str(partition))
        self._reported &= owned
        lag: dict[int, int] = {}
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            lag[tp.partition] = max(0, highwater - consumer.position(tp))
        metrics.set_consumer_lag(self.topic, lag)
        self._reported |= lag.keys()
        if self.health:
            self.health.ok(partitions=len(lag))

    def on_batch(self, result: BatchResult) -> None:
        write = result.write
        metrics.BATCH_SIZE.observe(result.records)
        metrics.STORIES_PROCESSED.labels(outcome="stored").inc(write.inserted)
        metrics.STORIES_PROCESSED.labels(outcome="updated").inc(write.updated)
        metrics.STORIES_PROCESSED.labels(outcome="duplicate").inc(write.duplicates)
        for kind in result.dead_letter_kinds:
            metrics.DEAD_LETTERS.labels(reason_kind=kind).inc()
        for stage, seconds in result.stage_seconds.items():
            metrics.STAGE_SECONDS.labels(stage=stage).observe(seconds)
        if self.health:
            self.health.ok(last_batch=result.records)
