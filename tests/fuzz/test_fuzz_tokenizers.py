"""Any Unicode text survives encode/decode, with exactly the characters the vocabulary
lacks shown as the unknown token (one per character), for both tokenizers.

Texts mix the vocabulary's own characters with arbitrary code points (no lone surrogates:
those are not Unicode text and cannot reach a tokenizer from a page or a UTF-8 file), plus
the word tokenizer's own escapes (U+2581, the newline symbol), which count as unknown.
"""

from fuzz_util import fuzz
from hypothesis import example, given
from hypothesis import strategies as st

from rnnlm.tokenizers import NEWLINE_SYMBOL, PRETOKEN_DELIMITER, SPACE_SYMBOL, UNKNOWN_ID, UNKNOWN_TEXT

ANY_CHARACTER = st.characters(exclude_categories=["Cs"])
TRICKY = st.sampled_from([SPACE_SYMBOL, NEWLINE_SYMBOL, PRETOKEN_DELIMITER, UNKNOWN_TEXT, "\n", "\r", "\t", " ",
                          "\x00", "\u200b", "\u202e", "\ufeff", "e\u0301", "\U0001f600", "  ", "\n\n"])


def texts(vocabulary_characters: list[str]) -> st.SearchStrategy[str]:
    known = st.sampled_from(sorted(vocabulary_characters))
    return st.lists(st.one_of(known, known, ANY_CHARACTER, TRICKY), max_size=120).map("".join)


def known_characters(tokenizer) -> set[str]:
    """Characters the vocabulary has a token for (the word model's newline is its own symbol)."""
    if tokenizer.kind == "char":
        return set(tokenizer.chars)
    single = {tokenizer._sp.id_to_piece(i) for i in range(tokenizer.vocab_size)}
    single = {piece.replace(SPACE_SYMBOL, " ") for piece in single if len(piece) == 1}
    return (single - {NEWLINE_SYMBOL, UNKNOWN_TEXT}) | {"\n"}


def expected(text: str, known: set[str]) -> str:
    return "".join(c if c in known else UNKNOWN_TEXT for c in text)


def check_round_trip(tokenizer, text: str) -> None:
    known = known_characters(tokenizer)
    ids = tokenizer.encode(text)
    assert all(isinstance(i, int) and 0 <= i < tokenizer.vocab_size for i in ids)
    shown = "".join(tokenizer.token_text(i) for i in ids)
    assert shown == tokenizer.decode(ids) == expected(text, known)
    assert ids.count(UNKNOWN_ID) == sum(c not in known for c in text)  # one unknown id per unknown character


def test_any_text_round_trips_through_the_char_tokenizer(char_tokenizer):
    @fuzz(150)
    @given(texts(char_tokenizer.chars))
    @example("")
    @example("ROMEO:\nO, she doth teach the torches to burn bright!")
    @example("caf\u00e9 \u6f22\u5b57 \U0001f600\x00")
    def check(text):
        check_round_trip(char_tokenizer, text)
    check()


def test_any_text_round_trips_through_the_word_tokenizer(word_tokenizer):
    @fuzz(150)
    @given(texts(sorted(known_characters(word_tokenizer) - {"\n"})))
    @example("")
    @example("\n\n  \tindented\n")
    @example(f"a{SPACE_SYMBOL}b{NEWLINE_SYMBOL}c \u6f22\u6f22\u6f22 d")
    @example("ROMEO:\nO, she doth teach the torches to burn bright!")
    def check(text):
        check_round_trip(word_tokenizer, text)
    check()
