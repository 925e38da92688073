"""The labelled training sources, normalised, located and split the same way on every run.

- TFNS tweets (`tfns_topic_train.csv`, `tfns_sentiment_train.csv`): each file split on its own,
  stratified by label (`data.stratified_split`, 15 %, seed 13: the split the first checkpoints
  used, so figures compare).
- SEntFiN news headlines (`sentfin_headlines.csv`: headline sentiment; `sentfin_entities.csv`:
  sentiment towards each entity of a headline). One story per distinct headline, carrying its
  headline label (when it has one) and its entity mentions. The split is by headline, so no
  headline sits on both sides across the two files, stratified by the headline's label
  ("mixed" for the headlines that only the entity file has: their entities disagree).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.nlp import data as nlp_data
from monitor.nlp.labels import SENTIMENTS
from monitor.nlp.mentions import EntityNotFoundError, Span, locate
from monitor.nlp.model import IGNORE_INDEX
from monitor.nlp.text import normalize

SENTFIN_HEADLINES = "sentfin_headlines.csv"
SENTFIN_ENTITIES = "sentfin_entities.csv"
REUTERS = "reuters_headlines_unlabelled.csv"
TOPIC, SENTIMENT = 0, 1  # label columns of Stories


@dataclass(frozen=True)
class Mentions:
    """Entity mentions of a set of stories: mention m is `spans[m]` of story `story[m]`
    (character spans before encoding, token spans after) with label `labels[m]`."""

    story: np.ndarray  # (M,) int64
    spans: np.ndarray  # (M, 2) int64, [start, end)
    labels: np.ndarray  # (M,) int64, IGNORE_INDEX when unlabelled

    def __len__(self) -> int:
        return len(self.story)

    @staticmethod
    def empty() -> Mentions:
        return Mentions(np.zeros(0, np.int64), np.zeros((0, 2), np.int64), np.zeros(0, np.int64))

    def subset(self, rows: np.ndarray) -> Mentions:
        """The mentions of stories `rows`, renumbered to positions in `rows`."""
        size = max(int(self.story.max(initial=-1)), int(rows.max(initial=-1))) + 1
        position = np.full(size, -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        renumbered = position[self.story]
        keep = renumbered >= 0
        return Mentions(renumbered[keep], self.spans[keep], self.labels[keep])

    @staticmethod
    def concat(parts: list[Mentions], sizes: list[int]) -> Mentions:
        """Mentions of concatenated story sets of `sizes` stories each."""
        starts = np.cumsum([0, *sizes[:-1]])
        return Mentions(
            np.concatenate([p.story + s for p, s in zip(parts, starts, strict=True)]),
            np.concatenate([p.spans for p in parts]).reshape(-1, 2),
            np.concatenate([p.labels for p in parts]),
        )


@dataclass(frozen=True)
class Stories:
    """Normalised texts, their (topic, sentiment) labels and their entity mentions."""

    texts: list[str]
    labels: np.ndarray  # (N, 2): topic, sentiment; IGNORE_INDEX where a text has none
    mentions: Mentions

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, rows: np.ndarray) -> Stories:
        return Stories([self.texts[i] for i in rows], self.labels[rows], self.mentions.subset(rows))


@dataclass(frozen=True)
class Sources:
    train: dict[str, Stories]  # "tfns/topic", "tfns/sentiment", "sentfin"
    valid: dict[str, Stories]
    files: list[Path]  # every file read, for the data hash
    unlocated: int  # entity rows whose entity could not be found in its text (left out)
    sentfin_valid: list[str]  # text_key of every held-out SEntFiN headline


def source_domain(key: str) -> str:
    """What the texts of a source (or of its validation report) are: "tweet" for TFNS, "news"
    for the rest (SEntFiN, Reuters, the stream); picks the domain token (`TrainConfig`)."""
    return "tweet" if key.startswith("tfns/") else "news"


def text_key(text: str) -> str:
    """A short digest of a normalised text: the checkpoint lists held-out headlines by it."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def locate_loosely(text: str, entity: str) -> Span | None:
    """`mentions.locate`, then the entity as the start of a longer word (SEntFiN writes
    possessives without the apostrophe: "HULs", "Nifty50"); None when neither finds it."""
    try:
        return locate(text, entity)
    except EntityNotFoundError:
        pass
    lowered, needle = text.lower(), " ".join(entity.split()).lower()
    at = lowered.find(needle)
    while needle and at >= 0:
        if at == 0 or not lowered[at - 1].isalnum():
            return at, at + len(needle)
        at = lowered.find(needle, at + 1)
    return None


