"""`monitor up`: the whole monitor on one machine, on embedded defaults.

Starts the embedded broker (noida-db, data under `MONITOR_LOCAL__DATA_DIR`) unless
`MONITOR_KAFKA__BOOTSTRAP_SERVERS` is set, uses `MONITOR_DATABASE__URL` (default: a SQLite file),
migrates, then runs `consume`, `schedule` and `dashboard` as child processes and replays the demo
feed once. Ctrl-C stops the children in order (each finishes its work); a second Ctrl-C kills
them. Running it again resumes: the broker keeps its log and the group's offsets, the database
its rows, and the demo is not replayed twice.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import click

from monitor.broker import EmbeddedBroker
from monitor.errors import MonitorError
from monitor.settings import Settings, load_settings

CHILDREN = ("consume", "schedule", "dashboard")


class Supervisor:
    """Child processes in their own sessions, stopped in reverse order of start."""

    def __init__(self, env: dict[str, str], log_dir: Path, hard: threading.Event) -> None:
        self.env = env
        self.log_dir = log_dir
        self.hard = hard  # set by a second Ctrl-C: stop waiting, kill
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", *args],
            env=self.env,
            cwd=Path.cwd(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our Ctrl-C handling decides when children stop
        )
        self.children[name] = process
        return process

    def exited(self) -> list[str]:
        return [name for name, p in self.children.items() if p.poll() is not None]

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM each child (newest first) and wait; SIGKILL on timeout or a second Ctrl-C."""
        for process in reversed(self.children.values()):
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while any(p.poll() is None for p in self.children.values()):
            if self.hard.is_set() or time.monotonic() > deadline:
                for process in self.children.values():
                    _signal_group(process, signal.SIGKILL)
            time.sleep(0.1)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the child and its own children (streamlit under `monitor dashboard`)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)


def _free_port(host: str, preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind((host, preferred))
        except OSError:
            probe.bind((host, 0))
        return int(probe.getsockname()[1])


def dashboard_port(host: str, preferred: int) -> tuple[int, str | None]:
    """The port the dashboard will serve on and, when it is not `preferred`, why not."""
    with socket.socket() as probe:
        try:
            probe.bind((host, preferred))
            return int(probe.getsockname()[1]), None  # preferred 0: the free port found
        except OSError as exc:
            problem = exc
    port = _free_port(host, 0)
    try:
        with urllib.request.urlopen(f"http://{host}:{preferred}/_stcore/health", timeout=1) as r:
            streamlit = r.read() == b"ok"
    except (OSError, ValueError):
        streamlit = False
    if streamlit:
        why = "another Streamlit app answers there (another `monitor up` or `monitor dashboard`?)"
    elif getattr(problem, "errno", None) == errno.EADDRINUSE:
        why = "another program is listening there"
    else:
        why = f"it cannot be bound ({problem})"
    return port, f"port {preferred} is busy: {why}"


def announce_dashboard(url: str, moved: str | None) -> None:
    """The dashboard's URL, set off from the logs; when it had to move, loudly and why."""
    if moved is None:
        click.echo(f"dashboard: {url}", color=False)
        return
    rule = "=" * 78
    click.echo(rule)
    click.echo(f"dashboard: {url}", color=False)
    click.echo(f"  NOT on the usual port: {moved}.")
    click.echo("  Set MONITOR_DASHBOARD__PORT to choose the port (0: any free port).")
    click.echo(rule)


def _wait_for_port(
    host: str, port: int, process: subprocess.Popen[bytes], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MonitorError(f"the dashboard exited with status {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise MonitorError(f"the dashboard did not open {host}:{port} within {timeout_s:g} s")


def _child_env(settings: Settings, bootstrap: str, dashboard_port: int) -> dict[str, str]:
    from monitor.ingest.demo_generator import write_demo_dictionary

    env = dict(os.environ)
    if "dictionary" not in settings.entities.model_fields_set:  # the demo's companies too
        env["MONITOR_ENTITIES__DICTIONARY"] = str(
            write_demo_dictionary(
                settings.entities.dictionary, settings.local.data_dir / "entities.csv"
            )
        )
    env.update(
        MONITOR_KAFKA__BOOTSTRAP_SERVERS=bootstrap,
        MONITOR_DATABASE__URL=settings.database.url.get_secret_value(),  # children build engines
        MONITOR_DASHBOARD__PORT=str(dashboard_port),
        MONITOR_DASHBOARD__URL=f"http://{settings.dashboard.host}:{dashboard_port}",
        # one local consumer: static membership lets a restart take its partitions back at once
        MONITOR_KAFKA__GROUP_INSTANCE_ID=settings.kafka.group_instance_id or "local-consume-1",
        MONITOR_METRICS__PORT=str(_free_port(settings.metrics.host, settings.metrics.port)),
        MONITOR_METRICS__SCHEDULE_PORT=str(
            _free_port(settings.metrics.host, settings.metrics.schedule_port)
        ),
        PYTHONUNBUFFERED="1",
    )
    return env


def _read_progress(path: Path) -> dict[str, int]:
    from monitor.ingest.demo import load_demo_feed

    total = len(load_demo_feed())
    try:
        sent = int(json.loads(path.read_text())["sent"])
    except (OSError, ValueError, KeyError, TypeError):
        sent = 0
    return {"sent": sent, "total": total}


def _write_progress(path: Path, sent: int) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"sent": sent}))
    tmp.replace(path)


