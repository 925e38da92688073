"""The distillation transfer set and the teachers' soft labels on it.

The student learns the teachers' function on many more texts than the labelled ones:
- the training stories (with their labels, and their SEntFiN entity mentions),
- augmented copies of them (masked / cropped: `monitor.nlp.augment`), unlabelled,
- a seeded sample of unlabelled Reuters financial headlines (news the labelled sets do not
  cover: other markets, other years, other desks), each with up to `mentions` candidate entity
  mentions (runs of capitalised words) for the entity head.
The teachers label every story for topic and sentiment and every mention for entity sentiment;
the logits are cached, keyed by everything that shapes them.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from monitor.nlp.augment import AugmentConfig, augment_set
from monitor.nlp.batching import EncodedSet, encode_set
from monitor.nlp.data import read_rows
from monitor.nlp.model import IGNORE_INDEX
from monitor.nlp.sources import Mentions, Stories
from monitor.nlp.teacher import (
    TeacherConfig,
    TeacherOutput,
    fit_teacher,
    load_cached,
    load_weights,
    save_cached,
    save_weights,
    teacher_logits,
    validate_teacher,
)
from monitor.nlp.text import normalize
from monitor.nlp.tokenizer import minilm_wordpiece

# a run of up to four capitalised words ("Clydesdale Bank", "U.S. Democrats", "BSkyB")
_CANDIDATE = re.compile(r"(?<![\w'])[A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*){0,3}")


@dataclass(frozen=True)
class UnlabelledConfig:
    texts: int = 0  # Reuters headlines sampled into the transfer set; 0 = none
    mentions: int = 2  # candidate entity mentions per headline, at most


def candidate_mentions(text: str, limit: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Up to `limit` distinct capitalised-word runs of `text`, picked at random, in text order."""
    found: dict[str, tuple[int, int]] = {}
    for match in _CANDIDATE.finditer(text):
        name = match.group(0).rstrip(".-")
        if len(name) >= 2 and name.lower() not in found:
            found[name.lower()] = (match.start(), match.start() + len(name))
    spans = list(found.values())
    if len(spans) > limit:
        picked = rng.choice(len(spans), size=limit, replace=False)
        spans = [spans[i] for i in sorted(picked)]
    return spans


def unlabelled_stories(path: Path, config: UnlabelledConfig, *, seed: int) -> Stories:
    """A seeded sample of `config.texts` headlines of a `text` CSV, with candidate mentions."""
    rng = np.random.default_rng(seed)
    rows = read_rows(path, ("text",))
    picked = rng.choice(len(rows), size=min(config.texts, len(rows)), replace=False)
    texts = [normalize(rows[i]["text"]) for i in np.sort(picked)]
    story, spans = [], []
    for i, text in enumerate(texts):
        for span in candidate_mentions(text, config.mentions, rng):
            story.append(i)
            spans.append(span)
    mentions = Mentions(
        np.array(story, dtype=np.int64),
        np.array(spans, dtype=np.int64).reshape(-1, 2),
        np.full(len(story), IGNORE_INDEX, dtype=np.int64),
    )
    labels = np.full((len(texts), 2), IGNORE_INDEX, dtype=np.int64)
    return Stories(texts, labels, mentions)


def transfer_set(
    train_set: EncodedSet,
    augment: AugmentConfig,
    unlabelled: Stories | None,
    *,
    max_length: int,
    seed: int,
    news_token: int | None = None,
) -> EncodedSet:
    """The training set, then its augmented copies, then the unlabelled stories. With domain
    tokens, `news_token` goes on the unlabelled (news) stories; every training row carries its
    own already, and augmentation keeps it in place."""
    parts = [train_set]
    if augment.copies:
        mask_id = minilm_wordpiece().token_id("[MASK]")
        lead = 1 if news_token is None else 2
        parts.append(augment_set(train_set, augment, mask_id=mask_id, seed=seed, lead=lead))
    if unlabelled is not None and len(unlabelled):
        parts.append(encode_set(unlabelled, max_length=max_length, prefix=news_token))
    return EncodedSet.concat(parts) if len(parts) > 1 else train_set


def teacher_targets(
    teacher: TeacherConfig,
    cache: Path,
    labelled: EncodedSet,
    transfer: EncodedSet,
    valid_sets: dict[str, EncodedSet],
    names: dict[str, tuple[str, ...]],
    class_weights: dict[str, torch.Tensor],
    *,
    data_hash: str,
    seed: int,
    max_length: int,
    transfer_key: str,
    device: torch.device,
    progress: bool,
) -> TeacherOutput:
    """The teachers' averaged logits on the transfer set, from the cache when present. Each
    member is fine-tuned on the `labelled` training rows only (never on validation rows), or
    reloaded when an earlier run with the same data and teacher settings saved it."""
    keys = [
        teacher.key(data_hash, TeacherConfig.member_seed(seed, m), max_length)
        for m in range(teacher.members)
    ]
    targets_key = hashlib.sha256(f"{keys}:{transfer_key}".encode()).hexdigest()[:16]
    cached = load_cached(cache / f"targets-{targets_key}.pt")
    if cached is not None:
        return cached
    started = time.monotonic()
    teachers = []
    for member, key in enumerate(keys):
        model = load_weights(cache / f"teacher-{key}.pt", names)
        if model is None:
            model = fit_teacher(
                teacher,
                labelled,
                valid_sets,
                names,
                class_weights,
                seed=TeacherConfig.member_seed(seed, member),
                device=device,
                progress=progress,
            )
            save_weights(cache / f"teacher-{key}.pt", model)
        teachers.append(model)
    logits = teacher_logits(teachers, transfer, device, progress=progress)
    validation = validate_teacher(teachers, valid_sets, names, device)
    output = TeacherOutput(logits, validation, time.monotonic() - started)
    save_cached(cache / f"targets-{targets_key}.pt", output)
    return output


def transfer_key(augment: AugmentConfig, unlabelled: UnlabelledConfig, unlabelled_hash: str) -> str:
    """What, besides the teachers, shapes the transfer set (part of the targets' cache key)."""
    return f"{asdict(augment)}:{asdict(unlabelled)}:{unlabelled_hash}"
