"""Step records -> HTML: text coloured by the probability of each token, with its alternatives.

Pure functions, no Streamlit. Every piece of text that came from a user or a model goes
through html.escape before it touches markup, so a prompt such as
`<img src=x onerror=alert(1)>` is shown, never run. The alternatives appear on hover and,
because each token is focusable (tabindex), on click or keyboard focus: CSS only, no script.
The popup text is a data attribute shown by CSS (attr()), so it adds no elements and
never appears in the text a user selects or copies.
"""

from __future__ import annotations

import html
import unicodedata
import re
from typing import Sequence

from rnnlm import Step

# Backgrounds from "the model expected this" to "it did not": the Generate and Score pages
# both colour tokens with it. Light tints keep dark text readable in both themes.
EXPECTED_TO_SURPRISING = ("#e3f2e1", "#b9e0b0", "#fbe7a1", "#f9c08f", "#f28b82")
# (lowest probability of the bin, background, legend text), most expected first.
PROBABILITY_BINS = tuple(zip((0.8, 0.5, 0.2, 0.05, 0.0), EXPECTED_TO_SURPRISING,
                             ("≥ 80%", "50–80%", "20–50%", "5–20%", "< 5%")))
UNKNOWN_PROMPT_NOTE = "the prompt as typed: it has characters this model has never seen"
VISIBLE_WHITESPACE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}

STYLESHEET = """<style>
.rnnlm-out{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:0.92rem;
  line-height:1.65;white-space:break-spaces;overflow-wrap:anywhere;padding:0.6rem 0.8rem;border-radius:0.5rem;
  border:1px solid rgba(128,128,128,0.35);color:#1b1b1b;background:#fcfcfc}
.rnnlm-out .prompt{color:#6b6b6b}
.rnnlm-tok{position:relative;border-radius:3px;cursor:pointer;outline:none}
.rnnlm-tok.from-prompt{text-decoration:underline dotted #555;text-underline-offset:3px}
.rnnlm-tok.nl::before{content:"↵";color:#8a8a8a;font-size:0.8em}
.rnnlm-tok.diff{box-shadow:inset 0 -3px 0 #7b2cbf}
.rnnlm-tok.diff.fork{outline:2px solid #7b2cbf;outline-offset:0}
.rnnlm-tok.unk{outline:1px dashed #b00020;outline-offset:-1px}
.rnnlm-tok:hover,.rnnlm-tok:focus{box-shadow:0 0 0 2px #3b6fd6}
.rnnlm-tok:hover::after,.rnnlm-tok:focus::after{content:attr(data-alts);position:absolute;left:0;top:1.6em;
  z-index:1000;white-space:pre;background:#ffffff;color:#1b1b1b;border:1px solid #b5b5b5;border-radius:6px;
  padding:0.4rem 0.55rem;box-shadow:0 4px 14px rgba(0,0,0,0.18);font-size:0.78rem;line-height:1.35;
  pointer-events:none}
.rnnlm-legend{display:flex;flex-wrap:wrap;gap:0.35rem 0.8rem;font-size:0.8rem;margin:0.35rem 0 0.2rem;
  align-items:center}
.rnnlm-legend .swatch{display:inline-block;width:1.1em;height:0.9em;border-radius:2px;margin-right:0.3em;
  vertical-align:middle;border:1px solid rgba(0,0,0,0.15)}
</style>"""


def probability_colour(probability: float) -> str:
    return next(colour for low, colour, _ in PROBABILITY_BINS if probability >= low)


def visible_token(text: str) -> str:
    """Whitespace made visible, for places where a bare space or newline would vanish."""
    return "".join(VISIBLE_WHITESPACE.get(ch, ch) for ch in text) or "∅"


def plain_label(text: str) -> str:
    """A token as a chart that draws text as text (Vega) shows it: whitespace made visible, other
    control and format characters (C0, C1, bidi overrides, zero-width) as U+FFFD, so a crafted
    vocabulary cannot reorder or hide a label."""
    return "".join("\ufffd" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in visible_token(text))


def chart_label(text: str) -> str:
    """A token as a plotly label: plain_label with "<", ">" and "&" as entities, since plotly
    renders <b>, <br>, <a> and friends in tick and hover text (a crafted vocabulary could
    otherwise restyle or link a chart)."""
    return html.escape(plain_label(text), quote=False)


def percent(probability: float) -> str:
    """Always a percentage, beside the others in a popup: 81.5%, 0.087%, <0.0001%."""
    if probability >= 0.001:
        return f"{probability:.1%}"
    if probability >= 1e-6:
        return f"{probability * 100:.2g}%"
    return "0%" if probability <= 0 else "<0.0001%"


def text_bar(probability: float, width: int = 10) -> str:
    """A bar of block characters, eighths for the last cell, so the popup needs no markup."""
    eighths = round(probability * width * 8)
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


