"""Entity mentions: find an entity's surface string in a text, and map character spans to the
token positions the model reads.

A mention is a character span [start, end) into the *normalised* text (`monitor.nlp.text`), the
text the tokenizer sees, so offsets from the tokenizer line up with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from monitor.errors import MonitorError

Span = tuple[int, int]


class EntityNotFoundError(MonitorError):
    """An entity asked for does not occur in the text (as a whole word, any case)."""

    def __init__(self, entity: str, text: str, *, where: str = "") -> None:
        shown = text if len(text) <= 120 else text[:117] + "..."
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}entity {entity!r} does not occur in the text {shown!r}")
        self.entity = entity


@lru_cache(maxsize=4096)
def _pattern(entity: str) -> re.Pattern[str]:
    # \w-boundaries rather than \b, so entities that start or end with punctuation ("S&P",
    # "Alphabet Inc.") still need a non-word character (or the text's edge) on each side.
    return re.compile(rf"(?<!\w){re.escape(entity)}(?!\w)", re.IGNORECASE)


def locate(text: str, entity: str) -> Span:
    """The first occurrence of `entity` in `text` as a whole word, ignoring case.

    Raises EntityNotFoundError naming the entity when it does not occur (a blank entity never
    does). "Acme" is found in "ACME Corp." but not in "Acmeville"."""
    needle = " ".join(entity.split())  # the text is normalised: single spaces
    if needle:
        match = _pattern(needle).search(text)
        if match is not None:
            return match.start(), match.end()
    raise EntityNotFoundError(entity, text)


def token_span(offsets: Sequence[Span], special: Sequence[int], mention: Span) -> Span | None:
    """Token positions [first, last + 1) of the tokens that overlap the character span
    `mention`, given one encoded row's (start, end) character offsets and its special-tokens
    mask; None when no token the model saw overlaps it (the text was truncated before it)."""
    start, end = mention
    hits = [
        i
        for i, ((a, b), is_special) in enumerate(zip(offsets, special, strict=True))
        if not is_special and a < end and b > start
    ]
    if not hits or end <= start:
        return None
    return hits[0], hits[-1] + 1


WINDOW_CHARS = 240  # a late mention's window: about 50 words, inside the model's 64 tokens
_SENTENCE_END = re.compile(r"[.!?;](?= )")


def mention_window(text: str, mention: Span, width: int = WINDOW_CHARS) -> tuple[str, Span]:
    """The sentence of a normalised `text` around `mention` (cut to at most `width` characters
    at spaces, centred on the mention when the sentence is longer), and the mention's span in
    it. Why: a mention past the tokens the story's forward saw is read in its own sentence,
    not given the story's sentiment (`Classifier.scores`)."""
    start, end = mention
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    right = next((m.end() for m in _SENTENCE_END.finditer(text, end)), len(text))
    if right - left > width:
        room = max(0, width - (end - start))
        left = max(left, start - room // 2)
        right = min(right, max(end, left + width))
        if left > 0 and text[left - 1] != " ":  # never start or end inside a word
            left = min(start, text.find(" ", left) + 1 or start)
        if right < len(text) and text[right] != " ":
            right = max(end, text.rfind(" ", 0, right))
    window = text[left:right]
    lead = len(window) - len(window.lstrip())
    window = window.strip()
    return window, (start - left - lead, end - left - lead)
