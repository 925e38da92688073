"""Text normalisation shared by training and inference, so both see the same input."""

from __future__ import annotations

import html
import re

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_CASHTAG = re.compile(r"\$([A-Za-z][A-Za-z.]{0,9})\b")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Unescape HTML (`&amp;`), replace links by a token, mark cashtags, squeeze whitespace."""
    text = html.unescape(text)
    text = _URL.sub(" [url] ", text)
    text = _CASHTAG.sub(lambda m: f" $ {m.group(1)} ", text)
    return _SPACES.sub(" ", text).strip()


def model_text(headline: str, body: str | None, *, body_chars: int = 600) -> str:
    """The text the model reads: the headline, then the start of the body when there is one."""
    if body:
        return normalize(f"{headline}. {body[:body_chars]}")
    return normalize(headline)
