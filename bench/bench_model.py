"""Bench the classifier: inference sequences/s and validation accuracy/macro-F1 per setting.

    .venv/bin/python bench/bench_model.py [--checkpoint models/lstm-tfns.pt] [--threads 2]

Texts are the checkpoint's held-out validation rows of both tasks (the split stored in the
checkpoint, read from ../shared/data at run time). Throughput is end to end through
`Classifier.probabilities` (tokenize + sort + forward + softmax), the median of `--reps` passes
after one warm-up pass. CPU: batch 256, fp32 and dynamic int8. GPU, when one is visible: batch
512 and 4096, fp32 and fp16 autocast.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from pathlib import Path

import torch

from monitor.nlp import data as nlp_data
from monitor.nlp.checkpoint import load_checkpoint
from monitor.nlp.classifier import Classifier
from monitor.nlp.metrics import report
from monitor.nlp.text import normalize
from monitor.settings import REPO_ROOT, SHIPPED_CHECKPOINT


def validation_rows(checkpoint_path: Path, data_dir: Path) -> dict[str, nlp_data.Labelled]:
    split = load_checkpoint(checkpoint_path).extra["split"]
    rows = {}
    for task, filename in nlp_data.FILES.items():
        full = nlp_data.read_csv(data_dir / filename, nlp_data.task_labels(task))
        _, valid = nlp_data.stratified_split(
            full.labels, fraction=float(split["fraction"]), seed=int(split["seed"])
        )
        subset = full.subset(valid)
        rows[task] = nlp_data.Labelled([normalize(t) for t in subset.texts], subset.labels)
    return rows


def measure(classifier: Classifier, rows: dict[str, nlp_data.Labelled], reps: int) -> dict:
    texts = rows["sentiment"].texts + rows["topic"].texts
    n_sentiment = len(rows["sentiment"])
    topic_p, sentiment_p = classifier.probabilities(texts)  # warm-up, and the predictions
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        classifier.probabilities(texts)
        if classifier.device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    scores = {
        "sentiment": report(
            rows["sentiment"].labels,
            sentiment_p[:n_sentiment].argmax(-1).numpy(),
            classifier.sentiments,
        ),
        "topic": report(
            rows["topic"].labels, topic_p[n_sentiment:].argmax(-1).numpy(), classifier.topics
        ),
    }
    return {"seq_per_s": len(texts) / statistics.median(seconds), "n": len(texts), **scores}


def word_spans(text: str, k: int) -> list[tuple[int, int]]:
    """Up to `k` mention spans: the first, last and middle words of `text` (character spans)."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\w+", text)]
    picks = [0, len(words) - 1, len(words) // 2][:k]
    return sorted({words[i] for i in picks}) if words else []


def rate(
    classifier: Classifier, texts: list[str], mentions: list[list[tuple[int, int]]], reps: int
) -> float:
    """Texts/s of `predict_normalized` with these mentions, median of `reps` after a warm-up."""
    classifier.predict_normalized(texts, mentions=mentions)
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        classifier.predict_normalized(texts, mentions=mentions)
        seconds.append(time.perf_counter() - start)
    return len(texts) / statistics.median(seconds)


def entity_cost(classifier: Classifier, texts: list[str], reps: int) -> dict[int, float]:
    """Texts/s of `predict_normalized` with 0, 1 and 3 mentions per text: what each entity
    asked for costs on top of the story's own forward (they share it)."""
    return {k: rate(classifier, texts, [word_spans(t, k) for t in texts], reps) for k in (0, 1, 3)}


def late_mention_cost(classifier: Classifier, texts: list[str], reps: int) -> tuple[float, float]:
    """Texts/s of long stories (4 validation texts joined) with no mention, and with one
    mention past the tokens the story's forward reads (its last word: read in its sentence,
    one more forward)."""
    stories = [". ".join(texts[i : i + 4]) for i in range(0, len(texts) - 3, 4)]
    last = [word_spans(s, 2)[-1:] for s in stories]
    return rate(classifier, stories, [[] for _ in stories], reps), rate(
        classifier, stories, last, reps
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=SHIPPED_CHECKPOINT)
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = validation_rows(args.checkpoint, args.data_dir)
    settings = [
        ("cpu", 256, "fp32", False, False),
        ("cpu", 256, "int8 dynamic", True, False),
        ("cpu", 256, "bf16 amp", False, True),
    ]
    if torch.cuda.is_available():
        for batch in (512, 4096):
            settings += [
                ("cuda", batch, "fp32", False, False),
                ("cuda", batch, "fp16 amp", False, True),
            ]
    else:
        print("no GPU visible: CPU rows only (GPU rows need torch.cuda.is_available())")
    print(
        f"checkpoint {args.checkpoint} · torch {torch.__version__} · threads {args.threads} · "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'device':<7}{'batch':>6}  {'precision':<13}{'seq/s':>9}{'sent acc':>10}{'sent F1':>9}"
        f"{'topic acc':>11}{'topic F1':>10}"
    )
    for device, batch, label, quantize, amp in settings:
        classifier = Classifier(
            load_checkpoint(args.checkpoint),
            device=device,
            batch_size=batch,
            quantize=quantize,
            mixed_precision=amp,
            domain="tweet",  # the texts are TFNS tweets (read only by domain-token checkpoints)
        )
        r = measure(classifier, rows, args.reps)
        print(
            f"{device:<7}{batch:>6}  {label:<13}{r['seq_per_s']:>9.0f}"
            f"{r['sentiment']['accuracy']:>10.4f}{r['sentiment']['macro_f1']:>9.4f}"
            f"{r['topic']['accuracy']:>11.4f}{r['topic']['macro_f1']:>10.4f}"
        )
    print(f"n = {r['n']} validation texts per pass, median of {args.reps} passes")
    texts = rows["sentiment"].texts + rows["topic"].texts
    for label, quantize in (("fp32", False), ("int8 dynamic", True)):
        classifier = Classifier(
            load_checkpoint(args.checkpoint), device="cpu", batch_size=256, quantize=quantize
        )
        rates = entity_cost(classifier, texts, args.reps)
        extra = (1 / rates[3] - 1 / rates[0]) / 3 * 1e6
        print(
            f"entities, cpu {label}: texts/s with 0 / 1 / 3 mentions each "
            f"{rates[0]:.0f} / {rates[1]:.0f} / {rates[3]:.0f}; "
            f"each extra entity costs {extra:.0f} µs per text"
        )
        plain, late = late_mention_cost(classifier, texts, args.reps)
        cost = (1 / late - 1 / plain) * 1e6
        print(
            f"late mentions, cpu {label}: long stories/s with none / one past the cut "
            f"{plain:.0f} / {late:.0f}; each late mention costs {cost:.0f} µs"
        )


if __name__ == "__main__":
    main()
