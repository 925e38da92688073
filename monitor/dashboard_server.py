"""`monitor dashboard`: serve monitor/dashboard/app.py with Streamlit; also used by `monitor up`.

Streamlit owns its process (its own server and event loop), so we run `streamlit run` as a
child rather than in-process; settings reach the app through the environment it inherits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from monitor.settings import PACKAGE_DIR, load_settings

APP = PACKAGE_DIR / "dashboard" / "app.py"  # package data: ships in the wheel


def streamlit_command(host: str, port: int, app: Path = APP) -> list[str]:
    """The `streamlit run` command line: headless, no usage stats, no file watcher, and the
    toolbar in viewer mode (no "Deploy" or developer menu on a production dashboard)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless=true",
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=viewer",
        "--theme.base=light",
    ]


def start_dashboard(
    *, host: str = "127.0.0.1", port: int = 8501, env: dict[str, str] | None = None, **popen: object
) -> subprocess.Popen[bytes]:
    """Start the dashboard as a child process; the caller stops it (terminate, then wait).

    `env` is added to this process's environment, e.g. {"MONITOR_DATABASE__URL": ...}.
    """
    child_env = {**os.environ, **(env or {})}
    return subprocess.Popen(  # type: ignore[call-overload]
        # the caller's working directory, so relative paths (a sqlite:///var/... URL, .env)
        # mean the same to the dashboard as to the command that started it
        streamlit_command(host, port),
        env=child_env,
        **popen,
    )


def stop_dashboard(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a child from `start_dashboard`: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@click.command("dashboard")
@click.option("--host", default=None, help="address to bind (default: MONITOR_DASHBOARD__HOST)")
@click.option("--port", type=int, default=None, help="port (default: MONITOR_DASHBOARD__PORT)")
def dashboard_command(host: str | None, port: int | None) -> None:
    """Serve the analyst dashboard (Streamlit) until Ctrl-C."""
    from monitor.store.db import open_migrated

    settings = load_settings()
    open_migrated(settings.database.url).dispose()  # the same one line as consume and schedule
    dashboard = settings.dashboard
    process = start_dashboard(host=host or dashboard.host, port=port or dashboard.port)
    try:
        raise SystemExit(process.wait())
    except KeyboardInterrupt:
        stop_dashboard(process)
