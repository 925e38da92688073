import numpy as np
import torch

from monitor.nlp.augment import AugmentConfig, augment_ids, augment_set
from monitor.nlp.batching import EncodedSet
from monitor.nlp.model import IGNORE_INDEX
from monitor.nlp.sources import Mentions

CLS, SEP, MASK = 101, 102, 103


def _rows() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.tensor(
        [
            [CLS, *range(2000, 2020), SEP],
            [CLS, 3000, 3001, SEP] + [0] * 18,
        ]
    )
    return ids, torch.tensor([22, 4])


def test_copies_keep_cls_and_sep_and_come_from_their_row() -> None:
    ids, lengths = _rows()
    out, out_lengths, _ = augment_ids(ids, lengths, AugmentConfig(copies=3), mask_id=MASK, seed=1)
    assert out.shape == (6, ids.shape[1])
    for j, length in enumerate(out_lengths.tolist()):
        source = j // 3
        row = out[j, :length].tolist()
        assert row[0] == CLS and row[-1] == SEP
        assert set(row[1:-1]) <= set(ids[source, 1 : lengths[source] - 1].tolist()) | {MASK}
        assert out[j, length:].eq(0).all()  # padding stays padding


def test_crops_keep_at_least_min_keep_of_the_text() -> None:
    ids, lengths = _rows()
    config = AugmentConfig(copies=50, mask_prob=0.0, crop_prob=1.0, min_keep=0.6)
    out, out_lengths, _ = augment_ids(ids[:1], lengths[:1], config, mask_id=MASK, seed=2)
    inner = out_lengths - 2
    assert inner.min() >= 12 and inner.max() <= 20  # 60 % of 20 pieces
    assert len(set(inner.tolist())) > 1  # spans of several lengths
    for j, n in enumerate(inner.tolist()):  # a contiguous span of the original
        span = out[j, 1 : 1 + n].tolist()
        assert span == list(range(span[0], span[0] + n))


def test_masking_rate_is_about_mask_prob_and_seeded() -> None:
    ids, lengths = _rows()
    config = AugmentConfig(copies=200, mask_prob=0.1, crop_prob=0.0)
    out, _, _ = augment_ids(ids[:1], lengths[:1], config, mask_id=MASK, seed=3)
    share = out[:, 1:21].eq(MASK).float().mean().item()
    assert 0.08 < share < 0.12
    again, _, _ = augment_ids(ids[:1], lengths[:1], config, mask_id=MASK, seed=3)
    assert torch.equal(out, again)
    other, _, _ = augment_ids(ids[:1], lengths[:1], config, mask_id=MASK, seed=4)
    assert not torch.equal(out, other)


def test_no_copies_gives_an_empty_set() -> None:
    ids, lengths = _rows()
    out, out_lengths, _ = augment_ids(ids, lengths, AugmentConfig(copies=0), mask_id=MASK, seed=1)
    assert out.shape == (0, ids.shape[1]) and out_lengths.numel() == 0


def test_augmented_copies_move_mentions_with_the_crop() -> None:
    ids = torch.tensor([[CLS, *range(2000, 2020), SEP]])
    mentions = Mentions(np.array([0, 0]), np.array([[1, 3], [18, 21]]), np.array([2, 0]))
    data = EncodedSet(ids, torch.tensor([22]), np.full((1, 2), IGNORE_INDEX), mentions)
    config = AugmentConfig(copies=40, mask_prob=0.0, crop_prob=1.0, min_keep=0.6)
    copies = augment_set(data, config, mask_id=MASK, seed=5)
    assert len(copies) == 40 and (copies.labels == IGNORE_INDEX).all()
    assert (copies.mentions.labels == IGNORE_INDEX).all()  # the teacher labels them
    survived = {0: 0, 1: 0}
    for story, (start, end) in zip(copies.mentions.story, copies.mentions.spans, strict=True):
        tokens = copies.input_ids[story, start:end].tolist()
        assert tokens in ([2000, 2001], [2017, 2018, 2019])  # the same pieces, moved
        survived[tokens[0] == 2017] += 1
    assert 0 < survived[0] < 40 and 0 < survived[1] < 40  # some crops cut each mention out


def test_a_domain_token_after_cls_stays_in_place() -> None:
    """lead=2: [CLS] and the domain token are never masked or cropped; mentions still move."""
    domain = 4
    ids = torch.tensor([[CLS, domain, *range(2000, 2020), SEP]])
    mentions = Mentions(np.array([0]), np.array([[19, 22]]), np.array([0]))
    data = EncodedSet(ids, torch.tensor([23]), np.full((1, 2), IGNORE_INDEX), mentions)
    config = AugmentConfig(copies=30, mask_prob=0.3, crop_prob=1.0, min_keep=0.6)
    copies = augment_set(data, config, mask_id=MASK, seed=3, lead=2)
    for row, length in zip(copies.input_ids.tolist(), copies.lengths.tolist(), strict=True):
        assert row[:2] == [CLS, domain] and row[length - 1] == SEP
        assert domain not in row[2 : length - 1]
    assert len(copies.mentions.story)  # some crops keep the mention
    for story, (start, end) in zip(copies.mentions.story, copies.mentions.spans, strict=True):
        pieces = copies.input_ids[story, start:end].tolist()
        assert start >= 2 and set(pieces) <= {2017, 2018, 2019, MASK}
