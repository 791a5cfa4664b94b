"""Tokenizers: exact round trips (Unicode, newlines, tabs, indentation), unknowns, save/load."""

import pytest
from conftest import SHARED_DATA

from rnnlm import CharTokenizer, CheckpointError, WordTokenizer, load_tokenizer
from rnnlm.tokenizers import UNKNOWN_ID, UNKNOWN_TEXT

CORPORA = ["tinyshakespeare", "shakespeare", "c", "linux"]


def corpus_slice(name: str, chars: int = 150_000, start_fraction: float = 0.3) -> str:
    text = (SHARED_DATA / f"{name}.txt").read_text(encoding="utf-8")
    start = int(len(text) * start_fraction)
    return text[start:start + chars]


def test_char_round_trip_full_unicode():
    text = "Größe naïve 日本語 emoji 🙂\n\ttab  two spaces\r\n"
    tok = CharTokenizer.build(text)
    assert tok.decode(tok.encode(text)) == text
    assert tok.vocab_size == len(set(text)) + 1


def test_char_unknown_is_marked_not_crash():
    tok = CharTokenizer.build("abc")
    ids = tok.encode("abz🙂")
    assert ids[:2] == tok.encode("ab")
    assert ids[2:] == [UNKNOWN_ID, UNKNOWN_ID]
    assert tok.decode(ids) == "ab" + UNKNOWN_TEXT * 2
    assert tok.is_unknown(ids[3]) and not tok.is_unknown(ids[0])


def test_char_extension_keeps_ids(tmp_path):
    tok = CharTokenizer.build("hello")
    bigger = tok.extended("hello wörld")
    assert [bigger.encode(c) for c in "helo"] == [tok.encode(c) for c in "helo"]
    assert bigger.chars[tok.vocab_size - 1:] == sorted(" wörd")
    assert bigger.decode(bigger.encode("hello wörld")) == "hello wörld"


@pytest.mark.parametrize("name", CORPORA)
def test_char_round_trip_on_corpus(name):
    text = corpus_slice(name)
    tok = CharTokenizer.build(text)
    assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize("name", CORPORA)
def test_word_round_trip_on_corpus(name):
    text = corpus_slice(name)
    tok = WordTokenizer.build(text, vocab_size=2000)
    ids = tok.encode(text)
    assert tok.decode(ids) == text  # newlines, tabs and indentation included
    assert not any(tok.is_unknown(i) for i in ids)
    assert len(ids) < len(text) / 2.0  # really word-level: several characters per token


def test_word_tokens_are_words_and_code_tokens(shakespeare_text):
    prose = WordTokenizer.build(shakespeare_text, vocab_size=2000)
    pieces = [prose.token_text(i) for i in prose.encode("And what is the matter, my lord?")]
    assert " what" in pieces and " matter" in pieces and " lord" in pieces
    code = WordTokenizer.build(corpus_slice("linux", 400_000), vocab_size=4000)  # kernel style: tabs
    pieces = [code.token_text(i) for i in code.encode("static int size_t;\n\tif (p->next != NULL) return -1;")]
    for expected in ("static", " int", " size_t", "->", " return", " !="):
        assert expected in pieces, (expected, pieces)
    assert "\n" in pieces and "\t" in pieces


def test_word_unknown_characters_are_marked_one_each(word_tokenizer):
    ids = word_tokenizer.encode("the 日本 king")
    # one unknown id per character, as in the char tokenizer (a run folded into one token
    # would charge a whole word's nats to a single prediction)
    assert sum(word_tokenizer.is_unknown(i) for i in ids) == 2
    assert word_tokenizer.decode(ids) == "the " + UNKNOWN_TEXT * 2 + " king"


@pytest.mark.parametrize("text", ["a\u2581b", "a\ue00ab", "\u2581\u2581x\n\ue00a"])
def test_word_sentencepiece_symbols_in_text_are_unknown_not_spaces_or_newlines(word_tokenizer, text):
    decoded = word_tokenizer.decode(word_tokenizer.encode(text))
    assert decoded == "".join(UNKNOWN_TEXT if c in "\u2581\ue00a" else c for c in text)


def test_word_keeps_blank_lines_and_edges(word_tokenizer):
    text = "\n\nKING:\n   indented  spaces  \n\n"
    assert word_tokenizer.decode(word_tokenizer.encode(text)) == text


@pytest.mark.parametrize("kind", ["char", "word"])
def test_save_load_round_trip(tmp_path, kind, shakespeare_text, word_tokenizer):
    tok = CharTokenizer.build(shakespeare_text) if kind == "char" else word_tokenizer
    tok.save(tmp_path)
    again = load_tokenizer(tmp_path)
    sample = shakespeare_text[5000:7000]
    assert again.kind == kind and again.encode(sample) == tok.encode(sample)


def test_load_refuses_bad_tokenizer_files(tmp_path):
    (tmp_path / "tokenizer.json").write_text('{"kind": "pickle"}')
    with pytest.raises(CheckpointError, match="unknown tokenizer kind"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"kind": "word", "model": "tokenizer.model"}')
    (tmp_path / "tokenizer.model").write_bytes(b"not a protobuf")
    with pytest.raises(CheckpointError, match="SentencePiece"):
        load_tokenizer(tmp_path)


def test_word_vocabulary_too_large_for_the_text_says_what_fits():
    from rnnlm.errors import CorpusError
    from rnnlm.tokenizers import WordTokenizer
    with pytest.raises(CorpusError, match=r"too small for a 500-piece word vocabulary \(it supports at most \d+\)"):
        WordTokenizer.build("ab ab ab\n" * 100, 500)
