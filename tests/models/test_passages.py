"""Relevant passages: which sentences of a long second text a cross model reads beside the first."""

from __future__ import annotations

import pytest

from textsiam.deploy.cross_export import cross_dropped
from textsiam.errors import ConfigError
from textsiam.models.io import build_model, load_model
from textsiam.models.passages import content_words, relevant_passages, sentences


def words(texts):  # a token counter for the unit tests: one token per word
    return [len(t.split()) for t in texts]


BODY = (
    "The city council met on Tuesday evening. Roads and parks took most of the meeting. "
    "Later the mayor denied that the bridge will close in March. Residents asked about bins."
)


def test_a_text_that_fits_is_read_whole():
    assert relevant_passages("bridge closes", BODY, budget=100, count_tokens=words) == BODY


def test_keeps_the_sentences_that_share_words_with_the_first_text_in_their_order():
    kept = relevant_passages("Mayor says the bridge closes in March", BODY, budget=20, count_tokens=words)
    # the third sentence shares mayor, bridge, close(s), march; the first fits beside it, the second does not
    assert kept == " ".join([sentences(BODY)[0], "Later the mayor denied that the bridge will close in March."])
    assert sum(words(sentences(kept))) <= 20


def test_with_no_shared_word_the_first_sentences_that_fit_are_read():
    # 7 words, then the second (8) would pass 14: the fourth (4) is the next that fits
    kept = relevant_passages("Gateway Pundit", BODY, budget=14, count_tokens=words)
    assert kept == "The city council met on Tuesday evening. Residents asked about bins."


def test_the_best_sentence_is_kept_even_over_the_budget():
    kept = relevant_passages("bridge closes", BODY, budget=3, count_tokens=words)
    assert kept == "Later the mayor denied that the bridge will close in March."


def test_words_are_compared_without_case_stop_words_or_endings():
    assert content_words("The Mayor CLAIMED it") == content_words("mayors claims") == {"mayor", "claim"}
    assert content_words("the and of it was") == set()


def test_sentences_do_not_end_at_initials_or_titles():
    text = "Footage of the U.S. delegation aired. Mr. Plant said no!\n\nA new paragraph"
    assert sentences(text) == ["Footage of the U.S. delegation aired.", "Mr. Plant said no!", "A new paragraph"]


def _cross(folder, **args):
    config = {"pair_model": "cross", "encoder": {"name": "hf-transformer", "args": {"model_name_or_path": str(folder)}}}
    return build_model({**config, **args}).eval()


def test_a_cross_model_reads_the_relevant_passages_and_saves_the_choice(tiny_bert_dir, tmp_path):
    lede, relevant = _cross(tiny_bert_dir), _cross(tiny_bert_dir, passages="relevant")
    tok = relevant.encoder.tokenizer
    headline, body = "the mayor and the bridge", BODY * 2
    size = {t: len(tok(t, add_special_tokens=False)["input_ids"]) for t in [headline, *sentences(BODY)]}
    # room for the headline, 3 special tokens and the mayor's sentence, but not for the first sentence beside them
    room = size[headline] + 3 + size[sentences(BODY)[2]] + 1
    assert size[sentences(BODY)[0]] > 1
    lede.encoder.max_length = relevant.encoder.max_length = room
    read = tok.decode(relevant.collate_pairs([headline], [body])["input_ids"][0], skip_special_tokens=True)
    assert "mayor denied" in read and "council" not in read
    start = tok.decode(lede.collate_pairs([headline], [body])["input_ids"][0], skip_special_tokens=True)
    assert "council" in start and "mayor denied" not in start  # the default reads the start
    relevant.save(tmp_path / "m")
    assert load_model(tmp_path / "m").passages == "relevant"
    assert any("passages='relevant'" in part for part in cross_dropped(relevant))  # an HF export cannot pick them


def test_passages_must_be_lede_or_relevant(tiny_bert_dir):
    with pytest.raises(ConfigError, match=r"cross model: passages must be one of 'lede', 'relevant', got 'best'"):
        _cross(tiny_bert_dir, passages="best")