def run_up(
    settings: Settings, *, replay: str, stop: threading.Event, hard: threading.Event
) -> None:
    from monitor.ingest import kafka
    from monitor.ingest.replay import replay_demo
    from monitor.nlp.checkpoint import load_checkpoint
    from monitor.store import migrate
    from monitor.store.db import check_connection, make_engine, open_migrated

    data_dir = settings.local.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    load_checkpoint(settings.model.checkpoint)  # a bad checkpoint stops us before anything runs
    engine = make_engine(settings.database.url)
    check_connection(engine)
    engine.dispose()
    migrate.upgrade(settings.database.url)
    open_migrated(settings.database.url).dispose()
    click.echo(f"database: {settings.database.url} (migrated)")

    with ExitStack() as stack:
        if "bootstrap_servers" in settings.kafka.model_fields_set:
            bootstrap = settings.kafka.bootstrap_servers
        else:
            broker = EmbeddedBroker(data_dir / "noida")
            bootstrap = broker.start()
            stack.callback(broker.stop)
        kafka_settings = settings.kafka.model_copy(update={"bootstrap_servers": bootstrap})
        kafka.check_broker(kafka_settings)
        kafka.ensure_topic(kafka_settings)
        click.echo(f"kafka: {bootstrap} (topic {kafka_settings.topic})")

        port, moved = dashboard_port(settings.dashboard.host, settings.dashboard.port)
        supervisor = Supervisor(_child_env(settings, bootstrap, port), data_dir, hard)
        stack.callback(supervisor.stop)
        supervisor.start("consume", "consume")
        supervisor.start("schedule", "schedule")
        dashboard = supervisor.start("dashboard", "dashboard")
        _wait_for_port(settings.dashboard.host, port, dashboard, timeout_s=60)
        announce_dashboard(f"http://{settings.dashboard.host}:{port}", moved)
        click.echo(f"logs: {data_dir}/{{consume,schedule,dashboard}}.log — Ctrl-C stops")

        progress = data_dir / "demo-replay.json"  # {"sent": N, "total": M}
        state = _read_progress(progress)
        if replay == "always" or (replay == "once" and state["sent"] < state["total"]):
            skip = 0 if replay == "always" else state["sent"]
            producer = kafka.make_producer(kafka_settings)
            stack.callback(producer.close)

            def replay_feed() -> None:
                sent = replay_demo(
                    producer,
                    kafka_settings.topic,
                    live_minutes=settings.local.replay_live_minutes,
                    speed=settings.local.replay_speed,
                    stop=stop,
                    skip=skip,
                    on_progress=lambda n: _write_progress(progress, n),
                )
                if not stop.is_set():
                    click.echo(f"demo feed replayed: {sent} stories")

            thread = threading.Thread(target=replay_feed, name="demo-replay", daemon=True)
            thread.start()
            stack.callback(thread.join, 10)  # before the producer closes (callbacks run LIFO)
        elif replay == "once":
            click.echo(f"demo feed already replayed ({progress}); resuming")

        while not stop.wait(0.5):
            dead = supervisor.exited()
            if dead:
                raise MonitorError(f"{', '.join(dead)} exited; see {data_dir}/<name>.log")
        click.echo("stopping: consume, schedule and dashboard finish their work…")


@click.command("up")
@click.option(
    "--replay",
    type=click.Choice(["once", "always", "never"]),
    default="once",
    show_default=True,
    help="replay the demo feed: on the first run only, on every run, or not at all",
)
def up_command(replay: str) -> None:
    """Run the whole monitor locally: broker, database, consumer, scheduler, dashboard, demo."""
    from monitor.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    stop, hard = threading.Event(), threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():
            hard.set()
            click.echo("second interrupt: killing the children", err=True)
            return
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    run_up(settings, replay=replay, stop=stop, hard=hard)
