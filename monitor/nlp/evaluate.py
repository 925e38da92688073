"""Score a checkpoint on a labelled CSV, through the same Classifier the consumer uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from monitor.nlp import data as nlp_data
from monitor.nlp.checkpoint import load_checkpoint
from monitor.nlp.classifier import Classifier
from monitor.nlp.metrics import report
from monitor.nlp.text import normalize

Split = Literal["all", "train", "validation"]


def evaluate(
    checkpoint_path: Path | str,
    csv_path: Path | str,
    task: str,
    *,
    split: Split = "all",
    device: str = "auto",
    batch_size: int = 256,
    quantize: bool = False,
) -> dict[str, Any]:
    """accuracy, macro_f1, n, per_class and the confusion matrix of one task's head.

    `split="validation"` scores only the rows the checkpoint's training held out (the split is
    a pure function of the file's labels and the seed/fraction stored in the checkpoint), so the
    figures in MODEL.md can be reproduced from the training CSVs.
    """
    names = nlp_data.task_labels(task)
    checkpoint = load_checkpoint(checkpoint_path)
    labelled = nlp_data.read_csv(csv_path, names)
    labelled = _select(labelled, split, checkpoint.extra.get("split"))
    if len(labelled) == 0:
        raise nlp_data.DataError(f"{csv_path}: no rows to evaluate")
    classifier = Classifier(checkpoint, device=device, batch_size=batch_size, quantize=quantize)
    head_names = checkpoint.topics if task == "topic" else checkpoint.sentiments
    if tuple(head_names) != names:
        raise nlp_data.DataError(f"checkpoint's {task} labels differ from the project's")
    topic_p, sentiment_p = classifier.probabilities([normalize(t) for t in labelled.texts])
    probs = topic_p if task == "topic" else sentiment_p
    result = report(labelled.labels, probs.argmax(-1).numpy(), names)
    return {"task": task, "split": split, "checkpoint": classifier.version, **result}


def _select(
    labelled: nlp_data.Labelled, split: Split, stored: dict[str, Any] | None
) -> nlp_data.Labelled:
    if split == "all":
        return labelled
    if not stored:
        raise nlp_data.DataError("the checkpoint records no validation split; use split 'all'")
    train_rows, valid_rows = nlp_data.stratified_split(
        labelled.labels, fraction=float(stored["fraction"]), seed=int(stored["seed"])
    )
    return labelled.subset(valid_rows if split == "validation" else train_rows)


def format_report(result: dict[str, Any]) -> str:
    """A plain-text table: one line per class, then accuracy and macro-F1."""
    width = max(len(name) for name in result["per_class"]) + 2
    lines = [
        f"{result['task']} · {result['checkpoint']} · split={result['split']} · n={result['n']}",
        f"{'label':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for name, row in result["per_class"].items():
        lines.append(
            f"{name:<{width}}{row['precision']:>10.3f}{row['recall']:>10.3f}"
            f"{row['f1']:>10.3f}{row['support']:>10d}"
        )
    lines.append(f"accuracy {result['accuracy']:.4f}   macro-F1 {result['macro_f1']:.4f}")
    return "\n".join(lines)