def alternatives_text(step: Step, number: int | None = None) -> str:
    """The popup for one token, as plain lines: its probability, the entropy, the top guesses;
    number: its place among the new tokens (what Generate's branch control asks for)."""
    origin = "prompt, read not sampled" if step.from_prompt else f"sampled at {percent(step.prob)}"
    origin += f" · new token #{number}" if number else ""
    lines = [f"{visible_token(step.text)}  model {percent(step.model_prob)} · {origin}",
             f"entropy {step.entropy:.2f} nats · the model's top guesses:"]
    for text, token_id, probability in step.top:
        marker = "▶" if token_id == step.token_id else " "
        lines.append(f"{marker} {visible_token(text):<10} {percent(probability):>6} {text_bar(probability)}")
    return "\n".join(lines)


def token_html(step: Step, marked: bool = False, fork: bool = False, number: int | None = None) -> str:
    """One token: escaped text, coloured; its popup text rides in an escaped data attribute
    and CSS shows it on hover and focus (a tenth of the markup of a nested HTML popup).
    marked: underlined (a token that differs from another run's); fork: outlined (the first such)."""
    classes = (["rnnlm-tok"] + (["from-prompt"] if step.from_prompt else []) + (["nl"] if step.text == "\n" else [])
               + (["diff"] if marked else []) + (["fork"] if fork else []))
    return (f'<span class="{" ".join(classes)}" tabindex="0" style="background:{probability_colour(step.model_prob)}" '
            f'data-alts="{html.escape(alternatives_text(step, number), quote=True)}">{html.escape(step.text)}</span>')


def tokens_html(steps: Sequence[Step], prompt: str, marked: frozenset[int] = frozenset()) -> str:
    """The finished text: one coloured, focusable span per token (those whose index is in
    marked underlined, the first of them outlined: where two runs part).

    A prompt with characters the model has never seen reads back as unknown tokens; then
    the prompt is shown as typed (uncoloured), so the page always shows the real text.
    """
    prompt_steps = [step for step in steps if step.from_prompt]
    if plain_text(prompt_steps) == prompt:
        shown = steps
        typed = ""
    else:
        shown = [step for step in steps if not step.from_prompt]
        typed = f'<span class="prompt" title="{UNKNOWN_PROMPT_NOTE}">{html.escape(prompt)}</span>'
    fork, prompt_count = min(marked, default=None), len(prompt_steps)
    spans = "".join(token_html(step, step.index in marked, step.index == fork,
                               None if step.from_prompt else step.index - prompt_count + 1) for step in shown)
    return f'<div class="rnnlm-out rnnlm-tokens">{typed}{spans}</div>'


def streaming_html(prompt: str, generated: str) -> str:
    """Plain text while sampling runs: cheap to redraw every few tokens."""
    return (f'<div class="rnnlm-out rnnlm-stream"><span class="prompt">{html.escape(prompt)}</span>'
            f"{html.escape(generated)}</div>")


def swatch_legend(title: str, swatches: Sequence[tuple[str, str]], hint: str) -> str:
    """A colour legend: the title (escaped), one (colour, label) swatch each, a hint after them."""
    boxes = "".join(f'<span><span class="swatch" style="background:{colour}"></span>{label}</span>'
                    for colour, label in swatches)
    return f'<div class="rnnlm-legend"><b>{html.escape(title)}:</b>{boxes}<span>· {hint}</span></div>'


def legend_html() -> str:
    return swatch_legend("Probability the model gave each token",
                         [(colour, label) for _, colour, label in PROBABILITY_BINS],
                         "dotted underline = prompt · hover or click a token for the alternatives")


def plain_text(steps: Sequence[Step]) -> str:
    return "".join(step.text for step in steps)


MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&=\"'])")


def markdown_literal(text: str) -> str:
    """Text shown as typed inside st.markdown / st.error / st.info: every character that
    markdown (or Streamlit's LaTeX, emoji and colour extensions) would read is backslash-escaped,
    and line breaks become spaces so a name cannot start a heading or a list."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))


UNKNOWN_MARK = "\ufffd"  # the text of the tokenizers' unknown token


def readable_tokens(token_texts: Sequence[str], text: str) -> list[str]:
    """The tokens as the user wrote them. Each unknown token (shown as UNKNOWN_MARK) stands for
    exactly one character the vocabulary lacks, in char and word models alike, so when the
    tokens spell the text character for character they are cut back out of the text itself
    and the user reads their own characters. Otherwise the tokens are kept as they are."""
    if sum(map(len, token_texts)) != len(text) or "".join(token_texts) == text:
        return list(token_texts)
    pieces, start = [], 0
    for token in token_texts:
        pieces.append(text[start:start + len(token)])
        start += len(token)
    return pieces


def unknown_flags(token_texts: Sequence[str]) -> list[bool]:
    """Which tokens are the model's unknown token (a character its vocabulary lacks)."""
    return [token == UNKNOWN_MARK for token in token_texts]
