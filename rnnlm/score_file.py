"""Score a text file of any size in bounded memory: nats and bits per character, no per-token arrays.

    totals = score_file(lm, "big.txt", on_progress=lambda phase, done, total: ...)
    totals.nats_per_char, totals.bits_per_char, totals.chars, totals.tokens

The figure is the one score_text gives for the whole text read into memory (the same segments,
windows and warm-up: see rnnlm.scoring), computed without ever holding the text. Two passes:
  1. read the file in chunks (cut after a line break, so tokenizing chunk by chunk gives the
     whole text's tokens: both tokenizers work line by line), clean each chunk as clean_text
     cleans a file, and count characters and tokens; remember where each chunk starts;
  2. score the `streams` segments side by side, each reading its own tokens from the chunk
     before its start, window by window, carrying the model's state, adding up the nats.
Memory: a few chunks per stream (CHUNK_BYTES each) and one window of activations, whatever
the file's size (bench/bench_score_file.py measures it). A line longer than a chunk is cut at
a character boundary; a word model may then tokenize that one line slightly differently.
on_progress(phase, done, total): "reading" in bytes, then "scoring" in tokens.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from .bfloat16_recurrence import recurrence
from .corpus import UTF16_BOMS, binary_reason, utf8_lines
from .errors import CorpusError
from .language_model import LanguageModel
from .scoring import PerCharFigures, stream_segments, uses_bfloat16, window_nll

CHUNK_BYTES = 256 << 10
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ScoreTotals(PerCharFigures):
    total_nats: float
    chars: int
    tokens: int


def _cut(chunk: bytes) -> int:
    """Where a chunk that is not the file's last ends: after its last line break, else before
    its last (maybe incomplete) UTF-8 character. A '\\r' ends a line only if a byte follows it
    here (else it may be half of '\\r\\n')."""
    newline = chunk.rfind(b"\n")
    if newline >= 0:
        return newline + 1
    ret = chunk.rfind(b"\r", 0, len(chunk) - 1)
    if ret >= 0:
        return ret + 1
    lead = len(chunk) - 1
    while lead > 0 and chunk[lead] & 0xC0 == 0x80:  # continuation bytes: 10xxxxxx
        lead -= 1
    return lead or len(chunk)


def _clean(chunk: bytes, offset: int, source: str) -> str:
    """clean_text's rules for one chunk at this byte offset of the file."""
    if offset == 0:
        if chunk[:2] in UTF16_BOMS:
            raise CorpusError(f"{source} is UTF-16 text; save it as UTF-8 first")
        reason = binary_reason(chunk)  # the control-byte sniff looks at the file's head only
        if reason:
            raise CorpusError(f"{source} looks binary ({reason}), not text")
    elif b"\x00" in chunk:
        raise CorpusError(f"{source} looks binary (a NUL byte at offset {offset + chunk.index(0):,}), not text")
    return utf8_lines(chunk, source, offset)


class _File:
    """Positional reads of one file (a path, or an open file such as spooled stdin)."""

    def __init__(self, fd: int, size: int, source: str, chunk_bytes: int):
        self.fd, self.size, self.source, self.chunk_bytes = fd, size, source, chunk_bytes

    def chunks(self, offset: int = 0) -> Iterator[tuple[int, str]]:
        """(byte offset after it, cleaned text) of each chunk from offset, which must be a chunk start."""
        while offset < self.size:
            chunk = os.pread(self.fd, self.chunk_bytes, offset)
            if not chunk:
                return
            end = len(chunk) if offset + len(chunk) >= self.size else _cut(chunk)
            text = _clean(chunk[:end], offset, self.source)
            offset += end
            yield offset, text


class _Rows:
    """Each stream's next tokens, read from the chunk before its first one (never the whole file)."""

    def __init__(self, file: _File, tokenizer, starts: list[tuple[int, int]]):
        self.file, self.tokenizer = file, tokenizer
        self.token_starts = [tokens for _, tokens in starts]
        self.byte_starts = [offset for offset, _ in starts]

    def tokens(self, first: int, stop: int) -> Iterator[np.ndarray]:
        """ids[first:stop] of the whole text, a chunk at a time."""
        at = bisect.bisect_right(self.token_starts, first) - 1
        position = self.token_starts[at]
        for _, text in self.file.chunks(self.byte_starts[at]):
            ids = np.asarray(self.tokenizer.encode(text), dtype=np.int64)
            piece = ids[max(first - position, 0):max(stop - position, 0)]
            position += len(ids)
            if len(piece):
                yield piece
            if position >= stop:
                return


