"""One unit's activation painted on the text it read, Karpathy-style (pure HTML, no Streamlit).

Each token's background goes from blue (the bottom of the unit's range) through white
(its middle) to red (the top). Hover or focus a token for the value and the model's top
guesses for the next token, drawn by render.STYLESHEET from an escaped data attribute,
the same way as on the Generate page. Every piece of text is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from playground.widgets.token_html import percent, swatch_legend, text_bar, visible_token

BLUE, RED, WHITE = (59, 111, 214), (214, 64, 58), (255, 255, 255)
STRENGTH = 0.85  # the strongest tint leaves a little white, so dark text stays readable


def activation_colour(value: float, low: float, high: float) -> str:
    middle, half = (low + high) / 2, max((high - low) / 2, 1e-12)
    t = max(-1.0, min(1.0, (float(value) - middle) / half))
    target = RED if t > 0 else BLUE
    mix = abs(t) * STRENGTH
    r, g, b = (round(w + (c - w) * mix) for w, c in zip(WHITE, target))
    return f"#{r:02x}{g:02x}{b:02x}"


def popup_text(token: str, value: float, unit_label: str, guesses: Sequence[tuple[str, float]]) -> str:
    lines = [f"{visible_token(token)}   {unit_label} = {value:+.3f}", "the model's guesses for the next token:"]
    lines += [f"  {visible_token(text):<10} {percent(p):>6} {text_bar(p)}" for text, p in guesses]
    return "\n".join(lines)


def neuron_html(token_texts: Sequence[str], values: Sequence[float], guesses: Sequence[Sequence[tuple[str, float]]],
                low: float, high: float, unit_label: str) -> str:
    """The text, one coloured focusable span per token."""
    spans = []
    for token, value, top in zip(token_texts, values, guesses):
        classes = "rnnlm-tok nl" if token == "\n" else "rnnlm-tok"
        alts = html.escape(popup_text(token, value, unit_label, top), quote=True)
        spans.append(f'<span class="{classes}" tabindex="0" style="background:{activation_colour(value, low, high)}" '
                     f'data-alts="{alts}">{html.escape(token)}</span>')
    return f'<div class="rnnlm-out rnnlm-neuron">{"".join(spans)}</div>'


def legend_html(low: float, high: float, unit_label: str) -> str:
    stops = [low, (3 * low + high) / 4, (low + high) / 2, (low + 3 * high) / 4, high]
    return swatch_legend(unit_label, [(activation_colour(v, low, high), f"{v:+.2f}") for v in stops],
                         "hover or click a token for its value and the next-token guesses")


def marked_html(text: str, marked: Sequence[float], limit: int) -> str:
    """The first `limit` characters of text, each run of marked (nonzero) characters highlighted; escaped."""
    pieces, start = [], 0
    shown = text[:limit]
    while start < len(shown):
        end = start
        while end < len(shown) and bool(marked[end]) == bool(marked[start]):
            end += 1
        piece = html.escape(shown[start:end])
        pieces.append(f"<mark>{piece}</mark>" if marked[start] else piece)
        start = end
    more = f"<span class=\"rnnlm-more\"> … ({len(text) - limit:,} more characters)</span>" if len(text) > limit else ""
    return ('<div class="rnnlm-out rnnlm-regex" style="white-space:pre-wrap;max-height:16rem;overflow-y:auto">'
            f'{"".join(pieces)}{more}</div>')
