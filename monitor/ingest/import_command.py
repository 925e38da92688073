"""`monitor import`: backfill a JSONL/CSV file straight into the database (see `backfill`)."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from monitor.ingest.commands import file_option
from monitor.ingest.producer import FORMATS, Rejected

if TYPE_CHECKING:  # the real modules load torch: imported when the command runs
    from monitor.ingest.backfill import Importer, ImportReport
    from monitor.settings import Settings


@click.command("import")
@file_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="default: from the file name (.csv is CSV, anything else JSONL)",
)
@click.option(
    "--source",
    default=None,
    help="the `source` of lines that name none (default: unknown; csv for a CSV). A story is "
    "(source, id): give the same one when re-running a file",
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="also write every rejected line to this JSONL file: {line, reason, value}",
)
@click.option("--dry-run", is_flag=True, help="validate every line only: no model, no database")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=None,
    help="stories per transaction (default: MONITOR_KAFKA__MAX_POLL_RECORDS)",
)
def import_command(
    path: Path,
    fmt: str | None,
    source: str | None,
    rejects_path: Path | None,
    dry_run: bool,
    batch_size: int | None,
) -> None:
    """Backfill a file of stories into the database: the consumer's contract, validation,
    classification and idempotent upsert, no broker.

    Each rejected line is reported on stderr as `line N: reason`, then a summary on stdout.
    Re-running the same file changes nothing; a story already stored from Kafka (or another
    import) is never overwritten. The hourly rollup is refreshed for the hours touched.
    Exit status 1 when any line was rejected (the others are imported).
    """
    from tqdm import tqdm

    from monitor.ingest.backfill import Importer, count_lines, origin_topic
    from monitor.ingest.schema import Limits
    from monitor.logs import configure_logging
    from monitor.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    if source is not None and not 1 <= len(source) <= 128:
        raise click.BadParameter("must be 1 to 128 characters", param_hint="--source")
    limits = Limits(settings.kafka.max_message_bytes, settings.contract)
    total = count_lines(path) if path.is_file() else 0

    with ExitStack() as stack:
        kept: IO[str] | None = None
        if rejects_path is not None:
            kept = stack.enter_context(rejects_path.open("w", encoding="utf-8"))
        bar = stack.enter_context(
            tqdm(total=total, unit=" lines", file=sys.stderr, disable=None, desc=path.name)
        )

        def on_reject(rejected: Rejected) -> None:
            tqdm.write(f"line {rejected.line}: {rejected.reason}", file=sys.stderr)
            if kept is not None:
                value = rejected.value.decode("utf-8", errors="replace")
                record = {"line": rejected.line, "reason": rejected.reason, "value": value}
                kept.write(json.dumps(record, ensure_ascii=False) + "\n")

        importer = Importer(
            limits,
            origin_topic(path.name),
            batch_size=batch_size or settings.kafka.max_poll_records,
            on_reject=on_reject,
            on_progress=lambda line: bar.update(max(0, line - bar.n)),
        )
        if not dry_run:
            _attach_pipeline(importer, stack, settings)
        report = importer.run(path, fmt=fmt, source=source)

    rate = report.valid / report.seconds if report.seconds else 0.0
    if dry_run:
        click.echo(
            f"dry run of {path}: {report.valid:,} valid line(s), {report.rejected:,} rejected; "
            "nothing written"
        )
    else:
        click.echo(
            f"imported {path} as {report.origin} in {report.seconds:.1f} s ({rate:,.0f} stories/s):"
            f" {report.inserted:,} new, {report.updated:,} updated, {report.unchanged:,} already"
            f" stored (unchanged), {report.superseded:,} superseded by a later line;"
            f" {report.rejected:,} line(s) rejected"
            + (f", {report.db_refused:,} refused by the database" if report.db_refused else "")
        )
        _note_history(report, settings)
    if report.rejected or report.db_refused:
        sys.exit(1)


def _attach_pipeline(importer: Importer, stack: ExitStack, settings: Settings) -> None:
    """The consumer's batch step on this database and model (loaded only for a real run)."""
    from monitor.entities.resolve import resolver_from_settings
    from monitor.ingest.pipeline import BatchProcessor
    from monitor.nlp.classifier import Classifier
    from monitor.store.db import make_sessionmaker, open_migrated

    resolver = resolver_from_settings(settings.entities)  # a bad dictionary stops us here
    engine = open_migrated(settings.database.url, echo=settings.database.echo)
    stack.callback(engine.dispose)
    importer.sessions = make_sessionmaker(engine)
    classifier = Classifier.from_settings(settings.model)
    importer.processor = BatchProcessor(
        classifier,
        importer.sessions,
        limits=importer.limits,
        resolver=resolver,
    )


def _note_history(report: ImportReport, settings: Settings) -> None:
    """Where the stories landed, and whether the spike detector will count any of them."""
    from monitor.ingest.backfill import inside_detector_span

    if report.published:
        oldest, newest = (moment.isoformat(timespec="seconds") for moment in report.published)
        click.echo(
            f"published {oldest} .. {newest}; hourly rollup refreshed for "
            f"{report.rollup_hours:,} hour(s)"
        )
        span = timedelta(seconds=settings.alerts.window_s + settings.alerts.baseline_s)
        if inside_detector_span(report, span, datetime.now(UTC)):
            click.echo(
                f"note: some stories are from the last {span.total_seconds() / 3600:g} h, the "
                "spike detector's window and baseline: its next evaluation counts them "
                "(docs/alerts.md, imported history)"
            )
