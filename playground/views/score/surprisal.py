"""A scored text as HTML and tables: tokens coloured by surprisal, the most surprising spans.

Pure functions, no Streamlit. Surprisal is -log2 p(token | everything before it): how many
bits of news the token was to the model. Every piece of text is escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from playground.widgets.token_html import EXPECTED_TO_SURPRISING, swatch_legend, visible_token
from rnnlm.units import nats_to_bits

# (lowest surprisal of the bin in bits, background, legend text), most surprising first:
# the Generate page's palette, where a warm colour also means "the model did not expect this".
SURPRISAL_BINS = tuple(zip((8.0, 4.0, 2.0, 1.0, 0.0), reversed(EXPECTED_TO_SURPRISING),
                           ("≥ 8 bits", "4–8", "2–4", "1–2", "< 1 bit")))


def surprisal_bits(logprobs: np.ndarray) -> np.ndarray:
    return nats_to_bits(-np.asarray(logprobs, dtype=np.float64))


def surprisal_colour(bits: float) -> str:
    return next(colour for low, colour, _ in SURPRISAL_BINS if bits >= low)


def token_span(token: str, bits: float, unknown: bool = False) -> str:
    popup = f"{visible_token(token)}  {bits:.2f} bits · p = {2.0 ** -bits:.2%}"
    if unknown:
        popup += " · not in the model's vocabulary: read as its unknown token"
    classes = "rnnlm-tok" + (" nl" if token == "\n" else "") + (" unk" if unknown else "")
    return (f'<span class="{classes}" tabindex="0" style="background:{surprisal_colour(bits)}" '
            f'data-alts="{html.escape(popup, quote=True)}">{html.escape(token)}</span>')


def scored_html(token_texts: Sequence[str], bits: Sequence[float], unknown: Sequence[bool] | None = None) -> str:
    flags = unknown if unknown is not None else [False] * len(token_texts)
    return f'<div class="rnnlm-out rnnlm-scored">{"".join(map(token_span, token_texts, bits, flags))}</div>'


def legend_html() -> str:
    return swatch_legend("Surprisal of each token", [(colour, label) for _, colour, label in SURPRISAL_BINS],
                         "hover or click a token for its probability")


@dataclass(frozen=True)
class Span:
    start: int  # first token
    end: int  # one past the last token
    char: int  # where it starts in the text
    text: str
    bits: float

    @property
    def bits_per_char(self) -> float:
        return self.bits / max(len(self.text), 1)


def surprising_spans(token_texts: Sequence[str], bits: Sequence[float], count: int = 8,
                     width: int = 8) -> list[Span]:
    """The `count` runs of `width` tokens with the most bits in total, none overlapping, most surprising first."""
    bits = np.asarray(bits, dtype=np.float64)
    width = max(1, min(width, len(bits)))
    if len(bits) == 0:
        return []
    totals = np.convolve(bits, np.ones(width), mode="valid")  # totals[i] = bits[i:i + width].sum()
    starts = np.cumsum([0] + [len(t) for t in token_texts])
    taken = np.zeros(len(bits), dtype=bool)
    spans = []
    for start in np.argsort(-totals, kind="stable"):
        if len(spans) == count:
            break
        end = start + width
        if taken[start:end].any():
            continue
        taken[start:end] = True
        spans.append(Span(int(start), int(end), int(starts[start]), "".join(token_texts[start:end]),
                          float(totals[start])))
    return spans


def span_rows(spans: Sequence[Span]) -> list[dict]:
    """For st.dataframe (which shows cells as plain text): whitespace made visible."""
    return [{"span": visible_token(span.text), "at character": span.char, "bits": round(span.bits, 1),
             "bits/char": round(span.bits_per_char, 2)} for span in spans]


def span_width(level: str) -> int:
    """About a word's worth of tokens: a char model's 8 characters, a word model's 3 tokens."""
    return 3 if level == "word" else 8
