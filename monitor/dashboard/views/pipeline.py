"""Pipeline: consumer lag, ingest throughput, dead letters, the model in use and its scores."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import charts
import common
import pandas as pd
import streamlit as st
import timeframe

from monitor.store import queries

LAG_TIMEOUT_S = 3.0
THROUGHPUT_RANGES = timeframe.PRESETS[:3]  # per-minute bars past a day are unreadable

st.title("⚙️ Pipeline")


FAILURE_TTL_S = 30.0
LagCache = dict[tuple[str, str, str], tuple[float, dict[int, int] | str]]


@st.cache_resource(show_spinner=False)
def _lag_cache() -> tuple[LagCache, threading.Lock]:
    """(servers, topic, group) -> (expires at, lag or why it is unknown), kept across reruns.

    Failures are kept longer than answers: a dead broker should not cost every refresh a timeout.
    (A module-level dict would not do: Streamlit re-executes this page script on every rerun.)
    """
    return {}, threading.Lock()


def _lag(bootstrap_servers: str, topic: str, group_id: str) -> dict[int, int] | str:
    """{partition: lag}, or the reason the broker could not tell us (never raises)."""
    key = (bootstrap_servers, topic, group_id)
    cache, lock = _lag_cache()
    with lock:
        cached = cache.get(key)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    result: dict[int, int] | str = f"no answer within {LAG_TIMEOUT_S:g} s"
    answer: list[dict[int, int] | str] = []

    def ask() -> None:
        from monitor.ingest.lag import consumer_lag

        try:
            answer.append(consumer_lag(bootstrap_servers, topic, group_id))
        except Exception as exc:  # any client failure becomes a message on the page
            answer.append(f"{type(exc).__name__}: {exc}")

    # kafka-python can retry an absent broker for a long time: bound the wait, and use a daemon
    # thread so a stuck client never holds up the server's shutdown.
    worker = threading.Thread(target=ask, name="consumer-lag", daemon=True)
    worker.start()
    worker.join(LAG_TIMEOUT_S)
    if answer:
        result = answer[0]
    ttl = common.settings().dashboard.refresh_s if isinstance(result, dict) else FAILURE_TTL_S
    with lock:
        cache[key] = (time.monotonic() + ttl, result)
    return result


def lag_section() -> None:
    kafka = common.settings().kafka
    st.subheader("Consumer lag")
    lag = _lag(kafka.bootstrap_servers, kafka.topic, kafka.group_id)
    if isinstance(lag, str):
        st.warning(
            f"Kafka broker at `{kafka.bootstrap_servers}` is unreachable, so consumer lag is "
            f"unknown. ({common.md(lag)})",
            icon="📡",
        )
        return
    if not lag:
        st.info(f"Topic `{kafka.topic}` has no partitions yet.")
        return
    st.metric(f"Messages behind (group `{kafka.group_id}`)", f"{sum(lag.values()):,}")
    st.altair_chart(charts.lag_chart(lag), width="stretch")


def _metrics_path() -> Path:
    return common.settings().model.checkpoint.with_suffix(".metrics.json")


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, float]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _flatten(v, f"{prefix}{k} ")]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [(prefix.strip(), float(value))]
    return []


def model_section(models: list[queries.ModelInUse]) -> None:
    st.subheader("Model")
    if models:
        current = models[0]
        cols = st.columns(3)
        cols[0].metric("Model version in use", current.version)
        cols[1].metric("Last classification", common.ago(current.last_classified_at))
        cols[2].metric("Share of the newest 1,000", f"{current.recent_share:.0%}")
        if len(models) > 1:
            others = ", ".join(f"`{m.version}` ({m.recent_share:.0%})" for m in models[1:])
            st.caption(f"Also among the newest classifications: {others}")
    else:
        st.info("No classifications yet, so no model version in use.")
    path = _metrics_path()
    if not path.exists():
        st.caption(f"No validation figures at `{path}` (written by `monitor train`).")
        return
    try:
        metrics = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        st.warning(f"Could not read `{path}`: {exc}")
        return
    validation_figures(metrics, path.name, models[0].version if models else None)


def validation_figures(metrics: dict[str, Any], name: str, in_use: str | None) -> None:
    """One row per task (accuracy, macro F1, n) when the file has a `validation` section."""
    version = metrics.get("version")
    note = ""
    if version and in_use and version != in_use:
        note = f" — note: the newest classifications come from `{in_use}`"
    st.markdown(f"Validation figures of checkpoint `{version or name}`{note}:")
    validation = metrics.get("validation")
    if isinstance(validation, dict) and validation:
        table = pd.DataFrame.from_dict(validation, orient="index")
        table.index.name = "task"
        st.dataframe(
            table,
            column_config={
                "accuracy": st.column_config.NumberColumn(format="%.3f"),
                "macro_f1": st.column_config.NumberColumn("macro F1", format="%.3f"),
                "n": st.column_config.NumberColumn("validation texts", format="%d"),
            },
        )
        extras = {k: metrics[k] for k in ("val_score", "best_epoch", "epochs_run") if k in metrics}
        if extras:
            st.caption(" · ".join(f"{k.replace('_', ' ')} {v}" for k, v in extras.items()))
        return
    st.dataframe(
        pd.DataFrame(_flatten(metrics), columns=["metric", "value"]),
        hide_index=True,
        column_config={"value": st.column_config.NumberColumn(format="%.4g")},
    )


range_label = st.columns([1, 3])[0].selectbox(
    "Throughput range", [r.label for r in THROUGHPUT_RANGES], index=0, key="pipeline_range"
)
preset = next(r for r in THROUGHPUT_RANGES if r.label == range_label)


@common.live
def render() -> None:
    lag_section()
    window = timeframe.from_preset(preset)
    with common.session() as db:
        throughput = queries.throughput(db, start=window.start, end=window.end, bucket_s=60)
        dead = queries.recent_dead_letters(db, limit=100)
        models = queries.models_in_use(db)

    st.subheader("Throughput")
    total = int(throughput["stories"].sum())
    minutes = max(1.0, window.span.total_seconds() / 60)
    st.caption(
        f"{total:,} stories ingested in the {range_label.lower()} ({total / minutes:.1f}/min)"
    )
    st.altair_chart(charts.throughput_chart(throughput, common.display_zone()), width="stretch")

    st.subheader("Dead letters")
    if dead.empty:
        st.success("No dead letters: every record met the message contract.", icon="✅")
    else:
        st.markdown(
            f"**{len(dead)} newest** · latest reason: {common.md(dead['error'].iloc[0])} "
            f"({common.ago(dead['received_at'].iloc[0].to_pydatetime())})"
        )
        zone = common.display_zone()
        local = dead["received_at"].dt.tz_convert(zone).dt.tz_localize(None)
        st.dataframe(
            dead.assign(received_at=local),
            hide_index=True,
            width="stretch",
            column_config={
                "received_at": st.column_config.DatetimeColumn(
                    f"received ({zone.key})", format="YYYY-MM-DD HH:mm:ss"
                ),
                "error": st.column_config.TextColumn("reason", width="large"),
            },
        )
    model_section(models)


render()
