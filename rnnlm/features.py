"""Feature tracks: per-character signals computed from the text alone, which a unit may follow.

Line position and speaker lines (prose and plays); a small C-ish lexer's comments, strings,
quotes and bracket depths; the current line's indentation and the depth of blocks opened by
if/for/while (the code cells of Karpathy et al., "Visualizing and Understanding Recurrent
Networks", 2015); whitespace runs and capitalised words. Each value is what can be known
after reading up to and including that character.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

SPEAKER_LINE = re.compile(r"^[A-Z][A-Za-z' ]*[A-Za-z]:$")
# An else block belongs to its if statement; "#if" is the preprocessor's, not a block.
BLOCK_KEYWORD = re.compile(r"(?<![\w#])(?:if|for|while|else)\b")
TAB_WIDTH = 8  # columns a tab advances to (the Linux kernel's indentation)


def _line_features(text: str) -> dict[str, np.ndarray]:
    position = np.zeros(len(text), dtype=np.float32)
    start = np.zeros(len(text), dtype=np.float32)
    speaker = np.zeros(len(text), dtype=np.float32)
    offset = 0
    for line in text.split("\n"):
        end = offset + len(line)
        position[offset:end + 1] = np.arange(end + 1 - offset)[: len(text) - offset]
        if offset < len(text):
            start[offset] = 1.0
        if SPEAKER_LINE.match(line.strip()):
            speaker[offset:end] = 1.0
        offset = end + 1
    return {"position in line": position, "start of line": start, "speaker name line": speaker}


def _syntax_features(text: str) -> dict[str, np.ndarray]:
    """One pass of a small C-ish lexer: comments, strings, quotes and bracket depths."""
    n = len(text)
    tracks = {name: np.zeros(n, dtype=np.float32) for name in
              ("inside quotes", "inside comment", "inside string literal", "parenthesis depth",
               "bracket depth", "brace depth")}
    depth = {"(": 0, "[": 0, "{": 0}
    closer = {")": "(", "]": "[", "}": "{"}
    in_quote = in_block = in_line = in_string = False
    i = 0
    while i < n:
        ch, pair = text[i], text[i:i + 2]
        if in_block:
            if pair == "*/":
                tracks["inside comment"][i:i + 2] = 1
                in_block, i = False, i + 2
                continue
        elif in_line:
            in_line = ch != "\n"
        elif in_string:
            if ch == "\\":
                tracks["inside string literal"][i:i + 2] = 1
                i += 2
                continue
            in_string = ch not in ('"', "\n")
        elif pair in ("/*", "//"):
            in_block, in_line = pair == "/*", pair == "//"
        elif ch == '"':
            in_string = True
        elif ch in depth:
            depth[ch] += 1
        elif ch in closer:
            depth[closer[ch]] = max(0, depth[closer[ch]] - 1)
        if ch == '"' and not (in_block or in_line):
            in_quote = not in_quote
        tracks["inside comment"][i] = float(in_block or in_line or pair in ("/*", "//"))
        tracks["inside string literal"][i] = max(tracks["inside string literal"][i], float(in_string or ch == '"'))
        tracks["inside quotes"][i] = float(in_quote or ch == '"')
        tracks["parenthesis depth"][i], tracks["bracket depth"][i] = depth["("], depth["["]
        tracks["brace depth"][i] = depth["{"]
        i += 1
    return tracks


def _word_features(text: str) -> dict[str, np.ndarray]:
    whitespace = np.zeros(len(text), dtype=np.float32)
    capitalised = np.zeros(len(text), dtype=np.float32)
    for match in re.finditer(r"\s+", text):
        whitespace[match.start():match.end()] = np.arange(1, match.end() - match.start() + 1)
    for match in re.finditer(r"\b[A-Z][A-Za-z]*", text):
        capitalised[match.start():match.end()] = 1.0
    return {"whitespace run": whitespace, "capitalised word": capitalised}


def _code_features(text: str, code: np.ndarray) -> dict[str, np.ndarray]:
    """The two code cells Karpathy et al. 2015 found besides brackets and comments. code: 1 where a
    character is neither comment nor string (a brace or keyword there counts for nothing)."""
    indent = np.zeros(len(text), dtype=np.float32)
    block = np.zeros(len(text), dtype=np.float32)
    keywords = {m.start() for m in BLOCK_KEYWORD.finditer(text) if code[m.start()]}
    width, leading = 0, True
    opened_by_keyword: list[bool] = []  # one per open brace
    parens, pending, depth = 0, None, 0  # pending: the paren depth of an if/for/while awaiting its "{" or ";"
    for i, ch in enumerate(text):
        if leading and ch in " \t":
            width = (width // TAB_WIDTH + 1) * TAB_WIDTH if ch == "\t" else width + 1
        elif ch != "\n":
            leading = False
        indent[i] = width  # as read so far: the newline still belongs to the line it ends
        if ch == "\n":
            width, leading = 0, True
        if code[i]:
            if i in keywords:
                pending = parens
            elif ch in "()":
                parens = parens + 1 if ch == "(" else max(0, parens - 1)
            elif ch == ";" and pending == parens:  # a block without braces: if (x) return;
                pending = None
            elif ch == "{":
                opened_by_keyword.append(pending is not None)
                depth, pending = depth + (pending is not None), None
            elif ch == "}" and opened_by_keyword:
                depth -= opened_by_keyword.pop()
        block[i] = depth
    return {"indentation level": indent, "if/for/while block depth": block}


def at_token_ends(track: np.ndarray, token_texts: Sequence[str]) -> np.ndarray:
    """A per-character track read at the last character of each token (so word and char models
    compare): what is known once the token has been read."""
    last_chars = np.maximum(np.cumsum([len(t) for t in token_texts]) - 1, 0)
    return track[last_chars]


def feature_tracks(text: str) -> dict[str, np.ndarray]:
    """Every feature as a (characters,) float32 array."""
    syntax = _syntax_features(text)
    code = (syntax["inside comment"] == 0) & (syntax["inside string literal"] == 0)
    return {**_line_features(text), **syntax, **_code_features(text, code), **_word_features(text)}
