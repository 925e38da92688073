"""`monitor consume` and `monitor produce`."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
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


# The story file of `produce` and `import` (read by `producer.read_stories`).
file_option = click.option(
    "--file",
    "path",
    type=click.Path(path_type=Path),
    required=True,
    help="JSONL (one story object per line) or CSV (header; `text` → headline)",
)


@click.command("produce")
@file_option
@click.option("--rate", type=float, default=None, help="stories per second (default: full speed)")
@click.option("--topic", default=None, help="default: MONITOR_KAFKA__TOPIC")
@click.option(
    "--strict",
    is_flag=True,
    help="check every line first and publish nothing if any line breaks the contract",
)
def produce_command(path: Path, rate: float | None, topic: str | None, strict: bool) -> None:
    """Publish a file of stories to Kafka, keyed by story id.

    Each line is checked against the message contract first; bad lines are reported with their
    line numbers and reasons and not sent. Exit status 1 when any line was rejected.
    """
    from monitor.ingest import kafka
    from monitor.ingest.producer import Rejected, Story, publish, read_stories
    from monitor.ingest.schema import Limits
    from monitor.settings import load_settings

    settings = load_settings()
    if rate is not None and rate <= 0:
        raise click.BadParameter("must be > 0", param_hint="--rate")
    limits = Limits(settings.kafka.max_message_bytes, settings.contract)
    topic = topic or settings.kafka.topic
    rejected = 0

    def stories(lines: Iterable[Story | Rejected]) -> Iterator[Story]:
        nonlocal rejected
        for line in lines:
            if isinstance(line, Rejected):
                rejected += 1
                click.echo(f"{path}:{line.line}: rejected: {line.reason}", err=True)
            else:
                yield line

    lines: Iterable[Story | Rejected] = read_stories(path, limits)
    if strict:
        lines = list(stories(lines))  # every line checked before anything is sent
        if rejected:
            raise click.ClickException(
                f"nothing published: {rejected} line(s) of {path} rejected (--strict)"
            )
    kafka.check_broker(settings.kafka)
    kafka.ensure_topic(settings.kafka.model_copy(update={"topic": topic}))
    producer = kafka.make_producer(settings.kafka)
    try:
        sent = publish(producer, topic, stories(lines), rate=rate)
    finally:
        producer.close()
    click.echo(f"published {sent} stories to {topic}; rejected {rejected} line(s)")
    if rejected:
        sys.exit(1)
