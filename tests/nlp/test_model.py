import pytest
import torch
from torch.nn import functional as F

from monitor.nlp.model import (
    IGNORE_INDEX,
    EntitySpans,
    LSTMConfig,
    NewsLSTM,
    distillation_loss,
    masked_cross_entropy,
    multitask_loss,
)


def test_masked_loss_counts_only_the_labelled_head() -> None:
    torch.manual_seed(0)
    topic_logits, sentiment_logits = torch.randn(4, 20), torch.randn(4, 3)
    topic = torch.tensor([3, IGNORE_INDEX, 7, IGNORE_INDEX])
    sentiment = torch.tensor([IGNORE_INDEX, 2, IGNORE_INDEX, 0])
    loss = multitask_loss(topic_logits, sentiment_logits, topic, sentiment)
    expected = F.cross_entropy(topic_logits[[0, 2]], topic[[0, 2]]) + F.cross_entropy(
        sentiment_logits[[1, 3]], sentiment[[1, 3]]
    )
    assert torch.allclose(loss, expected)


def test_head_without_labels_adds_zero_and_keeps_gradients_finite() -> None:
    logits = torch.randn(3, 20, requires_grad=True)
    loss = masked_cross_entropy(logits, torch.full((3,), IGNORE_INDEX))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() == 0


def test_class_weights_change_the_loss() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    labels = torch.tensor([1, 1])
    plain = masked_cross_entropy(logits, labels)
    weighted = masked_cross_entropy(logits, labels, weight=torch.tensor([1.0, 1.0, 1.0]))
    assert torch.allclose(plain, weighted)
    smoothed = masked_cross_entropy(logits, labels, label_smoothing=0.1)
    assert smoothed > plain


def test_forward_returns_both_heads_and_loss_with_padding() -> None:
    torch.manual_seed(0)
    model = NewsLSTM(LSTMConfig(vocab_size=50, embed_dim=8, hidden_dim=4)).eval()
    ids = torch.tensor([[5, 6, 7], [8, 0, 0]])
    out = model(
        ids, torch.tensor([3, 1]), torch.tensor([1, IGNORE_INDEX]), torch.tensor([IGNORE_INDEX, 2])
    )
    assert out.topic_logits.shape == (2, 20) and out.sentiment_logits.shape == (2, 3)
    assert out.loss is not None and torch.isfinite(out.loss)
    # padding must not change a text's encoding
    alone = model(torch.tensor([[8]]), torch.tensor([1]))
    assert torch.allclose(alone.topic_logits, out.topic_logits[1:], atol=1e-6)


def test_distillation_loss_is_zero_at_the_teacher_and_pulls_towards_it() -> None:
    teacher = torch.tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]])
    assert distillation_loss(teacher.clone(), teacher, temperature=2.0).item() < 1e-6
    student = torch.zeros(2, 3, requires_grad=True)
    loss = distillation_loss(student, teacher, temperature=2.0)
    assert loss.item() > 0
    loss.backward()
    assert student.grad is not None
    stepped = (student - student.grad).detach()  # one gradient step moves towards the teacher
    assert distillation_loss(stepped, teacher, temperature=2.0) < loss


def test_distillation_loss_scales_with_temperature_squared() -> None:
    """At high T the T² factor keeps the loss (and gradients) from vanishing."""
    teacher = torch.tensor([[1.0, 0.0, -1.0]])
    student = torch.zeros(1, 3)
    low = distillation_loss(student, teacher, temperature=1.0).item()
    high = distillation_loss(student, teacher, temperature=4.0).item()
    assert 0.5 * low < high < 2 * low  # without T² it would be ~13× smaller


def _entity_model(**overrides: object) -> NewsLSTM:
    config = LSTMConfig(
        vocab_size=50, embed_dim=8, hidden_dim=6, entity_head=True, attention_dim=4, **overrides
    )
    return NewsLSTM(config)


def test_entity_head_scores_each_mention_from_one_pass() -> None:
    torch.manual_seed(0)
    model = _entity_model().eval()
    ids = torch.tensor([[1, 5, 6, 7, 8, 2], [1, 9, 10, 2, 0, 0]])
    lengths = torch.tensor([6, 4])
    mentions = EntitySpans(torch.tensor([0, 0, 1]), torch.tensor([[1, 2], [3, 5], [1, 3]]))
    out = model(ids, lengths, mentions=mentions)
    assert out.entity_logits is not None and out.entity_logits.shape == (3, 3)
    assert not torch.allclose(out.entity_logits[0], out.entity_logits[1])  # reads the mention
    # padding and the other stories in the batch do not change a mention's logits
    alone = model(
        ids[1:, :4], lengths[1:], mentions=EntitySpans(torch.tensor([0]), mentions.spans[2:])
    )
    assert alone.entity_logits is not None
    assert torch.allclose(alone.entity_logits, out.entity_logits[2:], atol=1e-5)
    assert torch.allclose(alone.sentiment_logits, out.sentiment_logits[1:], atol=1e-5)


