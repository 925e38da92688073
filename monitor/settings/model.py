"""`MONITOR_MODEL__*`: which checkpoint classifies, on which device, in what batches."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from monitor.settings.paths import SHIPPED_CHECKPOINT


class ModelSettings(BaseModel):
    checkpoint: Path = Field(SHIPPED_CHECKPOINT, description="classifier checkpoint (.pt)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = cuda if present")
    batch_size: int = Field(256, ge=1, le=65_536, description="texts per model forward")
    max_length: int = Field(64, ge=8, le=512, description="tokens per text (headline + body)")
    quantize: bool = Field(False, description="dynamic int8 quantization on CPU")
    mixed_precision: bool = Field(
        False,
        description="autocast: fp16 on a GPU, bf16 on a CPU (2.3x fp32 on a CPU with AVX-512 "
        "BF16; expected slower where bf16 is emulated); off by default: fp16 was slower than "
        "fp32 on an H200 (MODEL.md, Speed)",
    )
