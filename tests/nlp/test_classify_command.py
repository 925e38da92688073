"""`monitor classify` and `monitor evaluate --task entity` end to end on small files, with the
tiny checkpoint trained by the `trained` fixture (entity head included)."""

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.nlp.checkpoint import load_checkpoint
from monitor.nlp.commands import classify_command, evaluate_command
from monitor.nlp.mentions import EntityNotFoundError
from monitor.nlp.sources import source_domain

TEXT = "Acme wins contract from Globex after Globex bid collapses"


def classify(checkpoint: Path, *args: str, stdin: str | None = None) -> list[dict]:
    result = CliRunner().invoke(
        classify_command, ["--checkpoint", str(checkpoint), "--json", *args], input=stdin
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_classify_texts_with_entities_prints_one_object_per_text(
    trained: tuple[Path, Path],
) -> None:
    checkpoint, _ = trained
    rows = classify(checkpoint, TEXT, "--entities", "acme,Globex")
    (row,) = rows
    assert row["text"] == TEXT
    assert {
        "topic",
        "topic_confidence",
        "sentiment",
        "sentiment_confidence",
        "sentiment_score",
    } <= set(row)
    assert [e["entity"] for e in row["entities"]] == ["acme", "Globex"]
    for entity in row["entities"]:
        assert entity["sentiment"] in {"negative", "neutral", "positive"}
        assert 0.0 <= entity["confidence"] <= 1.0 and -1.0 <= entity["score"] <= 1.0
        assert entity["from_mention"] is True
    plain = classify(checkpoint, TEXT, "Markets are quiet today")
    assert [r["entities"] for r in plain] == [[], []]
    assert plain[0]["sentiment_score"] == pytest.approx(row["sentiment_score"], abs=1e-4)


def test_classify_reads_csv_jsonl_and_stdin(trained: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint, _ = trained
    table = tmp_path / "stories.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "entities"])
        writer.writerow([TEXT, "Acme,Globex"])
        writer.writerow(["Initech profit jumps in quarter 2", "Initech"])
    rows = classify(checkpoint, "--file", str(table))
    assert [[e["entity"] for e in r["entities"]] for r in rows] == [["Acme", "Globex"], ["Initech"]]
    feed = tmp_path / "stories.jsonl"
    stories = [
        {
            "id": "1",
            "headline": "Hooli profit slumps",
            "body": "Vandelay gains share.",
            "entities": ["Vandelay"],
        },
        {"id": "2", "headline": "Umbrella steady"},
    ]
    feed.write_text("\n".join(json.dumps(s) for s in stories) + "\n")
    rows = classify(checkpoint, "--file", str(feed), "--entities", "Umbrella")
    assert rows[0]["text"] == "Hooli profit slumps. Vandelay gains share."  # headline + body
    assert [e["entity"] for e in rows[0]["entities"]] == ["Vandelay"]  # the row's own list
    assert [e["entity"] for e in rows[1]["entities"]] == ["Umbrella"]  # --entities otherwise
    rows = classify(checkpoint, "--entities", "Acme", stdin=f"{TEXT}\n\nAcme steady\n")
    assert [r["text"] for r in rows] == [TEXT, "Acme steady"]


def test_classify_table_shows_entities_under_their_story(trained: tuple[Path, Path]) -> None:
    checkpoint, _ = trained
    result = CliRunner().invoke(
        classify_command, ["--checkpoint", str(checkpoint), TEXT, "--entities", "Acme,Globex"]
    )
    assert result.exit_code == 0, result.output
    header, story, acme, globex = result.output.splitlines()
    assert header.split()[:3] == ["topic", "conf", "sentiment"]
    assert story.endswith(TEXT)
    assert acme.startswith("  ↳ Acme") and globex.startswith("  ↳ Globex")


def test_an_absent_entity_is_an_error_naming_it_and_its_row(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    checkpoint, _ = trained
    table = tmp_path / "stories.csv"
    table.write_text(f"text,entities\n{TEXT},Acme\nGlobex steady,Initech\n")
    result = CliRunner().invoke(
        classify_command, ["--checkpoint", str(checkpoint), "--file", str(table)]
    )
    assert isinstance(result.exception, EntityNotFoundError)  # monitor.cli.main: one line, exit 2
    assert "row 2" in str(result.exception) and "'Initech'" in str(result.exception)
    assert result.output == ""  # nothing printed for a chunk with a bad row


def test_evaluate_entity_task_writes_predictions(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    checkpoint, data_dir = trained
    out = tmp_path / "predictions.csv"
    args = ["--checkpoint", str(checkpoint), "--data", str(data_dir / "sentfin_entities.csv")]
    result = CliRunner().invoke(
        evaluate_command, [*args, "--task", "entity", "--json", "--predictions", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["text", "entity", "gold", "predicted", "confidence", "correct"]
    assert len(rows) == report["n"] == 54 + 24 and report["unlocated"] == 0
    assert report["precision"] == "fp32"  # no MONITOR_MODEL__ setting asks for another
    correct = sum(row["correct"] == "True" for row in rows)
    assert correct / len(rows) == pytest.approx(report["accuracy"], abs=1e-4)
    assert all(row["correct"] == str(row["gold"] == row["predicted"]) for row in rows)


def test_evaluate_validation_split_reproduces_the_training_figures(
    trained: tuple[Path, Path],
) -> None:
    checkpoint, data_dir = trained
    metrics = json.loads(checkpoint.with_name("tiny.metrics.json").read_text())["validation"]
    cases = [
        ("sentfin_entities.csv", "entity", "sentfin/entity"),
        ("sentfin_headlines.csv", "sentiment", "sentfin/headline"),
        ("tfns_topic_train.csv", "topic", "tfns/topic"),
    ]
    for filename, task, name in cases:
        args = ["--checkpoint", str(checkpoint), "--data", str(data_dir / filename)]
        args += ["--domain", source_domain(name)]  # the tiny model has domain tokens too
        result = CliRunner().invoke(
            evaluate_command, [*args, "--task", task, "--split", "validation", "--json"]
        )
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["n"] == metrics[name]["n"], name
        assert report["accuracy"] == pytest.approx(metrics[name]["accuracy"], abs=1e-4), name


def test_evaluate_unknown_labels_list_the_valid_ones(trained: tuple[Path, Path], write_csv) -> None:
    checkpoint, _ = trained
    bad = write_csv("bad.csv", [("Acme up", "Acme", "Bullish")], ("text", "entity", "label"))
    result = CliRunner().invoke(
        evaluate_command, ["--checkpoint", str(checkpoint), "--data", str(bad), "--task", "entity"]
    )
    assert result.exit_code == 1
    assert (
        "'Bullish'" in result.output
        and "valid labels: negative, neutral, positive" in result.output
    )


@pytest.mark.parametrize(
    ("variable", "precision"),
    [("MONITOR_MODEL__QUANTIZE", "int8"), ("MONITOR_MODEL__MIXED_PRECISION", "bf16")],
)
def test_evaluate_scores_the_configured_model_as_the_consumer_runs_it(
    trained: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, variable: str, precision: str
) -> None:
    checkpoint, data_dir = trained
    monkeypatch.setenv("MONITOR_MODEL__CHECKPOINT", str(checkpoint))
    monkeypatch.setenv(variable, "true")
    monkeypatch.setenv("MONITOR_MODEL__DEVICE", "cpu")
    args = ["--data", str(data_dir / "sentfin_headlines.csv"), "--task", "sentiment"]
    result = CliRunner().invoke(evaluate_command, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["checkpoint"].startswith(load_checkpoint(checkpoint).version)
    assert report["precision"] == precision
    table = CliRunner().invoke(evaluate_command, args)
    assert f"({precision})" in table.output.splitlines()[0]


def test_classify_companies_scores_what_the_consumer_would_store(
    trained: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--companies: the dictionary's names in the text, read at their mention, and a JSONL
    row's `tickers` (a company not in the text gets the story's sentiment, from_mention False)."""
    checkpoint, _ = trained
    dictionary = tmp_path / "companies.csv"
    dictionary.write_text(
        "ticker,name,aliases,sector\nACME,Acme Corp,Acme,Industrials\nGBX,Globex,,Energy\n"
        "INIT,Initech,,Information Technology\n"
    )
    monkeypatch.setenv("MONITOR_ENTITIES__DICTIONARY", str(dictionary))
    monkeypatch.setenv("MONITOR_ENTITIES__ENABLED", "false")  # asked for: on regardless
    (row,) = classify(checkpoint, TEXT, "--companies", "--entities", "Globex")
    assert [e["entity"] for e in row["entities"]] == ["Globex"]  # the asked ones stay apart
    companies = {c["entity"]: c for c in row["companies"]}
    assert list(companies) == ["ACME", "GBX"]  # in order of first mention
    assert companies["ACME"]["mention"] == "Acme" and companies["ACME"]["sector"] == "Industrials"
    assert all(c["from_mention"] and c["matched_by"] == "name" for c in companies.values())
    # the same mention read twice in one forward (asked, and found) scores the same
    assert companies["GBX"]["score"] == pytest.approx(row["entities"][0]["score"], abs=1e-5)

    feed = tmp_path / "stories.jsonl"
    feed.write_text(json.dumps({"id": "1", "headline": TEXT, "tickers": ["INIT"]}) + "\n")
    (row,) = classify(checkpoint, "--file", str(feed), "--companies")
    initech = row["companies"][0]
    assert (initech["entity"], initech["matched_by"], initech["from_mention"]) == (
        "INIT",
        "ticker",
        False,
    )
    assert initech["score"] == pytest.approx(row["sentiment_score"], abs=1e-5)
    assert [c["entity"] for c in row["companies"]] == ["INIT", "ACME", "GBX"]
    assert "companies" not in classify(checkpoint, TEXT)[0]  # only when asked for

    result = CliRunner().invoke(
        classify_command, ["--checkpoint", str(checkpoint), "--companies", TEXT]
    )
    assert result.exit_code == 0, result.output
    assert [line.split()[:3] for line in result.output.splitlines()[2:]] == [
        ["↳", "ACME", "(Acme)"],
        ["↳", "GBX", "(Globex)"],
    ]
