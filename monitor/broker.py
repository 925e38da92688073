"""The embedded Kafka-protocol broker (noida-db) for the local default and the tests."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from monitor.errors import MonitorError

_READY = re.compile(r"kafka\s+(\S+:\d+)")


def _noida_binary() -> str:
    beside_python = Path(sys.executable).with_name("noida-db")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("noida-db")
    if not found:
        raise MonitorError("noida-db is not installed (pip install noida-db)")
    return found


class EmbeddedBroker:
    """Runs `noida-db start --only kafka` as a child process; data lives in `data_dir`."""

    def __init__(self, data_dir: Path, *, port: int = 0, start_timeout_s: float = 30.0) -> None:
        self.data_dir = data_dir
        self.port = port
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen[str] | None = None
        self.bootstrap_servers = ""

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                _noida_binary(),
                "start",
                "--only",
                "kafka",
                "--kafka-port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop it in order
        )
        deadline = time.monotonic() + self.start_timeout_s
        assert self.process.stdout is not None
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            seen.append(line.rstrip())
            match = _READY.search(line)
            if match:
                self.bootstrap_servers = match.group(1)
                self._drain()
                return self.bootstrap_servers
        self.stop()
        raise MonitorError("embedded broker did not start: " + " | ".join(seen[-5:]))

    def _drain(self) -> None:
        """Keep reading the child's output so a full pipe never blocks it."""
        import threading

        def pump() -> None:
            assert self.process is not None and self.process.stdout is not None
            for _ in self.process.stdout:
                pass

        threading.Thread(target=pump, name="noida-db-output", daemon=True).start()

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout_s)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout_s)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
