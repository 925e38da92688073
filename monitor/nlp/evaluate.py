"""Score a checkpoint on a labelled CSV, through the same Classifier the consumer uses.

Tasks: `topic` and `sentiment` read `text,label` CSVs (story level); `entity` reads
`text,entity,label` CSVs (the sentiment towards the entity). `--predictions` writes every row
with its gold label, the prediction and its confidence, so a user can see which rows were wrong.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Literal

import numpy as np

from monitor.nlp import data as nlp_data
from monitor.nlp.checkpoint import load_checkpoint
from monitor.nlp.classifier import Classifier
from monitor.nlp.labels import SENTIMENTS
from monitor.nlp.metrics import report
from monitor.nlp.sources import locate_loosely, text_key
from monitor.nlp.text import normalize
from monitor.settings import ModelSettings

Split = Literal["all", "train", "validation"]
TASKS = ("sentiment", "topic", "entity")


def evaluate(
    model: ModelSettings | Path | str,
    csv_path: Path | str,
    task: str,
    *,
    split: Split = "all",
    predictions: Path | None = None,
    domain: str = "news",
) -> dict[str, Any]:
    """accuracy, macro_f1, n, per_class and the confusion matrix of one task's head.

    `model`: the model as settings configure it (checkpoint, device, int8, mixed precision), or
    a checkpoint's path, run on the default settings at the checkpoint's own max length.
    `split="validation"` scores only the rows the checkpoint's training held out (a pure
    function of the file and the split stored in the checkpoint), so the figures in MODEL.md
    can be reproduced from the training CSVs. For `entity`, rows whose entity cannot be found
    in the text (as training finds it) are left out and counted in `unlocated`. `domain`
    ("news", or "tweet" for TFNS) matters only for checkpoints trained with domain tokens."""
    if task not in TASKS:
        raise nlp_data.DataError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    names = SENTIMENTS if task == "entity" else nlp_data.task_labels(task)
    if isinstance(model, ModelSettings):
        checkpoint = load_checkpoint(model.checkpoint)
    else:  # a bare checkpoint reads as many tokens as it was trained with
        checkpoint = load_checkpoint(model)
        model = ModelSettings(checkpoint=Path(model), max_length=checkpoint.max_length)
    rows = _read(csv_path, task, names)
    rows = _select(rows, split, checkpoint.extra.get("split"))
    unlocated = 0
    if task == "entity":
        located = [(row, locate_loosely(row[0], normalize(row[1]))) for row in rows]
        unlocated = sum(1 for _, span in located if span is None)
        rows = [row for row, span in located if span is not None]
        mentions = [[span] for _, span in located if span is not None]
    if not rows:
        raise nlp_data.DataError(f"{csv_path}: no rows to evaluate")
    try:
        classifier = Classifier.from_settings(model, checkpoint=checkpoint, domain=domain)
    except ValueError as exc:
        raise nlp_data.DataError(str(exc)) from None
    head_names = checkpoint.topics if task == "topic" else checkpoint.sentiments
    if tuple(head_names) != names:
        raise nlp_data.DataError(f"checkpoint's {task} labels differ from the project's")
    texts = [text for text, _, _ in rows]
    if task == "entity":
        scores = classifier.scores(texts, mentions)
        # a mention not even its sentence lets the model read is scored as its story
        probs = np.stack(
            [
                (entity[0] if entity[0] is not None else story).numpy()
                for entity, story in zip(scores.entities, scores.sentiment, strict=True)
            ]
        )
    else:
        scores = classifier.scores(texts)
        probs = (scores.topic if task == "topic" else scores.sentiment).numpy()
    gold = np.array([label for _, _, label in rows])
    result = report(gold, probs.argmax(-1), names)
    if predictions is not None:
        _write_predictions(predictions, rows, probs, names, task)
    extra = {"unlocated": unlocated} if task == "entity" else {}
    return {
        "task": task,
        "split": split,
        "checkpoint": classifier.version,
        "precision": classifier.precision,
        **result,
        **extra,
    }


Row = tuple[str, str, int]  # normalised text, entity ("" for story tasks), gold label index


def _read(path: Path | str, task: str, names: tuple[str, ...]) -> list[Row]:
    if task == "entity":
        entity_rows = nlp_data.read_entity_csv(path, names)
        return [
            (normalize(t), e, int(label))
            for t, e, label in zip(
                entity_rows.texts, entity_rows.entities, entity_rows.labels, strict=True
            )
        ]
    labelled = nlp_data.read_csv(path, names)
    return [
        (normalize(t), "", int(label))
        for t, label in zip(labelled.texts, labelled.labels, strict=True)
    ]


def _select(rows: list[Row], split: Split, stored: dict[str, Any] | None) -> list[Row]:
    """The rows of one side of the checkpoint's split. SEntFiN files (any row among the stored
    held-out headlines) are split by headline; other files by the stratified per-file rule."""
    if split == "all":
        return rows
    if not stored:
        raise nlp_data.DataError("the checkpoint records no validation split; use split 'all'")
    held_out = set(stored.get("sentfin_valid", ()))
    keys = [text_key(text) for text, _, _ in rows]
    if held_out & set(keys):
        inside = [key in held_out for key in keys]
    else:
        labels = np.array([label for _, _, label in rows])
        _, valid_rows = nlp_data.stratified_split(
            labels, fraction=float(stored["fraction"]), seed=int(stored["seed"])
        )
        inside = np.isin(np.arange(len(rows)), valid_rows).tolist()
    want = split == "validation"
    return [row for row, is_valid in zip(rows, inside, strict=True) if is_valid == want]


def _write_predictions(
    path: Path, rows: list[Row], probs: np.ndarray, names: tuple[str, ...], task: str
) -> None:
    """One CSV row per scored row: text, (entity), gold, predicted, confidence, correct."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        entity = ["entity"] if task == "entity" else []
        writer.writerow(["text", *entity, "gold", "predicted", "confidence", "correct"])
        for (text, name, gold), p in zip(rows, probs, strict=True):
            best = int(p.argmax())
            writer.writerow(
                [
                    text,
                    *([name] if entity else []),
                    names[gold],
                    names[best],
                    f"{p[best]:.4f}",
                    gold == best,
                ]
            )


def format_report(result: dict[str, Any]) -> str:
    """A plain-text table: one line per class, then accuracy and macro-F1."""
    width = max(len(name) for name in result["per_class"]) + 2
    lines = [
        f"{result['task']} · {result['checkpoint']} ({result['precision']}) · "
        f"split={result['split']} · n={result['n']}",
        f"{'label':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for name, row in result["per_class"].items():
        lines.append(
            f"{name:<{width}}{row['precision']:>10.3f}{row['recall']:>10.3f}"
            f"{row['f1']:>10.3f}{row['support']:>10d}"
        )
    lines.append(f"accuracy {result['accuracy']:.4f}   macro-F1 {result['macro_f1']:.4f}")
    if result.get("unlocated"):
        lines.append(f"{result['unlocated']} rows left out: their entity is not in the text")
    return "\n".join(lines)
