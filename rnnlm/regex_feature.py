"""Your own feature: the characters a regular expression matches, as a track a unit may follow.

regex_feature(pattern, token_texts) marks every character inside a match with 1 (the rest 0)
and reads that track at each token's last character, exactly as the built-in features are
(features.at_token_ends), so cell_validation.search_halves can search and check it.

Python's re has no timeout, so a pattern is bounded three ways before it runs: its length
(MAX_PATTERN_CHARS), the text it runs on (MAX_TEXT_CHARS: the Inspect page's traces are no
longer), and no unbounded repetition of something itself repeated, like (a+)+ or (\\w*)*, the
shape behind catastrophic backtracking. One re.finditer pass over the bounded text follows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

try:  # Python 3.11+
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

from .errors import SettingsError
from .features import at_token_ends

MAX_PATTERN_CHARS = 200
MAX_TEXT_CHARS = 20_000  # the Inspect page's longest trace (one character per token at least)
_REPEATS = (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT)


def _nested_repeat(items, inside_unbounded: bool = False) -> bool:
    """Whether a parsed pattern repeats, without bound, something that itself repeats."""
    for op, argument in items:
        if op in _REPEATS:
            least, most, inner = argument
            if inside_unbounded and most > 1 and least != most:  # a fixed count (b{2}) cannot backtrack
                return True
            if _nested_repeat(inner, inside_unbounded or most == sre_parse.MAXREPEAT):
                return True
            continue
        parts = argument if isinstance(argument, (tuple, list)) else (argument,)
        for part in parts:  # groups, alternatives, lookarounds: wherever a sub-pattern sits
            subpatterns = part if isinstance(part, list) else (part,)
            if any(isinstance(s, sre_parse.SubPattern) and _nested_repeat(s, inside_unbounded) for s in subpatterns):
                return True
    return False


def compile_pattern(pattern: str) -> re.Pattern:
    """pattern compiled, or a SettingsError saying what to change."""
    if not pattern:
        raise SettingsError("Type a regular expression, e.g. \"[^\"]*\" for inside a string.")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise SettingsError(f"The pattern is {len(pattern)} characters long: at most {MAX_PATTERN_CHARS} are allowed.")
    try:
        compiled = re.compile(pattern)
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise SettingsError(f"Not a valid regular expression: {exc}.") from None
    if _nested_repeat(parsed):
        raise SettingsError("The pattern repeats something that itself repeats, like (a+)+ or (\\w*)*: that can take "
                            "exponential time. Repeat a single item instead, e.g. a+ or \\w*.")
    return compiled


def regex_track(pattern: str, text: str) -> np.ndarray:
    """(characters,) float32: 1 inside a match of pattern, 0 elsewhere (an empty match marks nothing)."""
    if len(text) > MAX_TEXT_CHARS:
        raise SettingsError(f"The text is {len(text):,} characters long: a pattern runs on at most {MAX_TEXT_CHARS:,}.")
    compiled = compile_pattern(pattern)
    track = np.zeros(len(text), dtype=np.float32)
    for match in compiled.finditer(text):
        track[match.start():match.end()] = 1.0
    return track


@dataclass
class RegexFeature:
    name: str
    chars: np.ndarray  # (characters,) 1 where the pattern matched
    tokens: np.ndarray  # (tokens,) chars at each token's last character: what the search correlates

    @property
    def problem(self) -> str | None:
        """Why this feature cannot be searched (it never varies where units are searched), or None."""
        half = self.tokens[: len(self.tokens) // 2]
        if not self.chars.any():
            return "The pattern matches nothing in this text."
        if self.chars.all():
            return "The pattern matches every character of this text: there is nothing to tell apart."
        if half.size < 2 or half.std() == 0:
            return ("The pattern matches nothing (or everything) in the first half of the text, where units are "
                    "searched: try a longer text or a pattern that occurs earlier.")
        return None


def regex_feature(pattern: str, token_texts: Sequence[str]) -> RegexFeature:
    """The feature a pattern defines on the text the tokens spell."""
    chars = regex_track(pattern, "".join(token_texts))
    tokens = at_token_ends(chars, token_texts) if len(token_texts) else np.zeros(0, dtype=np.float32)
    return RegexFeature(f"matches {pattern}", chars, tokens)
