"""Char-level and word-level (SentencePiece BPE) tokenizers with exact round trips.

Both tokenizers share one interface: encode(text) -> list of ids, decode(ids) -> text,
token_text(id), is_unknown(id), vocab_size, save(folder), and load_tokenizer(folder)
reads back whichever kind a model folder holds. Id 0 is always the unknown token,
decoded as UNKNOWN_TEXT so the UI can mark it.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import sentencepiece as spm

from .errors import CheckpointError, CorpusError

UNKNOWN_TEXT = "\ufffd"  # shown wherever the model met something outside its vocabulary
UNKNOWN_ID = 0

# SentencePiece treats every input line as a sentence and drops newlines, so newline is
# carried as a private-use character registered as a user-defined symbol (always one piece).
NEWLINE_SYMBOL = "\ue00a"
# Training-only separator: BPE merges never cross it, so pieces stay inside one pre-token.
PRETOKEN_DELIMITER = "\ue00b"
SPACE_SYMBOL = "\u2581"  # SentencePiece's own escape for ' '
OWN_SYMBOLS = re.compile(f"([{SPACE_SYMBOL}{NEWLINE_SYMBOL}])")  # in a text, these are unknown characters

# Pre-tokens: identifiers/words (with one leading space), numbers, C operators, single
# punctuation, and whitespace runs (indentation). Prose gets whole words; code gets
# identifiers, keywords and operators as candidate pieces.
PRETOKEN_PATTERN = re.compile(
    r" ?[^\W\d][\w]*"
    r"| ?\d+"
    r"| ?(?:->|\+\+|--|<<=?|>>=?|[<>=!+\-*/%&|^]=|&&|\|\||/\*|\*/|//|::|##)"
    r"| ?[^\s\w]"
    r"|[ \t]+(?![^ \t])|[ \t]+"
    r"|\S"
)

TOKENIZER_FILE = "tokenizer.json"
SENTENCEPIECE_FILE = "tokenizer.model"
MAX_VOCAB = 200_000


class _TokenTexts:
    """What both tokenizers share: a table of each id's text, id 0 unknown."""

    _texts: list[str]

    def token_text(self, token_id: int) -> str:
        return self._texts[token_id]

    def decode(self, ids) -> str:
        return "".join(self._texts[i] for i in ids)

    def is_unknown(self, token_id: int) -> bool:
        return token_id == UNKNOWN_ID


class CharTokenizer(_TokenTexts):
    """One id per character seen in the training text; id 0 for anything else."""

    kind = "char"

    def __init__(self, chars: list[str]):
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise CheckpointError("char vocabulary must list distinct single characters")
        self.chars = list(chars)
        self._texts = [UNKNOWN_TEXT] + self.chars
        codepoints = np.array([ord(c) for c in self.chars], dtype=np.int64)
        self._sorted_codepoints = np.sort(codepoints)
        self._ids_by_sorted = np.argsort(codepoints) + 1

    @classmethod
    def build(cls, text: str) -> "CharTokenizer":
        if not text:
            raise CorpusError("cannot build a vocabulary from empty text")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 1

    def extended(self, text: str) -> "CharTokenizer":
        """A tokenizer that keeps every existing id and appends the new characters of text."""
        known = set(self.chars)
        return CharTokenizer(self.chars + sorted(set(text) - known))

    def encode(self, text: str) -> list[int]:
        # Vectorised lookup: ~50x faster than a dict per character on multi-MB corpora.
        codepoints = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        if len(codepoints) == 0 or len(self._sorted_codepoints) == 0:
            return [UNKNOWN_ID] * len(codepoints)
        pos = np.searchsorted(self._sorted_codepoints, codepoints).clip(0, len(self._sorted_codepoints) - 1)
        found = self._sorted_codepoints[pos] == codepoints
        return np.where(found, self._ids_by_sorted[pos], UNKNOWN_ID).tolist()

    def context_id(self) -> int:
        """The token fed before any text: a newline, as if the text started a new line."""
        return self.encode("\n")[0]

    def save(self, folder: Path) -> list[str]:
        (Path(folder) / TOKENIZER_FILE).write_text(
            json.dumps({"kind": "char", "chars": self.chars}, ensure_ascii=False), encoding="utf-8"
        )
        return [TOKENIZER_FILE]


