"""Classifier on small untrained models: entity scores line up with the mentions asked for,
cost no extra pass, read a late mention in its sentence, and fall back to the story's sentiment
where a mention cannot be read at all."""

import pytest
import torch

from monitor.nlp.checkpoint import Checkpoint
from monitor.nlp.classifier import Classifier
from monitor.nlp.mentions import locate
from monitor.nlp.model import LSTMConfig, NewsLSTM

TEXTS = [
    "Acme wins $2bn contract from Globex after Globex's own bid collapsed",
    "Markets are quiet",
    "Initech beats estimates; Acme and Globex lag",
]


def classifier(entity_head: bool = True, **kwargs: object) -> Classifier:
    torch.manual_seed(0)
    model = NewsLSTM(LSTMConfig(embed_dim=8, hidden_dim=4, entity_head=entity_head))
    return Classifier(Checkpoint(model=model, version="tiny"), device="cpu", **kwargs)  # type: ignore[arg-type]


def mentions_of(text: str, *names: str) -> list[tuple[int, int]]:
    return [locate(text, name) for name in names]


def count_forwards(model: torch.nn.Module) -> list[int]:
    calls: list[int] = []
    model.register_forward_hook(lambda module, args, output: calls.append(len(args[0])))
    return calls


def test_entities_align_with_the_mentions_and_cost_no_extra_forward() -> None:
    clf = classifier(batch_size=8)
    calls = count_forwards(clf.model)
    mentions = [
        mentions_of(TEXTS[0], "Acme", "Globex"),
        [],
        mentions_of(TEXTS[2], "Initech", "Acme", "Globex"),
    ]
    predictions = clf.predict_normalized(TEXTS, mentions=mentions)
    assert calls == [3]  # one forward for 3 stories and 5 entities
    assert [len(p.entities) for p in predictions] == [2, 0, 3]
    for prediction in predictions:
        for entity in prediction.entities:
            assert entity.from_mention
            assert set(entity.probabilities) == {"negative", "neutral", "positive"}
            assert entity.confidence == max(entity.probabilities.values())
            assert entity.score == pytest.approx(
                entity.probabilities["positive"] - entity.probabilities["negative"], abs=2e-5
            )
    # each mention is read where it is: the same text, other mentions, other scores
    acme, globex = predictions[0].entities
    assert acme.probabilities != globex.probabilities
    # order and batching do not change a story's entities
    alone = clf.predict_normalized(TEXTS[2:], mentions=mentions[2:])[0]
    for a, b in zip(alone.entities, predictions[2].entities, strict=True):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-4)


def test_story_fields_do_not_change_when_entities_are_asked_for() -> None:
    clf = classifier()
    plain = clf.predict_normalized(TEXTS)
    with_entities = clf.predict_normalized(TEXTS, mentions=[mentions_of(TEXTS[0], "Acme"), [], []])
    for a, b in zip(plain, with_entities, strict=True):
        assert a.sentiment_score == pytest.approx(b.sentiment_score, abs=1e-4)
        assert a.topic == b.topic
    assert plain[0].entities == ()


def test_without_an_entity_head_entities_get_the_story_sentiment() -> None:
    clf = classifier(entity_head=False)
    (prediction,) = clf.predict_normalized(
        TEXTS[:1], mentions=[mentions_of(TEXTS[0], "Acme", "Globex")]
    )
    assert len(prediction.entities) == 2
    for entity in prediction.entities:
        assert not entity.from_mention
        assert entity.sentiment == prediction.sentiment
        assert entity.score == prediction.sentiment_score
        assert entity.probabilities == prediction.probabilities["sentiment"]


def test_a_mention_past_truncation_is_read_in_its_own_sentence() -> None:
    clf = classifier(max_length=16, batch_size=8)
    calls = count_forwards(clf.model)
    text = (
        "Acme wins contract. The market was calm and traders waited for the data from the "
        "central bank. Shares of rival Globex fell after the news. Analysts were surprised."
    )
    (prediction,) = clf.predict_normalized([text], mentions=[mentions_of(text, "Acme", "Globex")])
    acme, globex = prediction.entities
    assert acme.from_mention and globex.from_mention
    assert calls == [1, 1]  # the story's forward, then one for the late mention
    sentence = "Shares of rival Globex fell after the news."
    (alone,) = clf.predict_normalized([sentence], mentions=[mentions_of(sentence, "Globex")])
    assert globex.probabilities == pytest.approx(alone.entities[0].probabilities, abs=1e-5)


def test_a_mention_not_even_its_sentence_can_show_gets_the_story_sentiment() -> None:
    clf = classifier(max_length=8)
    (prediction,) = clf.predict_normalized(
        TEXTS[:1], mentions=[mentions_of(TEXTS[0], "Acme", "Globex")]
    )
    acme, globex = prediction.entities
    assert acme.from_mention
    assert not globex.from_mention and globex.sentiment == prediction.sentiment


def test_mentions_must_match_the_texts() -> None:
    with pytest.raises(ValueError, match="2 mention lists for 3 texts"):
        classifier().predict_normalized(TEXTS, mentions=[[], []])


def test_temperature_softens_probabilities() -> None:
    clf = classifier()
    sharp = clf.probabilities(TEXTS)[1]
    clf.temperatures["sentiment"] = 5.0
    soft = clf.probabilities(TEXTS)[1]
    assert torch.equal(sharp.argmax(-1), soft.argmax(-1))
    assert (soft.max(-1).values < sharp.max(-1).values).all()


def test_quantized_model_scores_entities_too() -> None:
    clf = classifier(quantize=True)
    assert clf.version.endswith("+int8")
    (prediction,) = clf.predict_normalized(TEXTS[:1], mentions=[mentions_of(TEXTS[0], "Acme")])
    assert prediction.entities[0].from_mention


def test_mixed_precision_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.settings import load_settings

    monkeypatch.setenv("MONITOR_MODEL__MIXED_PRECISION", "true")
    monkeypatch.setenv("MONITOR_MODEL__DEVICE", "cpu")
    settings = load_settings().model
    assert settings.mixed_precision is True
    assert Classifier.from_settings(settings).mixed_precision is True
    monkeypatch.delenv("MONITOR_MODEL__MIXED_PRECISION")
    assert load_settings().model.mixed_precision is False  # measured slower on a GPU
    on_cpu = classifier(mixed_precision=True)
    assert on_cpu.autocast and on_cpu.autocast_dtype == torch.bfloat16  # bf16 on a CPU
    assert not classifier(mixed_precision=True, quantize=True).autocast  # int8 has its own


def test_bf16_on_cpu_gives_the_same_labels_and_close_probabilities() -> None:
    plain, mixed = classifier(), classifier(mixed_precision=True)
    mentions = [mentions_of(TEXTS[0], "Acme", "Globex"), [], mentions_of(TEXTS[2], "Initech")]
    for a, b in zip(
        plain.predict_normalized(TEXTS, mentions=mentions),
        mixed.predict_normalized(TEXTS, mentions=mentions),
        strict=True,
    ):
        assert (a.topic, a.sentiment) == (b.topic, b.sentiment)
        assert a.sentiment_score == pytest.approx(b.sentiment_score, abs=0.02)
        for x, y in zip(a.entities, b.entities, strict=True):
            assert x.score == pytest.approx(y.score, abs=0.02)
