"""Engines: a database URL's password never reaches an error message."""

from __future__ import annotations

import pytest

from monitor.errors import ConfigError
from monitor.settings import load_settings
from monitor.store.db import check_connection, make_engine


def test_an_unreachable_database_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONITOR_DATABASE__URL", "postgresql://ana:s3cret@127.0.0.1:1/monitor")
    engine = make_engine(load_settings().database.url)  # the secret, revealed only in here
    with pytest.raises(ConfigError) as caught:
        check_connection(engine)
    engine.dispose()
    assert caught.value.setting == "MONITOR_DATABASE__URL"
    assert "ana:***@127.0.0.1:1/monitor" in str(caught.value)
    assert "s3cret" not in str(caught.value)
