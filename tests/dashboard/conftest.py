"""Dashboard fixtures: stories, alerts and dead letters (through `tests/factories.py`), and a
seeded PostgreSQL database the pages are pointed at.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor.dashboard_server import APP, start_dashboard, stop_dashboard
from monitor.store.models import Alert
from monitor.store.sql import MARKET
from tests.factories import add_alert, add_dead_letter, add_story
from tests.ingest.conftest import free_port

# The dashboard's modules import each other by name, as Streamlit runs them; so do their tests.
sys.path.insert(0, str(APP.parent))

NOW = datetime.now(UTC).replace(microsecond=0)
_ids = itertools.count(1)

MakeStory = Callable[..., int]


@pytest.fixture
def make_story(clean_db: sessionmaker[Session]) -> MakeStory:
    """Write a story (ingested 2 s after it was published); returns its id.

    `versions=2` sends it twice, as an update does: the first version's classification
    (Markets, neutral) stays behind as the superseded one.
    """

    def make(
        headline: str = "Acme shares rise after earnings beat",
        *,
        topic: str = "Earnings",
        sentiment: str = "positive",
        confidence: float = 0.9,
        published_at: datetime | None = None,
        external_id: str | None = None,
        versions: int = 1,
        model_version: str = "lstm-test-1",
        **fields: Any,
    ) -> int:
        published = published_at or NOW - timedelta(minutes=5)
        external_id = external_id or f"ext-{next(_ids)}"
        for version in range(1, versions + 1):
            last = version == versions
            story_id = add_story(
                clean_db,
                headline,
                at=published,
                ingested_at=published + timedelta(seconds=2),
                topic=topic if last else "Markets",
                sentiment=sentiment if last else "neutral",
                confidence=confidence,
                external_id=external_id,
                model_version=model_version,
                **fields,
            )
        return story_id

    return make


SECTORS = {"AAPL": "Information Technology", "MSFT": "Information Technology"}


def seed_apple(make_story: MakeStory, negative_headline: str) -> None:
    """Apple positive three days ago; negative today, in six stories (`negative_headline`
    formatted with i) that are positive overall and positive towards Microsoft."""
    for i in range(8):
        make_story(
            f"Apple record quarter {i}",
            published_at=NOW - timedelta(days=3, minutes=i),
            entities={"AAPL": "positive", "MSFT": "neutral"},
            sectors=SECTORS,
        )
    for i in range(6):
        make_story(
            negative_headline.format(i=i),
            sentiment="positive",
            published_at=NOW - timedelta(hours=1, minutes=i),
            entities={"AAPL": ("negative", -0.8), "MSFT": "positive"},
            sectors=SECTORS,
        )


@pytest.fixture
def make_alert(clean_db: sessionmaker[Session]) -> Callable[..., Alert]:
    """An alert whose window ended a minute before NOW; keyword arguments override any column."""

    def make(**overrides: Any) -> Alert:
        return add_alert(clean_db, **{"window_end": NOW - timedelta(minutes=1), **overrides})

    return make


@pytest.fixture
def make_dead_letter(clean_db: sessionmaker[Session]) -> Callable[..., None]:
    def make(error: str = "missing or empty headline", value: bytes = b'{"id": "x"}') -> None:
        add_dead_letter(clean_db, error, value=value, at=NOW - timedelta(minutes=2))

    return make


@pytest.fixture
def seeded(
    make_story: MakeStory,
    make_alert: Callable[..., Alert],
    make_dead_letter: Callable[..., None],
) -> dict[str, Any]:
    """A small, recognisable world: oil stories going sour, an alert on them, one DLQ record."""
    oil = [
        make_story(
            f"Crude slumps as OPEC talks collapse {i}",
            topic="Energy | Oil",
            sentiment="negative",
            source="reuters-like",
            published_at=NOW - timedelta(minutes=3 + i),
            url="https://example.com/oil" if i == 0 else None,
        )
        for i in range(6)
    ]
    earnings = make_story(
        "Acme shares rise after earnings beat", published_at=NOW - timedelta(hours=2)
    )
    updated = make_story(
        "Globex cuts guidance (corrected)",
        topic="Company | Product News",
        sentiment="negative",
        versions=2,
        published_at=NOW - timedelta(minutes=30),
    )
    firing = make_alert(story_ids=oil)
    resolved = make_alert(
        scope=MARKET,
        status="resolved",
        window_end=NOW - timedelta(hours=5),
        resolved_at=NOW - timedelta(hours=4),
        observed_share=0.5,
        baseline_share=0.3,
    )
    make_dead_letter()
    return {
        "oil": oil,
        "earnings": earnings,
        "updated": updated,
        "firing": firing,
        "resolved": resolved,
    }


@pytest.fixture
def dashboard_env(pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[str]:
    """Point the app (run in this process by AppTest) at the test database and a dead broker."""
    monkeypatch.setenv("MONITOR_DATABASE__URL", pg_url)
    monkeypatch.setenv("MONITOR_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("MONITOR_MODEL__CHECKPOINT", str(tmp_path / "absent.pt"))
    monkeypatch.chdir(tmp_path)  # no stray .env file
    yield pg_url


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@contextmanager
def serve_dashboard(database_url: str, log_path: Path, **env: str) -> Iterator[str]:
    """`streamlit run` on a free port against `database_url` (a dead broker unless `env` names
    one); yields its URL once it answers, stops it after."""
    port = free_port()
    log = log_path.open("wb")
    process = start_dashboard(
        host="127.0.0.1",
        port=port,
        env={
            "MONITOR_DATABASE__URL": database_url,
            "MONITOR_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "MONITOR_DASHBOARD__REFRESH_S": "2",
            **env,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok",
            60,
            "streamlit to answer /_stcore/health",
        )
        yield url
    finally:
        stop_dashboard(process, timeout=5)
        log.close()


@pytest.fixture
def dashboard_url(pg_url: str, tmp_path: Path) -> Iterator[str]:
    """The dashboard served by `streamlit run` against the test database (seed it in the test)."""
    with serve_dashboard(pg_url, tmp_path / "streamlit.log") as url:
        yield url


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def page() -> Iterator[Any]:
    """A Playwright page in Debian's headless Chromium (never `playwright install`)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/install-system-deps.sh installs it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        finally:
            browser.close()


def choose(page: Any, label: str, option: str, typed: str | None = None) -> None:
    """Pick `option` in the selectbox labelled `label` (typing `typed`, or the option, to find
    it), again if a rerun of the page (the timed refresh) closed the list before the click."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    box = page.locator("[data-testid=stSelectbox]").filter(has_text=label).first
    for _ in range(3):
        box.click()
        page.keyboard.press("ControlOrMeta+A")  # replace what an earlier try typed
        page.keyboard.type(typed or option)
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    raise AssertionError(f"{label}: the option {option!r} never showed up to be clicked")


def screenshot(page: Any, name: str) -> Path:
    """The whole page, saved under artifacts/screenshots/ (git-ignored). Streamlit scrolls
    inside its own container, so the viewport grows to the content's height first."""
    size = page.viewport_size
    height = page.evaluate(
        "document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight + 120"
    )
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height, 600), 6000))})
    page.wait_for_timeout(1000)  # let Vega lay out at the new size
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path
