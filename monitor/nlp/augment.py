"""Token-level augmentation that widens the distillation transfer set.

A student learns a teacher's function best from many inputs near the training texts, not only
the texts themselves (Tang et al., 2019, "Distilling Task-Specific Knowledge from BERT into Simple
Neural Networks"). Each copy masks some WordPieces ([MASK]) and sometimes keeps only a contiguous
span of the text; the teacher labels every copy, so a copy that lost its key word gets the
teacher's (less certain) view of it rather than the original's hard label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from monitor.nlp.batching import EncodedSet
from monitor.nlp.model import IGNORE_INDEX
from monitor.nlp.sources import Mentions


@dataclass(frozen=True)
class AugmentConfig:
    copies: int = 0  # augmented copies per training text; 0 = none
    mask_prob: float = 0.1  # chance that a WordPiece is replaced by [MASK]
    crop_prob: float = 0.25  # chance that a copy keeps only a contiguous span
    min_keep: float = 0.6  # a kept span holds at least this share of the text's pieces


def augment_ids(
    input_ids: torch.Tensor,
    lengths: torch.Tensor,
    config: AugmentConfig,
    *,
    mask_id: int,
    seed: int,
    lead: int = 1,
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """`config.copies` augmented copies of each row (row-major: all copies of row 0 first), and
    each copy's kept window (first token position, number of tokens) of its source row.

    Rows start with `lead` fixed tokens ([CLS], then a domain token if any) and end with [SEP]
    (the tokenizer's template); they stay in place, never masked or cropped."""
    rng = np.random.default_rng(seed)
    ids = input_ids.numpy()
    lens = lengths.numpy()
    out = np.zeros((len(ids) * config.copies, ids.shape[1]), dtype=ids.dtype)
    out_lens = np.zeros(len(ids) * config.copies, dtype=lens.dtype)
    windows = np.zeros((len(ids) * config.copies, 2), dtype=np.int64)
    for i, (row, length) in enumerate(zip(ids, lens, strict=True)):
        inner = row[lead : length - 1]  # the pieces between the lead and [SEP]
        for c in range(config.copies):
            pieces, start = inner.copy(), 0
            if len(pieces) > 3 and rng.random() < config.crop_prob:
                keep = int(
                    rng.integers(
                        max(1, int(np.ceil(config.min_keep * len(pieces)))), len(pieces) + 1
                    )
                )
                start = int(rng.integers(0, len(pieces) - keep + 1))
                pieces = pieces[start : start + keep]
            masked = rng.random(len(pieces)) < config.mask_prob
            pieces[masked] = mask_id
            j = i * config.copies + c
            out[j, :lead] = row[:lead]
            out[j, lead : lead + len(pieces)] = pieces
            out[j, lead + len(pieces)] = row[length - 1]
            out_lens[j] = len(pieces) + lead + 1
            windows[j] = start + lead, len(pieces)  # position in the row, after the lead
    return torch.from_numpy(out), torch.from_numpy(out_lens), windows


def augment_set(
    data: EncodedSet, config: AugmentConfig, *, mask_id: int, seed: int, lead: int = 1
) -> EncodedSet:
    """Unlabelled augmented copies of a set's stories, with the mentions that survive the crop
    moved to their new token positions (a mention cut by the crop is left out)."""
    ids, lengths, windows = augment_ids(
        data.input_ids, data.lengths, config, mask_id=mask_id, seed=seed, lead=lead
    )
    m = data.mentions
    copies = np.arange(config.copies)
    story = (m.story[:, None] * config.copies + copies[None, :]).ravel()  # (M * copies,)
    spans = np.repeat(m.spans, config.copies, axis=0)
    first, kept = windows[story, 0], windows[story, 1]
    inside = (spans[:, 0] >= first) & (spans[:, 1] <= first + kept)
    shifted = spans - first[:, None] + lead
    mentions = Mentions(
        story[inside], shifted[inside], np.full(int(inside.sum()), IGNORE_INDEX, dtype=np.int64)
    )
    unlabelled = np.full((len(lengths), 2), IGNORE_INDEX, dtype=data.labels.dtype)
    return EncodedSet(ids, lengths, unlabelled, mentions)
