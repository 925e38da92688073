"""Train the shipped checkpoint on a borrowed GPU machine (`scripts/gpu/run.sh` calls this).

Same `TrainConfig` defaults as `make train`; only the data folder, output and caches move to
the machine's scratch space. `--smoke` shrinks every stage to a few steps, to check the whole
chain here before spending GPU time.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from monitor.nlp.augment import AugmentConfig
from monitor.nlp.distill import UnlabelledConfig
from monitor.nlp.teacher import TeacherConfig
from monitor.nlp.train import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--teacher-epochs", type=int, default=None, help="experiments")
    parser.add_argument("--epochs", type=int, default=None, help="student epochs (experiments)")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument(
        "--no-domain-tokens", action="store_true", help="without the domain token (MODEL.md, T6)"
    )
    args = parser.parse_args()
    config = TrainConfig(data_dir=args.data_dir, output=args.output, teacher_cache=args.cache)
    if args.members:
        config = replace(config, teacher=replace(config.teacher, members=args.members))
    if args.teacher_epochs:
        config = replace(config, teacher=replace(config.teacher, epochs=args.teacher_epochs))
    if args.epochs:
        config = replace(config, epochs=args.epochs)
    if args.no_domain_tokens:
        config = replace(config, domain_tokens=False)
    if args.smoke:
        config = replace(
            config,
            epochs=1,
            max_steps=3,
            teacher=TeacherConfig(members=1, max_steps=3),
            augment=AugmentConfig(copies=0),
            unlabelled=UnlabelledConfig(texts=200),
        )
    print(f"torch {torch.__version__}, cuda {torch.cuda.is_available()}", flush=True)
    if torch.cuda.is_available():
        print(torch.cuda.get_device_name(0), flush=True)
    started = time.monotonic()
    result = train(config)
    print(f"wrote {result.checkpoint} ({result.version}) in {time.monotonic() - started:.0f} s")
    print(json.dumps(result.metrics.get("validation", {}), indent=1))
    print(json.dumps(result.metrics.get("calibration", {}), indent=1))
    print(json.dumps(result.metrics.get("teacher", {}).get("validation", {}), indent=1))


if __name__ == "__main__":
    main()