def load_sources(data_dir: Path, *, fraction: float, seed: int, sentfin: bool = True) -> Sources:
    """Every labelled source, split into train and validation stories."""
    train: dict[str, Stories] = {}
    valid: dict[str, Stories] = {}
    files = []
    for task, filename in nlp_data.FILES.items():
        path = Path(data_dir) / filename
        stories = _tfns(path, task)
        train_rows, valid_rows = nlp_data.stratified_split(
            stories.labels[:, TOPIC if task == "topic" else SENTIMENT], fraction=fraction, seed=seed
        )
        train[f"tfns/{task}"], valid[f"tfns/{task}"] = (
            stories.subset(train_rows),
            stories.subset(valid_rows),
        )
        files.append(path)
    unlocated, held_out = 0, []
    if sentfin:
        headlines, entities = Path(data_dir) / SENTFIN_HEADLINES, Path(data_dir) / SENTFIN_ENTITIES
        stories, strata, unlocated = _sentfin(headlines, entities)
        train_rows, valid_rows = nlp_data.stratified_split(strata, fraction=fraction, seed=seed)
        train["sentfin"], valid["sentfin"] = stories.subset(train_rows), stories.subset(valid_rows)
        held_out = sorted(text_key(t) for t in valid["sentfin"].texts)
        files += [headlines, entities]
    return Sources(train, valid, files, unlocated, held_out)


def _tfns(path: Path, task: str) -> Stories:
    labelled = nlp_data.read_csv(path, nlp_data.task_labels(task))
    labels = np.full((len(labelled), 2), IGNORE_INDEX, dtype=np.int64)
    labels[:, TOPIC if task == "topic" else SENTIMENT] = labelled.labels
    return Stories([normalize(t) for t in labelled.texts], labels, Mentions.empty())


def _sentfin(headlines_path: Path, entities_path: Path) -> tuple[Stories, np.ndarray, int]:
    """One story per distinct headline of the two files, its split stratum, unlocated rows."""
    headlines = nlp_data.read_csv(headlines_path, SENTIMENTS)
    entities = nlp_data.read_entity_csv(entities_path, SENTIMENTS)
    index: dict[str, int] = {}
    texts: list[str] = []
    for raw in [*headlines.texts, *entities.texts]:
        text = normalize(raw)
        if text not in index:
            index[text] = len(texts)
            texts.append(text)
    labels = np.full((len(texts), 2), IGNORE_INDEX, dtype=np.int64)
    for raw, label in zip(headlines.texts, headlines.labels, strict=True):
        labels[index[normalize(raw)], SENTIMENT] = label
    story, spans, mention_labels, unlocated = [], [], [], 0
    for raw, entity, label in zip(entities.texts, entities.entities, entities.labels, strict=True):
        text = normalize(raw)
        span = locate_loosely(text, normalize(entity))
        if span is None:
            unlocated += 1
            continue
        story.append(index[text])
        spans.append(span)
        mention_labels.append(label)
    mentions = Mentions(
        np.array(story, dtype=np.int64),
        np.array(spans, dtype=np.int64).reshape(-1, 2),
        np.array(mention_labels, dtype=np.int64),
    )
    strata = np.where(labels[:, SENTIMENT] == IGNORE_INDEX, len(SENTIMENTS), labels[:, SENTIMENT])
    return Stories(texts, labels, mentions), strata, unlocated
