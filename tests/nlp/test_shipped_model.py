"""The shipped checkpoint is what MODEL.md and its metrics JSON say it is.

Needs the labelled data in ../shared/data (read at run time, never committed); skipped without it.
"""

import json

import pytest

from monitor.nlp.checkpoint import load_checkpoint
from monitor.nlp.data import FILES
from monitor.nlp.evaluate import evaluate
from monitor.nlp.outputs import MAX_CHECKPOINT_BYTES
from monitor.nlp.sources import SENTFIN_ENTITIES, SENTFIN_HEADLINES, source_domain
from monitor.nlp.train import TrainConfig
from monitor.settings import REPO_ROOT, SHIPPED_CHECKPOINT

DATA_DIR = TrainConfig().data_dir
METRICS = SHIPPED_CHECKPOINT.with_name(
    SHIPPED_CHECKPOINT.name.removesuffix(".pt") + ".metrics.json"
)


def test_shipped_checkpoint_fits_the_size_limit_and_matches_its_metrics_file() -> None:
    assert SHIPPED_CHECKPOINT.stat().st_size <= MAX_CHECKPOINT_BYTES
    metrics = json.loads(METRICS.read_text())
    checkpoint = load_checkpoint(SHIPPED_CHECKPOINT)
    assert checkpoint.version == metrics["version"]
    assert checkpoint.metrics["validation"] == metrics["validation"]
    assert checkpoint.version in (REPO_ROOT / "MODEL.md").read_text()


# metrics key -> (file, task) that `monitor evaluate --split validation` re-scores
SOURCES = {
    "tfns/sentiment": (FILES["sentiment"], "sentiment"),
    "tfns/topic": (FILES["topic"], "topic"),
    "sentfin/headline": (SENTFIN_HEADLINES, "sentiment"),
    "sentfin/entity": (SENTFIN_ENTITIES, "entity"),
}


@pytest.mark.skipif(not (DATA_DIR / FILES["sentiment"]).is_file(), reason="no data in ../shared")
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_shipped_checkpoint_scores_what_its_metrics_say(source: str) -> None:
    """Re-scoring each source's held-out rows gives the recorded figures (so MODEL.md's are
    real). Another CPU, or the GPU an earlier checkpoint was trained on, may move a row or two."""
    recorded = json.loads(METRICS.read_text())["validation"][source]
    filename, task = SOURCES[source]
    result = evaluate(
        SHIPPED_CHECKPOINT,
        DATA_DIR / filename,
        task,
        split="validation",
        domain=source_domain(source),
    )
    assert result["n"] == recorded["n"]
    assert result["accuracy"] == pytest.approx(recorded["accuracy"], abs=0.002)
    assert result["macro_f1"] == pytest.approx(recorded["macro_f1"], abs=0.002)
