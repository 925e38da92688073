"""`monitor up` says where the dashboard is when its port is taken, and why (real sockets)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from monitor.local import announce_dashboard, dashboard_port


@pytest.fixture
def listener() -> Iterator[int]:
    """A plain program listening on a free port."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def streamlit_like() -> Iterator[int]:
    """Something answering Streamlit's health check, as another dashboard would."""
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_a_free_port_is_kept() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])
    assert dashboard_port("127.0.0.1", free) == (free, None)
    port, moved = dashboard_port("127.0.0.1", 0)
    assert port > 0 and moved is None


def test_a_busy_port_moves_and_says_why(listener: int) -> None:
    port, moved = dashboard_port("127.0.0.1", listener)
    assert port != listener
    assert moved == f"port {listener} is busy: another program is listening there"


def test_another_dashboard_on_the_port_is_named(streamlit_like: int) -> None:
    port, moved = dashboard_port("127.0.0.1", streamlit_like)
    assert port != streamlit_like
    assert moved is not None and "another Streamlit app answers there" in moved


def test_the_moved_url_is_printed_prominently(capsys: pytest.CaptureFixture[str]) -> None:
    announce_dashboard(
        "http://127.0.0.1:51234", "port 8501 is busy: another program is listening there"
    )
    lines = capsys.readouterr().out.splitlines()
    assert "dashboard: http://127.0.0.1:51234" in lines  # the line `monitor up` users look for
    assert lines[0] == lines[-1] == "=" * 78
    assert any("NOT on the usual port: port 8501 is busy" in line for line in lines)
    assert any("MONITOR_DASHBOARD__PORT" in line for line in lines)
