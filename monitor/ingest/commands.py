"""`monitor consume` and `monitor produce`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("consume")
def consume_command() -> None:
    """Run the ingestion daemon: Kafka → classify → PostgreSQL, until SIGTERM/SIGINT."""
    from monitor.logs import configure_logging
    from monitor.settings import load_settings

    settings = load_settings()  # before importing torch: a bad value fails in a blink
    configure_logging(settings.log_level, settings.log_json)
    from monitor.ingest.service import run_consumer

    run_consumer(settings)


@click.command("produce")
@click.option(
    "--file",
    "path",
    type=click.Path(path_type=Path),
    required=True,
    help="JSONL (one story object per line) or CSV (header; `text` → headline)",
)
@click.option("--rate", type=float, default=None, help="stories per second (default: full speed)")
@click.option("--topic", default=None, help="default: MONITOR_KAFKA__TOPIC")
def produce_command(path: Path, rate: float | None, topic: str | None) -> None:
    """Publish a file of stories to Kafka, keyed by story id."""
    from monitor.ingest import kafka
    from monitor.ingest.producer import publish, read_stories
    from monitor.settings import load_settings

    settings = load_settings()
    if rate is not None and rate <= 0:
        raise click.BadParameter("must be > 0", param_hint="--rate")
    kafka.check_broker(settings.kafka)
    kafka.ensure_topic(settings.kafka)
    producer = kafka.make_producer(settings.kafka)
    try:
        sent = publish(producer, topic or settings.kafka.topic, read_stories(path), rate=rate)
    finally:
        producer.close()
    click.echo(f"published {sent} stories to {topic or settings.kafka.topic}")
