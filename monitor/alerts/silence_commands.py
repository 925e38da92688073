"""`monitor alerts silence add|list|expire`: the alert desk's silences from a shell."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import click
from sqlalchemy.orm import Session

from monitor.alerts import silences
from monitor.alerts.silences import SilenceError, SilenceRow


@click.group("alerts")
def alerts_group() -> None:
    """The alert desk: silences (severity and the rest are on the dashboard's Alerts page)."""


@alerts_group.group("silence")
def silence_group() -> None:
    """Mute alert scopes for a while: no alert opens and no webhook fires for them."""


def _session() -> AbstractContextManager[Session]:
    from monitor.settings import load_settings
    from monitor.store.db import command_session

    return command_session(load_settings().database.url, transaction=True)


def _time(text: str | None, what: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a time like 2025-10-01T18:00Z", param_hint=what
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _line(row: SilenceRow, now: datetime) -> str:
    until = row.until.strftime("%Y-%m-%d %H:%M UTC")
    starts = row.starts_at.strftime("%Y-%m-%d %H:%M UTC")
    expired = f", expired by {row.expired_by}" if row.expired_by else ""
    return (
        f"#{row.id} [{row.state(now)}] {row.describe} · {starts} → {until} · "
        f"by {row.created_by}{expired} · {row.reason}"
    )


@silence_group.command("add")
@click.option("--scope", "scope", default=None, help="a scope exactly: a topic, or '*' (market)")
@click.option("--match", "pattern", default=None, help="a glob over scopes, e.g. 'Energy*'")
@click.option("--duration", default=None, help="how long, e.g. 30m, 2h, 1d (default 2h)")
@click.option("--until", "until", default=None, help="or the end time (RFC 3339; UTC if no zone)")
@click.option("--starts", default=None, help="start time (default now)")
@click.option("--author", required=True, help="who silences it")
@click.option("--reason", required=True, help="why (shown on the alert)")
def add_command(
    scope: str | None,
    pattern: str | None,
    duration: str | None,
    until: str | None,
    starts: str | None,
    author: str,
    reason: str,
) -> None:
    """Create a silence on one scope (--scope) or on every scope a glob matches (--match)."""
    if (scope is None) == (pattern is None):
        raise click.UsageError("give exactly one of --scope or --match")
    if duration is not None and until is not None:
        raise click.UsageError("give --duration or --until, not both")
    now = datetime.now(UTC)
    starts_at = _time(starts, "--starts") or now
    try:
        ends_at = _time(until, "--until") or starts_at + silences.parse_duration(duration or "2h")
        with _session() as session:
            row = silences.add_silence(
                session,
                matcher=scope if scope is not None else str(pattern),
                is_glob=pattern is not None,
                starts_at=starts_at,
                ends_at=ends_at,
                created_by=author,
                reason=reason,
                now=now,
            )
    except SilenceError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"created silence {_line(row, now)}")


@silence_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="include expired silences")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per silence")
def list_command(show_all: bool, as_json: bool) -> None:
    """Active and pending silences (soonest to end first)."""
    now = datetime.now(UTC)
    with _session() as session:
        rows = silences.list_silences(session, include_expired=show_all, now=now)
    for row in rows:
        if as_json:
            click.echo(json.dumps({**row.payload(), "state": row.state(now)}, ensure_ascii=False))
        else:
            click.echo(_line(row, now))
    if not rows and not as_json:
        click.echo("no silences" if show_all else "no active or pending silences")


@silence_group.command("expire")
@click.argument("silence_id", type=int)
@click.option("--author", required=True, help="who ends it")
def expire_command(silence_id: int, author: str) -> None:
    """End a silence now."""
    now = datetime.now(UTC)
    try:
        with _session() as session:
            row = silences.expire_silence(session, silence_id=silence_id, by=author, now=now)
    except SilenceError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"expired silence {_line(row, now)}")
