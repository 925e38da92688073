"""Silences: a person mutes alert scopes for a while, with a reason (Alertmanager's convention).

A silence matches a scope by name (`Energy | Oil`, `*` for the market) or by a glob pattern that
must match the whole scope (`Energy*`, `*Oil*`; Alertmanager's `=~` in spirit, but a glob: a
regular expression typed in a form could backtrack for ever, a glob cannot). A watchlist alert's
scope is matched by its key and by `entity:<key>` (`scope_names`). While one is active
(started, not ended, not expired by hand), a matching scope opens no alert and sends no
`alert.firing` (the detector holds the firing back: `held_back`); when it ends and the spike
persists, the alert opens at the next evaluation. An alert already open when the silence starts
stays open and resolves as usual; its `alert.resolved` event carries the silence
(docs/alerts.md). Author and reason are user text: stored bounded, shown as text.

Every function takes the session keyword-only; the caller owns the transaction.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from monitor.alerts.lifecycle import ScopeState
from monitor.errors import MonitorError
from monitor.store.models import Silence
from monitor.store.sql import as_utc

MAX_MATCHER = 256
MAX_AUTHOR = 128
MAX_REASON = 1000
ACTIVE, PENDING, EXPIRED = "active", "pending", "expired"
TOPIC = "topic"  # alerts.scope_kind; the other kind is 'entity' (monitor.alerts.watchlist)


class SilenceError(MonitorError):
    """A silence that cannot be created or expired; the message says why."""


@dataclass(frozen=True)
class SilenceRow:
    id: int
    matcher: str
    is_glob: bool
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str
    created_at: datetime
    expired_at: datetime | None
    expired_by: str | None

    @classmethod
    def from_orm(cls, row: Silence) -> SilenceRow:
        return cls(
            id=row.id,
            matcher=row.matcher,
            is_glob=row.is_glob,
            starts_at=as_utc(row.starts_at),
            ends_at=as_utc(row.ends_at),
            created_by=row.created_by,
            reason=row.reason,
            created_at=as_utc(row.created_at),
            expired_at=as_utc(row.expired_at) if row.expired_at else None,
            expired_by=row.expired_by,
        )

    @property
    def until(self) -> datetime:
        """When it stops muting: its end, or when it was expired by hand."""
        return min(self.ends_at, self.expired_at) if self.expired_at else self.ends_at

    def state(self, at: datetime) -> str:
        if at >= self.until:
            return EXPIRED
        return ACTIVE if at >= self.starts_at else PENDING

    def matches(self, scope: str, kind: str = TOPIC) -> bool:
        """Whether it mutes the scope: any of its `scope_names` matches the matcher."""
        if self.is_glob:
            return any(fnmatch.fnmatchcase(n, self.matcher) for n in scope_names(scope, kind))
        return self.matcher in scope_names(scope, kind)

    def covers(self, scope: str, start: datetime, end: datetime, kind: str = TOPIC) -> bool:
        """Whether it muted `scope` at some time in [start, end]."""
        return self.matches(scope, kind) and self.starts_at <= end and self.until > start

    @property
    def describe(self) -> str:
        return f"scope ~ {self.matcher}" if self.is_glob else f"scope = {self.matcher}"

    def payload(self) -> dict[str, Any]:
        """How webhook payloads name it."""
        return {
            "id": self.id,
            "matcher": self.matcher,
            "glob": self.is_glob,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.until.isoformat(),
            "created_by": self.created_by,
            "reason": self.reason,
        }


def check_matcher(matcher: str) -> str:
    """The matcher, stripped; SilenceError when it is empty or too long."""
    matcher = matcher.strip()
    if not matcher or len(matcher) > MAX_MATCHER:
        raise SilenceError(f"a matcher needs 1 to {MAX_MATCHER} characters")
    return matcher


def _text(value: str, what: str, limit: int) -> str:
    value = " ".join(value.split())
    if not value:
        raise SilenceError(f"a silence needs its {what}")
    return value[:limit]


def add_silence(
    session: Session,
    *,
    matcher: str,
    ends_at: datetime,
    created_by: str,
    reason: str,
    is_glob: bool = False,
    starts_at: datetime | None = None,
    now: datetime | None = None,
) -> SilenceRow:
    """Create a silence from `starts_at` (default now) to `ends_at`, which must be later than
    both its start and now."""
    now = now or datetime.now(UTC)
    starts_at = as_utc(starts_at) if starts_at else now
    ends_at = as_utc(ends_at)
    if ends_at <= max(starts_at, now):
        raise SilenceError("a silence must end after it starts, and in the future")
    row = Silence(
        matcher=check_matcher(matcher),
        is_glob=is_glob,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=_text(created_by, "author", MAX_AUTHOR),
        reason=_text(reason, "reason", MAX_REASON),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return SilenceRow.from_orm(row)


def expire_silence(
    session: Session, *, silence_id: int, by: str, now: datetime | None = None
) -> SilenceRow:
    """End a silence now (it stays listed as expired, with who ended it)."""
    now = now or datetime.now(UTC)
    row = session.get(Silence, silence_id, with_for_update=True)
    if row is None:
        raise SilenceError(f"there is no silence #{silence_id}")
    current = SilenceRow.from_orm(row)
    if current.state(now) == EXPIRED:
        raise SilenceError(
            f"silence #{silence_id} has already ended ({current.until:%Y-%m-%d %H:%M} UTC)"
        )
    row.expired_at = now
    row.expired_by = _text(by, "name of who expires it", MAX_AUTHOR)
    session.flush()
    return SilenceRow.from_orm(row)


def list_silences(
    session: Session,
    *,
    include_expired: bool = False,
    now: datetime | None = None,
    limit: int = 200,
) -> list[SilenceRow]:
    """Active and pending silences, soonest-ending first; with `include_expired`, all of them
    (newest first among the ended)."""
    now = now or datetime.now(UTC)
    query = select(Silence).order_by(Silence.ends_at.desc(), Silence.id.desc()).limit(limit)
    if not include_expired:
        query = query.where(Silence.ends_at > now, Silence.expired_at.is_(None))
    rows = [SilenceRow.from_orm(row) for row in session.scalars(query)]
    live = sorted((r for r in rows if r.state(now) != EXPIRED), key=lambda r: r.until)
    return live + [r for r in rows if r.state(now) == EXPIRED]


def active_silences(session: Session, *, at: datetime | None = None) -> list[SilenceRow]:
    """The silences muting now (or at `at`)."""
    at = at or datetime.now(UTC)
    query = select(Silence).where(
        Silence.starts_at <= at,
        Silence.ends_at > at,
        or_(Silence.expired_at.is_(None), Silence.expired_at > at),
    )
    return [SilenceRow.from_orm(row) for row in session.scalars(query)]


def scope_names(scope: str, kind: str = TOPIC) -> tuple[str, ...]:
    """What a matcher is compared with: a topic's name; for a watchlist alert (kind `entity`)
    its key and the kind-qualified key (`AAPL`, `entity:AAPL`), so `entity:*` mutes every
    watchlist alert and a topic matcher never mutes an entity."""
    return (scope,) if kind == TOPIC else (scope, f"{kind}:{scope}")


def silencing(active: list[SilenceRow], scope: str, kind: str = TOPIC) -> SilenceRow | None:
    """The silence that mutes `scope` longest, if any does."""
    matching = [s for s in active if s.matches(scope, kind)]
    return max(matching, key=lambda s: s.until) if matching else None


def covering(
    session: Session, *, scope: str, start: datetime, end: datetime, kind: str = TOPIC
) -> list[SilenceRow]:
    """Silences that muted `scope` at some time in [start, end] (an alert's life)."""
    query = select(Silence).where(Silence.starts_at <= end, Silence.ends_at > start)
    rows = [SilenceRow.from_orm(row) for row in session.scalars(query)]
    return [row for row in rows if row.covers(scope, start, end, kind)]


def held_back(before: ScopeState) -> ScopeState:
    """The state of a scope whose firing a silence held back: still not firing, its run of
    significant evaluations kept, so it fires at the first evaluation after the silence if the
    spike is still there."""
    return replace(before, above=before.above + 1, below=0)


DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")


def parse_duration(text: str) -> timedelta:
    """'90m', '2h', '1d12h' → a timedelta; SilenceError for anything else."""
    match = DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise SilenceError(f"{text[:20]!r} is not a duration like 30m, 2h or 1d12h")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)
