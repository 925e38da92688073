"""What a training run leaves behind: the checkpoint (with its calibration temperatures), the
metrics JSON beside it, and a confusion-matrix plot per validation report."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from monitor.nlp import data as nlp_data
from monitor.nlp.batching import EncodedSet, Heads, reports, validation_score
from monitor.nlp.calibration import calibrate
from monitor.nlp.checkpoint import Checkpoint, save_checkpoint, weights_digest
from monitor.nlp.metrics import plot_confusion
from monitor.nlp.model import NewsLSTM
from monitor.nlp.teacher import TeacherOutput
from monitor.nlp.tokenizer import domain_token_ids, minilm_wordpiece

if TYPE_CHECKING:
    from monitor.nlp.train import TrainConfig, TrainResult

MAX_CHECKPOINT_BYTES = 50 * 1024 * 1024
SUMMARY_KEYS = ("accuracy", "macro_f1", "n")


def write_outputs(
    model: NewsLSTM,
    config: TrainConfig,
    *,
    valid_sets: dict[str, EncodedSet],
    outputs: dict[str, Heads],
    names: dict[str, tuple[str, ...]],
    data_hash: str,
    split: dict[str, Any],
    history: list[dict[str, float]],
    seconds: float,
    teacher: TeacherOutput | None,
    unlocated: int,
) -> TrainResult:
    from monitor.nlp.train import TrainResult

    scores = reports(outputs, valid_sets, names)
    temperatures, ece = calibrate(outputs, valid_sets) if config.calibrate else ({}, {})
    model.cpu().eval()
    today = datetime.now(UTC).strftime("%Y%m%d")
    version = f"lstm-news-{today}-{weights_digest(model)}"
    metrics: dict[str, Any] = {
        "validation": {name: {k: s[k] for k in SUMMARY_KEYS} for name, s in scores.items()},
        "val_score": round(validation_score(scores), 4),
        "calibration": ece,
        "best_epoch": max(history, key=lambda h: h["val_score"])["epoch"],
        "epochs_run": len(history),
        "train_seconds": round(seconds, 1),
        "sentfin_unlocated_entity_rows": unlocated,
    }
    if teacher is not None:
        metrics["teacher"] = {
            "validation": {
                name: {k: s[k] for k in SUMMARY_KEYS} for name, s in teacher.validation.items()
            },
            "transfer_texts": len(teacher.logits["topic"]),
            "transfer_mentions": len(teacher.logits.get("entity", [])),
            "seconds": round(teacher.seconds, 1),
        }
    train_config = _jsonable(asdict(config))
    output = Path(config.output)
    save_checkpoint(
        Checkpoint(
            model=model,
            version=version,
            topics=list(names["topic"]),
            sentiments=list(names["sentiment"]),
            max_length=config.max_length,
            metrics=metrics,
            data_hash=data_hash,
            extra={"train_config": train_config, "split": split},
            temperatures=temperatures,
            tokenizer_spec=minilm_wordpiece().spec,
            domain_tokens=domain_token_ids() if config.domain_tokens else {},
        ),
        output,
    )
    size = output.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise nlp_data.DataError(f"{output} is {size / 2**20:.1f} MiB, over the 50 MiB limit")
    full = {
        "version": version,
        "data_hash": data_hash,
        "checkpoint_bytes": size,
        **metrics,
        "temperatures": temperatures,
        "history": history,
        "train_config": train_config,
        "validation_report": scores,
    }
    stem = output.name.removesuffix(".pt")
    output.with_name(f"{stem}.metrics.json").write_text(json.dumps(full, indent=2) + "\n")
    for name, score in scores.items():
        head = "topic" if name.endswith("topic") else "sentiment"
        plot_confusion(
            np.array(score["confusion_matrix"]),
            names[head],
            f"{name} (validation, n={score['n']})",
            output.with_name(f"confusion_{name.replace('/', '_')}.png"),
        )
    return TrainResult(output, version, metrics, history, seconds)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value