def test_mentions_without_an_entity_head_are_refused() -> None:
    model = NewsLSTM(LSTMConfig(vocab_size=50, embed_dim=8, hidden_dim=4))
    assert model.entity is None
    with pytest.raises(ValueError, match="no entity head"):
        model(
            torch.tensor([[1, 2]]),
            torch.tensor([2]),
            mentions=EntitySpans(torch.tensor([0]), torch.tensor([[0, 1]])),
        )


def test_entity_head_learns_sentiment_that_depends_on_the_target() -> None:
    """'X beats Y' is good for X and bad for Y; 'X trails Y' the reverse: the story-level
    sentiment cannot tell them apart, so only a head that reads the mention can learn it."""
    torch.manual_seed(0)
    names, beats, trails, cls, sep = list(range(10, 30)), 3, 4, 1, 2
    train_names, test_names = names[:14], names[14:]

    def batch(pool: list[int], n: int) -> tuple[torch.Tensor, EntitySpans, torch.Tensor]:
        gen = torch.Generator().manual_seed(len(pool) * n)
        x = torch.tensor(pool)[torch.randint(len(pool), (n,), generator=gen)]
        y = torch.tensor(pool)[torch.randint(len(pool), (n,), generator=gen)]
        verb = torch.where(torch.rand(n, generator=gen) < 0.5, beats, trails)
        ids = torch.stack([torch.full((n,), cls), x, verb, y, torch.full((n,), sep)], 1)
        first = torch.rand(n, generator=gen) < 0.5  # which of the two is the target
        spans = torch.where(first[:, None], torch.tensor([1, 2]), torch.tensor([3, 4]))
        good = (verb == beats) == first
        return ids, EntitySpans(torch.arange(n), spans), torch.where(good, 2, 0)

    model = _entity_model(dropout=0.0, embed_dropout=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    ids, mentions, labels = batch(train_names, 256)
    lengths = torch.full((len(ids),), 5)
    for _ in range(150):
        out = model(ids, lengths, mentions=mentions)
        assert out.entity_logits is not None
        loss = F.cross_entropy(out.entity_logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    ids, mentions, labels = batch(test_names, 200)  # names never seen in training
    out = model(ids, torch.full((len(ids),), 5), mentions=mentions)
    assert out.entity_logits is not None
    # chance is 0.5: each story is good for one of its names and bad for the other
    assert (out.entity_logits.argmax(-1) == labels).float().mean() > 0.85


def test_entity_head_reads_each_mention_as_the_plain_per_mention_formula() -> None:
    """The head gathers spans and sums attention per story without copying states per mention;
    it must equal the plain formula on every mention (several per story, rows in any order)."""
    torch.manual_seed(0)
    config = LSTMConfig(vocab_size=50, embed_dim=8, hidden_dim=6, entity_head=True, attention_dim=4)
    head = NewsLSTM(config).entity
    assert head is not None
    head.eval()
    h = torch.randn(3, 7, 12)
    lengths = torch.tensor([7, 5, 3])
    mask = (torch.arange(7)[None, :] < lengths[:, None]).unsqueeze(-1)
    pooled = torch.randn(3, 24)
    rows = torch.tensor([1, 0, 1, 2, 0])
    spans = torch.tensor([[0, 2], [3, 4], [2, 5], [0, 3], [6, 7]])
    got = head(h, mask, pooled, EntitySpans(rows, spans))

    def plain(m: int) -> torch.Tensor:
        r, (a, b) = int(rows[m]), spans[m].tolist()
        states, span = h[r], h[r, a:b]
        query = head.query(torch.cat([span.mean(0), span.amax(0)]))
        scores = (head.key(states) @ query) / query.numel() ** 0.5
        weights = scores.masked_fill(~mask[r, :, 0], float("-inf")).softmax(-1)
        features = torch.cat(
            [span.mean(0), span.amax(0), h[r, b - 1, :6], h[r, a, 6:], weights @ states, pooled[r]]
        )
        return head.mlp(features)

    expected = torch.stack([plain(m) for m in range(len(rows))])
    assert torch.allclose(got, expected, atol=1e-5)