class WordTokenizer(_TokenTexts):
    """SentencePiece BPE over pre-tokens, with newlines, tabs and indentation kept exactly."""

    kind = "word"

    def __init__(self, model_proto: bytes):
        self.model_proto = model_proto
        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
        self._newline_id = self._sp.piece_to_id(NEWLINE_SYMBOL)
        if self._newline_id == self._sp.unk_id():
            raise CheckpointError("word tokenizer has no newline symbol: it was not built by rnnlm")
        self._texts = [self._piece_text(i) for i in range(self._sp.get_piece_size())]

    def _piece_text(self, token_id: int) -> str:
        if self._sp.is_unknown(token_id):
            return UNKNOWN_TEXT
        piece = self._sp.id_to_piece(token_id)
        return piece.replace(SPACE_SYMBOL, " ").replace(NEWLINE_SYMBOL, "\n")

    @classmethod
    def build(cls, text: str, vocab_size: int, max_sentences: int = 400_000, threads: int = 2,
              fit_text: bool = False) -> "WordTokenizer":
        """A BPE vocabulary of vocab_size pieces. A text too small for that many is refused, or,
        with fit_text, gets as many pieces as it supports (the browser's jobs: no size to adjust)."""
        if not text.strip():
            raise CorpusError("cannot build a word vocabulary from empty text")
        sentences = [PRETOKEN_DELIMITER.join(PRETOKEN_PATTERN.findall(line)) + PRETOKEN_DELIMITER + NEWLINE_SYMBOL
                     for line in text.split("\n")]
        try:
            return cls(_train_sentencepiece(sentences, vocab_size, max_sentences, threads))
        except RuntimeError as exc:
            supported = _supported_size(str(exc))
            if not (fit_text and supported):
                raise CorpusError(_vocabulary_problem(str(exc), vocab_size, supported)) from None
        return cls(_train_sentencepiece(sentences, supported, max_sentences, threads))

    @property
    def vocab_size(self) -> int:
        return self._sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        lines = text.split("\n")
        for index, (line, line_ids) in enumerate(zip(lines, self._sp.encode(lines))):
            ids.extend(self._encode_exactly(line) if UNKNOWN_ID in line_ids or OWN_SYMBOLS.search(line) else line_ids)
            if index < len(lines) - 1:
                ids.append(self._newline_id)
        return ids

    def _encode_exactly(self, line: str) -> list[int]:
        """The slow path, for lines with something outside the vocabulary. SentencePiece folds a
        run of unknown characters into one piece and reads its own escapes ('\u2581', the newline
        symbol) as a space and a newline; here every such character is one unknown id, as in the
        char tokenizer, so nats/char stays comparable and decode marks each one."""
        ids: list[int] = []
        for part in OWN_SYMBOLS.split(line):
            if OWN_SYMBOLS.fullmatch(part):
                ids.append(UNKNOWN_ID)
            elif part:
                for piece in self._sp.encode(part, return_type="proto").pieces:
                    ids.extend([UNKNOWN_ID] * len(piece.surface) if piece.id == UNKNOWN_ID else [piece.id])
        return ids

    def context_id(self) -> int:
        return self._newline_id

    def save(self, folder: Path) -> list[str]:
        (Path(folder) / SENTENCEPIECE_FILE).write_bytes(self.model_proto)
        (Path(folder) / TOKENIZER_FILE).write_text(json.dumps({"kind": "word", "model": SENTENCEPIECE_FILE}))
        return [TOKENIZER_FILE, SENTENCEPIECE_FILE]


def _train_sentencepiece(sentences: list[str], vocab_size: int, max_sentences: int, threads: int) -> bytes:
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=buffer, vocab_size=vocab_size,
        model_type="bpe", character_coverage=1.0,
        # identity + no extra-whitespace removal: indentation and tabs survive.
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=False,
        user_defined_symbols=[NEWLINE_SYMBOL], allow_whitespace_only_pieces=True,
        split_by_unicode_script=False, split_by_whitespace=False, split_digits=False,
        pretokenization_delimiter=PRETOKEN_DELIMITER,
        unk_id=UNKNOWN_ID, bos_id=-1, eos_id=-1, pad_id=-1, unk_surface=UNKNOWN_TEXT,
        input_sentence_size=max_sentences, shuffle_input_sentence=True, max_sentence_length=1 << 16,
        num_threads=threads, minloglevel=2,
    )
    return buffer.getvalue()


def _supported_size(message: str) -> int | None:
    """SentencePiece's "Vocabulary size too high (N). Please set it to a value <= M.": M."""
    most = re.search(r"Vocabulary size too high.*?<= (\d+)", message)
    return int(most.group(1)) if most else None


def _vocabulary_problem(message: str, vocab_size: int, supported: int | None) -> str:
    # SentencePiece's own message starts with its source file and line: nothing a user can act on.
    if supported:
        return (f"the text is too small for a {vocab_size:,}-piece word vocabulary (it supports at most "
                f"{supported:,}): use a larger corpus or a smaller vocabulary size")
    return f"could not build a {vocab_size:,}-piece word vocabulary ({message.rstrip('. ')})"


Tokenizer = CharTokenizer | WordTokenizer


def load_tokenizer(folder: Path) -> Tokenizer:
    """Read the tokenizer files of a model folder (JSON and a SentencePiece protobuf: no code runs)."""
    path = Path(folder) / TOKENIZER_FILE
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested 1000s deep
        raise CheckpointError(f"{path} is missing or not valid JSON ({exc})") from None
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if kind == "char":
        chars = spec.get("chars")
        if not isinstance(chars, list) or not all(isinstance(c, str) for c in chars) or len(chars) >= MAX_VOCAB:
            raise CheckpointError(f"{path}: 'chars' must be a list of fewer than {MAX_VOCAB} characters")
        return CharTokenizer(chars)
    if kind == "word":
        proto_path = Path(folder) / SENTENCEPIECE_FILE
        try:
            return WordTokenizer(proto_path.read_bytes())
        except (OSError, RuntimeError) as exc:
            raise CheckpointError(f"{proto_path} is missing or not a SentencePiece model ({exc})") from None
    raise CheckpointError(f"{path}: unknown tokenizer kind {kind!r} (expected 'char' or 'word')")
