"""Teacher experiments on CPU (MODEL.md, runs T5-T7): fine-tune one MiniLM teacher member as
`monitor train` does, on a choice of sources, optionally with a leading domain token, and print
its validation figures and its reading of a few hand-written probe headlines.

Why a separate script: the teachers are the students' ceiling, and these runs ask whether a
different teacher set-up raises it, without the ~2 h of a whole CPU `monitor train`.

    .venv/bin/python scripts/experiments/teacher_variants.py --sources sentfin          # T5
    .venv/bin/python scripts/experiments/teacher_variants.py --threads 1                # T6
    .venv/bin/python scripts/experiments/teacher_variants.py --threads 1 --domain-token # T7

--domain-token puts [unused2] (tweets: TFNS) or [unused3] (news: SEntFiN, and the probe) after
[CLS], so one model can learn the two sources' label conventions apart (TFNS marks "X wins a
contract" neutral; news readers call it good for X).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from monitor.nlp.batching import EncodedSet, encode_set
from monitor.nlp.mentions import locate
from monitor.nlp.model import IGNORE_INDEX
from monitor.nlp.sources import Mentions, Stories, load_sources, source_domain
from monitor.nlp.teacher import TeacherConfig, fit_teacher, teacher_logits, validate_teacher
from monitor.nlp.text import normalize
from monitor.nlp.tokenizer import domain_token_ids
from monitor.nlp.train import NAMES, TrainConfig, _class_weights

PROBE = [  # (headline, its entities): hand-written, not from any data set
    ("Acme wins contract from Globex", ("Acme", "Globex")),
    ("Acme wins $2bn contract", ("Acme",)),
    ("Acme wins $2bn contract from Globex after Globex's own bid collapsed", ("Acme", "Globex")),
    ("Acme beats Globex in court battle", ("Acme", "Globex")),
    (
        "Boeing wins $2bn contract from Airbus after Airbus's own bid collapsed",
        ("Boeing", "Airbus"),
    ),
    ("Tata Motors shares surge 5% as JLR sales jump; Maruti slips", ("Tata Motors", "Maruti")),
    ("Apple sues Samsung over patent infringement", ("Apple", "Samsung")),
    ("Microsoft to acquire Activision for $69 billion", ("Microsoft", "Activision")),
    ("Pfizer drug fails late-stage trial, shares of partner BioNTech fall", ("Pfizer", "BioNTech")),
]


def with_domain(data: EncodedSet, token: int | None) -> EncodedSet:
    """`data` with `token` inserted after [CLS] (mention spans move one place right). Unlike
    `encode_set(prefix=...)` (what `monitor train --domain-tokens` uses) the token comes on top
    of the 64 tokens: kept so that runs T5-T7 reproduce as measured."""
    if token is None:
        return data
    ids = data.input_ids
    out = torch.zeros((ids.size(0), ids.size(1) + 1), dtype=ids.dtype)
    out[:, 0], out[:, 1], out[:, 2:] = ids[:, 0], token, ids[:, 1:]
    m = data.mentions
    return EncodedSet(out, data.lengths + 1, data.labels, Mentions(m.story, m.spans + 1, m.labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=TrainConfig().data_dir)
    parser.add_argument("--sources", choices=["all", "sentfin"], default="all")
    parser.add_argument("--domain-token", action="store_true")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", type=Path, default=None, help="write the teacher's weights")
    parser.add_argument("--max-steps", type=int, default=None, help="smoke runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokens = domain_token_ids() if args.domain_token else {}

    def domain(key: str) -> int | None:
        return tokens.get(source_domain(key))

    config = TrainConfig()
    sources = load_sources(args.data_dir, fraction=config.val_fraction, seed=config.seed)
    keys = [k for k in sources.train if args.sources == "all" or k == "sentfin"]
    encode = {"max_length": config.max_length}
    train_set = EncodedSet.concat(
        [with_domain(encode_set(sources.train[k], **encode), domain(k)) for k in keys]
    )
    valid = {k: with_domain(encode_set(sources.valid[k], **encode), domain(k)) for k in keys}
    teacher = TeacherConfig(epochs=args.epochs, threads=args.threads, max_steps=args.max_steps)
    cpu = torch.device("cpu")
    started = time.monotonic()
    model = fit_teacher(
        teacher, train_set, valid, NAMES, _class_weights(train_set, config),
        seed=config.seed, device=cpu, progress=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    if args.save is not None:
        torch.save(model.state_dict(), args.save)
    figures = validate_teacher([model], valid, NAMES, cpu)
    print(json.dumps({
        "sources": args.sources, "domain_token": args.domain_token, "fit_s": round(seconds),
        **{k: [round(r["accuracy"], 4), round(r["macro_f1"], 4)] for k, r in figures.items()},
    }))  # fmt: skip
    probe(model, domain("sentfin"), encode["max_length"])


def probe(model: torch.nn.Module, token: int | None, max_length: int) -> None:
    texts = [normalize(text) for text, _ in PROBE]
    story, spans = [], []
    for i, (_, entities) in enumerate(PROBE):
        for entity in entities:
            story.append(i)
            spans.append(locate(texts[i], entity))
    none = np.full(len(story), IGNORE_INDEX)
    stories = Stories(
        texts,
        np.full((len(texts), 2), IGNORE_INDEX),
        Mentions(np.array(story), np.array(spans), none),
    )
    logits = teacher_logits(
        [model], with_domain(encode_set(stories, max_length=max_length), token), torch.device("cpu")
    )  # type: ignore[list-item]
    sentiment, entity = (
        torch.from_numpy(logits[h]).softmax(-1).numpy() for h in ("sentiment", "entity")
    )
    k = 0
    for i, (text, entities) in enumerate(PROBE):
        line = f"{text[:70]:<70} story {sentiment[i, 2] - sentiment[i, 0]:+.2f}"
        for name in entities:
            line += f" | {name} {entity[k, 2] - entity[k, 0]:+.2f}"
            k += 1
        print(line)


if __name__ == "__main__":
    main()