class _Row:
    """One segment's inputs and targets, a window at a time (score_text's row, read lazily)."""

    def __init__(self, pieces: Iterator[np.ndarray], prefix: list[int], columns: int, scored_from: int):
        self.pieces, self.pending = pieces, np.asarray(prefix, dtype=np.int64)
        self.column, self.columns, self.scored_from = 0, columns, scored_from

    def window(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        need = min(width, self.columns - self.column) + 1
        while len(self.pending) < need:
            more = next(self.pieces, None)
            if more is None:
                break
            self.pending = np.concatenate([self.pending, more])
        x, y = np.zeros(width, dtype=np.int64), np.full(width, -100, dtype=np.int64)
        count = max(min(need - 1, len(self.pending) - 1), 0)
        x[:count], y[:count] = self.pending[:count], self.pending[1:count + 1]
        unscored = min(max(self.scored_from - self.column, 0), width)
        y[:unscored] = -100  # warm-up: carries state, is not scored
        self.pending, self.column = self.pending[count:], self.column + count
        return x, y


def _count(file: _File, tokenizer, on_progress: Progress | None) -> tuple[int, int, list[tuple[int, int]]]:
    """(chars, tokens, (byte offset, token index) of each chunk's start): pass 1."""
    chars, tokens, starts = 0, 0, []
    offset = 0
    for after, text in file.chunks():
        starts.append((offset, tokens))
        chars += len(text)
        tokens += len(tokenizer.encode(text))
        offset = after
        if on_progress is not None:
            on_progress("reading", after, file.size)
    return chars, tokens, starts or [(0, 0)]


@torch.inference_mode()
def _score(lm: LanguageModel, rows: _Rows, tokens: int, streams: int, window: int, warmup: int,
           precision: str, on_progress: Progress | None) -> float:
    bfloat16, net = uses_bfloat16(precision), lm.net
    segments = stream_segments(tokens, streams, warmup)
    context = lm.tokenizer.context_id()
    # Row r's inputs are inputs[read:end] with inputs = [context] + ids: ids[read - 1:end] (context first if read is 0).
    lanes = [_Row(rows.tokens(max(read - 1, 0), end), [context] if read == 0 else [], end - read, score - read)
             for read, score, end in segments]
    width = max(end - read for read, _, end in segments)
    was_training, state, total, done = net.training, None, 0.0, 0
    net.eval()
    recur = recurrence(net, bfloat16)
    try:
        for start in range(0, width, window):
            pairs = [lane.window(min(window, width - start)) for lane in lanes]
            x = torch.from_numpy(np.stack([p[0] for p in pairs]))
            y = torch.from_numpy(np.stack([p[1] for p in pairs]))
            nll, state = window_nll(net, recur, x, y, state, bfloat16)
            total += float(nll.double().sum())
            done += int((y != -100).sum())
            if on_progress is not None:
                on_progress("scoring", done, tokens)
    finally:
        net.train(was_training)
    return total


def score_file(lm: LanguageModel, file: str | Path | BinaryIO, streams: int = 16, window: int = 256,
               warmup: int = 512, precision: str = "auto", on_progress: Progress | None = None,
               chunk_bytes: int = CHUNK_BYTES, source: str | None = None) -> ScoreTotals:
    """score_text's figure for a file's text (cleaned as clean_text cleans it), in bounded memory.
    file: a path, or an open binary file that supports positional reads (a regular file)."""
    uses_bfloat16(precision)  # a wrong precision is refused before the file is read
    if isinstance(file, (str, Path)):
        with open(file, "rb") as handle:
            return score_file(lm, handle, streams, window, warmup, precision, on_progress, chunk_bytes,
                              source or str(file))
    fd = file.fileno()
    opened = _File(fd, os.fstat(fd).st_size, source or getattr(file, "name", "text"), chunk_bytes)
    chars, tokens, starts = _count(opened, lm.tokenizer, on_progress)
    if tokens == 0:
        return ScoreTotals(0.0, chars, 0)
    total = _score(lm, _Rows(opened, lm.tokenizer, starts), tokens, streams, window, warmup, precision, on_progress)
    return ScoreTotals(total, chars, tokens)
