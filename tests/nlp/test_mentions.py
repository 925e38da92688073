import pytest

from monitor.nlp.mentions import EntityNotFoundError, locate, mention_window, token_span
from monitor.nlp.tokenizer import encode_with_offsets

TEXT = "Acme wins $2bn contract from Globex after Globex's own bid collapsed"


def test_locate_finds_an_entity_at_the_start_and_at_the_end() -> None:
    assert locate(TEXT, "Acme") == (0, 4)
    text = "Contract lost to Globex"
    assert locate(text, "Globex") == (17, 23)
    assert text[slice(*locate(text, "globex"))] == "Globex"


def test_locate_takes_the_first_of_repeated_mentions_ignoring_case() -> None:
    assert locate(TEXT, "GLOBEX") == (29, 35)
    assert TEXT.count("Globex") == 2


def test_locate_needs_whole_words() -> None:
    with pytest.raises(EntityNotFoundError):
        locate("Acmeville council meets", "Acme")
    assert locate("ACME Corp. rallies", "acme corp.") == (0, 10)
    assert locate("S&P 500 hits a record", "S&P 500") == (0, 7)


def test_an_absent_entity_is_an_error_naming_it() -> None:
    with pytest.raises(EntityNotFoundError, match="'Initech'") as caught:
        locate(TEXT, "Initech")
    assert caught.value.entity == "Initech"
    with pytest.raises(EntityNotFoundError):
        locate(TEXT, "  ")


def test_token_span_covers_every_piece_of_the_mention() -> None:
    encoded, offsets = encode_with_offsets([TEXT], max_length=64)
    row_offsets, special = offsets[0]
    ids = encoded.input_ids[0].tolist()
    first, last = token_span(row_offsets, special, locate(TEXT, "Acme"))
    assert (first, last) == (1, 3)  # [CLS] ac ##me: the mention's two word pieces
    assert ids[0] == 101 and first >= 1
    start, end = token_span(row_offsets, special, locate(TEXT, "Globex"))
    assert end - start >= 1
    covered = {row_offsets[i] for i in range(start, end)}
    assert min(a for a, _ in covered) == 29 and max(b for _, b in covered) == 35


def test_token_span_is_none_past_truncation() -> None:
    encoded, offsets = encode_with_offsets([TEXT], max_length=8)
    assert int(encoded.lengths[0]) == 8
    row_offsets, special = offsets[0]
    assert token_span(row_offsets, special, locate(TEXT, "Acme")) is not None
    assert token_span(row_offsets, special, locate(TEXT, "Globex")) is None
    assert token_span(row_offsets, special, (3, 3)) is None  # an empty span reads nothing


def test_mention_window_is_the_sentence_around_the_mention() -> None:
    text = "Acme wins contract. Traders waited; shares of Globex fell 5% today. Analysts were calm."
    window, (a, b) = mention_window(text, locate(text, "Globex"))
    assert window == "shares of Globex fell 5% today."
    assert window[a:b] == "Globex"
    window, (a, b) = mention_window(text, locate(text, "Acme"))
    assert (window, window[a:b]) == ("Acme wins contract.", "Acme")


def test_mention_window_of_a_long_sentence_is_cut_at_spaces_around_the_mention() -> None:
    text = " ".join(["word"] * 100 + ["Globex"] + ["more"] * 100)
    window, (a, b) = mention_window(text, locate(text, "Globex"), width=60)
    assert len(window) <= 60 and window[a:b] == "Globex"
    assert set(window.split()) == {"word", "Globex", "more"}  # whole words only
    assert abs(window.index("Globex") - (len(window) - window.index("Globex") - 6)) <= 6
    window, (a, b) = mention_window("Globex", (0, 6), width=3)  # longer than the width
    assert (window, (a, b)) == ("Globex", (0, 6))


def test_a_domain_token_prefix_sits_after_cls_within_the_length_and_is_no_mention() -> None:
    text = "Globex rallies after the deal"
    plain, plain_offsets = encode_with_offsets([text], max_length=64)
    encoded, offsets = encode_with_offsets([text], max_length=64, prefix=4)
    ids = encoded.input_ids[0].tolist()
    assert ids[:2] == [101, 4] and ids[2:] == plain.input_ids[0].tolist()[1:]
    assert int(encoded.lengths[0]) == int(plain.lengths[0]) + 1
    row, special = offsets[0]
    assert special[1] == 1  # the prefix is special: no mention maps onto it
    a, b = token_span(*plain_offsets[0], locate(text, "Globex")) or (0, 0)
    assert token_span(row, special, locate(text, "Globex")) == (a + 1, b + 1)  # moved one on
    short, _ = encode_with_offsets([text], max_length=4, prefix=4)
    assert int(short.lengths[0]) == 4 and short.input_ids[0].tolist()[-1] == 102
