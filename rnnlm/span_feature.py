"""Your own feature by selection (LSTMVis-style brushing): the characters a user selected, as a track.

span_feature(token_texts, spans) marks every selected character with 1 (the rest 0) and reads that
track at each token's last character, exactly as regex_feature does, so cell_validation.search_halves
ranks and checks it the same way and the page shows the same table.

How a selection is validated. A regular expression could be re-applied to fresh text; a selection
cannot: it exists only where the user drew it. So a selection is checked the way the Inspect page
checks every feature: units are ranked on the first half of the inspected text (by tokens) and
confirmed on the second half, which they were not ranked on. A selection must therefore mark some
tokens, and leave some unmarked, in each half (SpanFeature.problem says which half lacks what).
The check is only as independent as the selection: spans chosen by looking at a unit's colours
will agree with that unit on both halves.

Spans are [start, end) character offsets into the text the tokens spell, kept merged and sorted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .cell_validation import halves_middle
from .errors import SettingsError
from .features import at_token_ends
from .regex_feature import MAX_TEXT_CHARS

Spans = tuple[tuple[int, int], ...]
MIN_MARKED = 2  # tokens marked, and tokens left unmarked, in each half: one token alone is noise


def merged(spans: Iterable[tuple[int, int]]) -> Spans:
    """Sorted, non-empty, non-overlapping spans; touching ones joined."""
    result: list[list[int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in spans if int(e) > int(s)):
        if result and start <= result[-1][1]:
            result[-1][1] = max(result[-1][1], end)
        else:
            result.append([start, end])
    return tuple((s, e) for s, e in result)


def spans_of(positions: Iterable[int]) -> Spans:
    """Character positions (any order, repeats allowed) as merged spans."""
    return merged((p, p + 1) for p in positions)


def added(spans: Spans, positions: Iterable[int]) -> Spans:
    return merged((*spans, *spans_of(positions)))


def removed(spans: Spans, positions: Iterable[int]) -> Spans:
    """spans without these positions (a position not selected is ignored)."""
    drop = {int(p) for p in positions}
    if not drop or not spans:
        return spans
    kept = [p for start, end in spans for p in range(start, end) if p not in drop]
    return spans_of(kept)


def span_track(length: int, spans: Spans) -> np.ndarray:
    """(characters,) float32: 1 inside a span, 0 elsewhere. Spans outside the text are refused."""
    if length > MAX_TEXT_CHARS:
        raise SettingsError(f"The text is {length:,} characters long: a selection works on at most {MAX_TEXT_CHARS:,}.")
    track = np.zeros(length, dtype=np.float32)
    for start, end in spans:
        if start < 0 or end > length or start >= end:
            raise SettingsError(f"The selection {start}–{end} lies outside this text of {length:,} characters: "
                                "the text has changed since it was made; clear it and select again.")
        track[start:end] = 1.0
    return track


@dataclass
class SpanFeature:
    name: str
    spans: Spans
    chars: np.ndarray  # (characters,) 1 where the user selected
    tokens: np.ndarray  # (tokens,) chars at each token's last character: what the search correlates
    middle_char: int  # where the second half (by tokens) starts, in characters

    @property
    def marked_halves(self) -> tuple[int, int]:
        """Tokens marked in the first and in the second half."""
        middle = halves_middle(len(self.tokens))
        return int(self.tokens[:middle].sum()), int(self.tokens[middle:].sum())

    @property
    def problem(self) -> str | None:
        """Why this selection cannot be ranked and validated, and what to do; None when it can."""
        if not self.chars.any():
            return "Nothing is selected yet: drag a box (or a lasso) over characters in the text map."
        if self.chars.all():
            return "Every character is selected: there is nothing to tell apart. Remove some, or clear and start again."
        middle = halves_middle(len(self.tokens))
        for name, half, where in (("first", self.tokens[:middle], f"before character {self.middle_char:,}"),
                                  ("second", self.tokens[middle:], f"from character {self.middle_char:,} on")):
            marked = int(half.sum())
            if marked < MIN_MARKED:
                return (f"Your selection marks {marked} token{'s' * (marked != 1)} in the {name} half of the text "
                        f"({where}). Units are ranked on the first half and confirmed on the second, so select at "
                        f"least {MIN_MARKED} tokens in each (a token counts when its last character is selected).")
            if len(half) - marked < MIN_MARKED:
                return (f"Your selection marks almost every token in the {name} half of the text ({where}): "
                        f"leave at least {MIN_MARKED} unmarked there, so the feature varies.")
        return None


def describe(spans: Spans) -> str:
    """The feature's name in the results table."""
    chars = sum(end - start for start, end in spans)
    return f"your selection ({chars:,} characters in {len(spans):,} span{'s' * (len(spans) != 1)})"


def span_feature(token_texts: Sequence[str], spans: Iterable[tuple[int, int]]) -> SpanFeature:
    """The feature a selection defines on the text the tokens spell (spans: character offsets)."""
    spans = merged(spans)
    lengths = [len(t) for t in token_texts]
    chars = span_track(sum(lengths), spans)
    tokens = at_token_ends(chars, token_texts) if len(token_texts) else np.zeros(0, dtype=np.float32)
    middle_char = int(sum(lengths[:halves_middle(len(lengths))]))
    return SpanFeature(describe(spans), spans, chars, tokens, middle_char)
