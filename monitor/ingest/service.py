"""Wiring of `monitor consume`: check every setting first, then build and run the loop.

All checks (database reachable and migrated, checkpoint loadable, broker reachable) run before
anything is created, so a bad setting stops start-up with nothing half-written.
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import ExitStack
from types import FrameType

from monitor.entities.resolve import resolver_from_settings
from monitor.ingest import kafka
from monitor.ingest.consumer import IngestLoop, LoopStats
from monitor.ingest.observe import IngestObserver
from monitor.ingest.pipeline import BatchProcessor
from monitor.ingest.schema import Limits
from monitor.metrics import Health, set_model_info, start_metrics_server
from monitor.settings import Settings
from monitor.store.db import make_sessionmaker, open_migrated

log = logging.getLogger(__name__)
PORT_SETTING = "MONITOR_METRICS__PORT"


def run_consumer(settings: Settings, stop: threading.Event | None = None) -> LoopStats:
    """Run the ingestion daemon until `stop` is set (SIGTERM/SIGINT set it too)."""
    from monitor.nlp.classifier import Classifier

    stop = stop or threading.Event()
    with ExitStack() as stack:
        resolver = resolver_from_settings(settings.entities)  # a bad dictionary stops us here
        engine = open_migrated(settings.database.url, echo=settings.database.echo)
        stack.callback(engine.dispose)
        classifier = Classifier.from_settings(settings.model)
        kafka.check_broker(settings.kafka)

        health = Health(
            "consume", max_silence_s=max(60.0, settings.kafka.max_poll_interval_ms / 1000)
        )
        observer = IngestObserver(settings.kafka.topic, health)
        set_model_info(classifier.version, str(classifier.device))
        if settings.metrics.enabled:  # a busy port stops us here, before the topic is made
            server, port = start_metrics_server(
                settings.metrics.host, settings.metrics.port, health, setting=PORT_SETTING
            )
            stack.callback(server.close)
            log.info("metrics and health on http://%s:%d/metrics", settings.metrics.host, port)
        stack.callback(health.stopping)
        kafka.ensure_topic(settings.kafka)

        consumer = kafka.make_consumer(settings.kafka)
        stack.callback(consumer.close, autocommit=False)
        processor = BatchProcessor(
            classifier,
            make_sessionmaker(engine),
            limits=Limits(settings.kafka.max_message_bytes, settings.contract),
            resolver=resolver,
        )
        loop = IngestLoop(
            consumer,
            processor,
            topic=settings.kafka.topic,
            poll_timeout_ms=settings.kafka.poll_timeout_ms,
            max_records=settings.kafka.max_poll_records,
            stop=stop,
            on_batch=observer.on_batch,
            on_poll=observer.on_poll,
        )
        _stop_on_signals(stop)
        log.info(
            "consuming %s as group %s with model %s on %s",
            settings.kafka.topic,
            settings.kafka.group_id,
            classifier.version,
            classifier.device,
        )
        stats = loop.run()
        log.info("stopped after %d batches, %d records", stats.batches, stats.records)
        return stats


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "signal %s: finishing the batch in hand, then stopping", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
