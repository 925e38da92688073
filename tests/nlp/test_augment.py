import torch

from monitor.nlp.augment import AugmentConfig, augment_ids

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
    out, out_lengths = augment_ids(ids, lengths, AugmentConfig(copies=3), mask_id=MASK, seed=1)
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
    out, out_lengths = augment_ids(ids[:1], lengths[:1], config, mask_id=MASK, seed=2)
    inner = out_lengths - 2
    assert inner.min() >= 12 and inner.max() <= 20  # 60 % of 20 pieces
    assert len(set(inner.tolist())) > 1  # spans of several lengths
    for j, n in enumerate(inner.tolist()):  # a contiguous span of the original
        span = out[j, 1 : 1 + n].tolist()
        assert span == list(range(span[0], span[0] + n))


def test_masking_rate_is_about_mask_prob_and_seeded() -> None:
    ids, lengths = _rows()
    config = AugmentConfig(copies=200, mask_prob=0.1, crop_prob=0.0)
    out, _ = augment_ids(ids[:1], lengths[:1], config, mask_id=MASK, seed=3)
    share = out[:, 1:21].eq(MASK).float().mean().item()
    assert 0.08 < share < 0.12
    again, _ = augment_ids(ids[:1], lengths[:1], config, mask_id=MASK, seed=3)
    assert torch.equal(out, again)
    other, _ = augment_ids(ids[:1], lengths[:1], config, mask_id=MASK, seed=4)
    assert not torch.equal(out, other)


def test_no_copies_gives_an_empty_set() -> None:
    ids, lengths = _rows()
    out, out_lengths = augment_ids(ids, lengths, AugmentConfig(copies=0), mask_id=MASK, seed=1)
    assert out.shape == (0, ids.shape[1]) and out_lengths.numel() == 0
