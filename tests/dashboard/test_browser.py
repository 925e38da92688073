"""End to end: `streamlit run` on a free port, each page loaded in headless Chromium.

Chromium is driven over the DevTools protocol (a small client on `websockets`, which Streamlit
already depends on) because Streamlit renders in JavaScript after a websocket round trip: we wait
until the seeded text is on screen, then save a screenshot to artifacts/screenshots/.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from monitor.settings import REPO_ROOT
from tests.dashboard.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
WIDTH, HEIGHT = 1400, 1000


class DevTools:
    """Just enough of the Chrome DevTools protocol: call a method, wait for its answer."""

    def __init__(self, websocket_url: str) -> None:
        self.ws: ClientConnection = connect(websocket_url, max_size=None, open_timeout=20)
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))

    def text(self) -> str:
        result = self.call("Runtime.evaluate", expression="document.body.innerText")
        return str(result.get("result", {}).get("value", ""))

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevTools]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/install-system-deps.sh installs it)")
    profile = tmp_path / "chromium-profile"
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={WIDTH},{HEIGHT}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        wait_for(lambda: port_file.exists() and port_file.read_text().strip(), 30, "Chromium")
        port = int(port_file.read_text().splitlines()[0])
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list").read())
        page = next(t for t in targets if t["type"] == "page")
        devtools = DevTools(page["webSocketDebuggerUrl"])
        set_viewport(devtools, HEIGHT)
        yield devtools
        devtools.close()
    finally:
        process.terminate()
        process.wait(timeout=15)


def set_viewport(devtools: DevTools, height: int) -> None:
    devtools.call(
        "Emulation.setDeviceMetricsOverride",
        width=WIDTH,
        height=height,
        deviceScaleFactor=1,
        mobile=False,
    )


def screenshot(devtools: DevTools, name: str) -> Path:
    """The whole page, not just the viewport: grow the viewport to the content's height."""
    height = devtools.call(
        "Runtime.evaluate",
        expression=(
            "document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight + 120"
        ),
    )["result"].get("value", HEIGHT)
    set_viewport(devtools, int(min(max(HEIGHT, height), 6000)))
    time.sleep(1.0)  # let Vega re-layout at the new size
    data = devtools.call("Page.captureScreenshot", format="png")["data"]
    set_viewport(devtools, HEIGHT)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(data))
    return path


def test_every_page_renders_seeded_content(
    dashboard_url: str, browser: DevTools, seeded: dict, make_story: Any
) -> None:
    alert_id = seeded["firing"].id
    pages = {
        "overview": ("/", ["Market sentiment", "Energy | Oil", "Negative share"]),
        "alerts": (
            f"/alerts?alert_id={alert_id}",
            [f"#{alert_id}", "Energy | Oil", "Crude slumps as OPEC talks collapse 0"],
        ),
        "news": ("/news", ["Acme shares rise after earnings beat", "Globex cuts guidance"]),
        "pipeline": ("/pipeline", ["Dead letters", "missing or empty headline", "lstm-test-1"]),
    }
    for name, (path, expected) in pages.items():
        browser.call("Page.enable")
        browser.call("Page.navigate", url=dashboard_url + path)
        wait_for(
            lambda expected=expected: all(text in browser.text() for text in expected),
            45,
            f"{name} to show {expected}",
        )
        if name in ("overview", "alerts", "pipeline"):
            wait_for(
                lambda: browser.call(
                    "Runtime.evaluate",
                    expression="document.querySelectorAll('canvas, svg.marks').length",
                )["result"].get("value", 0),
                20,
                f"{name}'s charts",
            )
        time.sleep(1.5)  # the charts' enter transitions
        body = browser.text()
        for problem in ("Traceback", "database is unavailable", "Page not found"):
            assert problem not in body, f"{name}: {problem}"
        path_png = screenshot(browser, name)
        assert path_png.stat().st_size > 10_000

    # Live refresh: a story stored now shows up on the open page without navigating.
    browser.call("Page.navigate", url=dashboard_url + "/news")
    wait_for(lambda: "Acme shares rise" in browser.text(), 45, "the news page")
    make_story("Breaking: live refresh works")
    wait_for(lambda: "Breaking: live refresh works" in browser.text(), 30, "the live refresh")
