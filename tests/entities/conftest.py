"""A tiny checkpoint with an entity head, so mentions are scored in the story's forward."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.nlp.checkpoint import Checkpoint, save_checkpoint, weights_digest
from monitor.nlp.model import LSTMConfig, NewsLSTM


@pytest.fixture(scope="session")
def entity_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.manual_seed(0)
    model = NewsLSTM(LSTMConfig(embed_dim=32, hidden_dim=32, entity_head=True, entity_hidden=32))
    path = tmp_path_factory.mktemp("model") / "tiny-entity.pt"
    save_checkpoint(Checkpoint(model=model, version=f"tiny-ent-{weights_digest(model)}"), path)
    return path
