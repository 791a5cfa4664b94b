"""Score page: how surprised the model is by a text, token by token.

The text (pasted or uploaded) is scored with full context by the chosen model: each token
coloured by its surprisal in bits, the totals in nats and bits per character, the most
surprising spans, and the same text scored by every model of the same level (the one
with the fewest bits per character "recognises" it best).
"""

import streamlit as st

from playground import resources, state
from playground.views.score import adapt, cached, comparison, keys, surprisal
from playground.widgets import blocks
from playground.widgets.token_html import markdown_literal, readable_tokens, unknown_flags
from rnnlm import CorpusError, RnnlmError, ScoreResult
from rnnlm.corpus import clean_text
from rnnlm.service.settings import widget_mb
from rnnlm.service.uploads import label
from rnnlm.units import nats_to_bits

MAX_UPLOAD_MIB = 20  # the page reads the file in memory; python -m rnnlm score takes any size
MAX_SCORE_CHARS = 20_000  # a word model scores about 5k characters a second on a busy core
MAX_COLOURED_TOKENS = 5_000  # beyond this the coloured text would weigh megabytes
FILE, PASTED = "the uploaded file", "the pasted text"
SOURCES = (FILE, PASTED)  # the choice offered when both are there


def uploaded_text(upload) -> tuple[str, str | None]:
    """(text, problem): problem says, with the file name escaped, why the file cannot be scored."""
    name = markdown_literal(label(upload.name))
    try:
        text = clean_text(upload.getvalue(), "the file")
    except CorpusError as exc:
        return "", f"Cannot score {name}: {markdown_literal(str(exc))}."
    if not text.strip():
        return "", f"Cannot score {name}: it holds no text."
    return text, None


def chosen_text() -> tuple[str, str]:
    """(text, where it came from, escaped). With both a file and pasted text the user picks one;
    the pasted text stays in its box either way."""
    st.text_area("Text to score", height=140, max_chars=MAX_SCORE_CHARS, placeholder="Paste any text…",
                 **state.bind(keys.SC_PASTED))
    upload = st.file_uploader(f"…or upload a text file (UTF-8, up to {MAX_UPLOAD_MIB} MiB)", key=keys.SC_UPLOADER,
                              max_upload_size=widget_mb(MAX_UPLOAD_MIB))
    pasted = state.value(keys.SC_PASTED)
    if upload is None:
        return pasted, "the pasted text"
    name = markdown_literal(label(upload.name))
    if pasted.strip() and st.radio("Score", SOURCES, key=keys.SC_SOURCE, horizontal=True,
                                   format_func=lambda source: f"the file {name}" if source == FILE else source,
                                   help="Your pasted text is kept in its box whichever you score.") == PASTED:
        return pasted, "the pasted text"
    text, problem = uploaded_text(upload)
    if problem:
        st.error(problem, icon=":material/block:")
        return "", ""
    return text, f"the file {name}"


def progress_text(name: str, done: int, total: int) -> str:
    """The bar's words: which model is reading, how far it is."""
    return f"Scoring with {markdown_literal(name)}: {done / max(total, 1):.0%}"


def scored(info, text: str) -> ScoreResult:
    """The model's score of the text, a bar showing its progress unless it is kept already."""
    key = resources.model_key(info)
    if cached.is_kept(key, text):
        return cached.score(key, text, resources.load(info))
    bar = st.progress(0.0, text=progress_text(info.name, 0, 1))

    def on_progress(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=progress_text(info.name, done, total))

    try:
        return cached.score(key, text, resources.load(info), on_progress=on_progress)
    finally:
        bar.empty()


def adapted_caption(origin: str, segments: int, static: ScoreResult) -> str:
    if segments == 1:
        how = ("every token given all the text before it, by a private copy of the model that learns from "
               "what it has read")
    else:
        how = (f"read as {segments} segments side by side, every token given its segment's text before it, "
               "by a private copy of the model that learns from every segment's earlier windows")
    return f"Scored {origin} while adapting to it: {how} (static: {static.nats_per_char:.3f} nats/char)."


def totals(result, static=None) -> None:
    """The figures of the result shown; beside the static ones when the model adapted."""
    columns = st.columns(4)
    change = None if static is None else f"{result.nats_per_char - static.nats_per_char:+.3f} vs static"
    columns[0].metric("nats / char", f"{result.nats_per_char:.3f}", delta=change, delta_color="inverse")
    columns[1].metric("bits / char", f"{result.bits_per_char:.3f}")
    columns[2].metric("total", f"{nats_to_bits(result.total_nats):,.0f} bits")
    columns[3].metric("characters · tokens", f"{result.chars:,} · {result.tokens:,}")


def coloured(tokens: list[str], result) -> list[float]:
    bits = surprisal.surprisal_bits(result.logprobs)
    shown = min(result.tokens, MAX_COLOURED_TOKENS)
    unknown = unknown_flags(result.token_texts)
    st.html(surprisal.scored_html(tokens[:shown], bits[:shown], unknown[:shown]) + surprisal.legend_html())
    if any(unknown):
        st.caption("Characters outlined in red are new to this model (never in its training text): it reads each "
                   "of them as its one unknown token, so they cost many bits.")
    if shown < result.tokens:
        st.caption(f"Coloured: the first {shown:,} of {result.tokens:,} tokens (the totals cover them all).")
    return bits


def spans(tokens: list[str], bits, level: str) -> None:
    st.subheader("Most surprising spans")
    found = surprisal.surprising_spans(tokens, bits, width=surprisal.span_width(level))
    st.dataframe(surprisal.span_rows(found), hide_index=True, width="stretch")


def show() -> None:
    catalogue = blocks.catalogue()
    info = state.current_model(catalogue)
    state.start_page(keys.SCORE_DEFAULTS)
    st.title("Score")
    st.caption(f"How surprised **{markdown_literal(info.name)}** is by a text, token by token: "
               "surprisal is -log₂ p(token | all before it), in bits.")
    text, origin = chosen_text()
    if not text:
        st.info("Paste a text or upload a file to score it.")
        return
    if len(text) > MAX_SCORE_CHARS:
        st.caption(f"Scoring the first {MAX_SCORE_CHARS:,} of {len(text):,} characters.")
        text = text[:MAX_SCORE_CHARS]
    try:
        result = scored(info, text)
    except RnnlmError as exc:
        st.error(str(exc))
        return
    if adapt.switch():
        static, result = result, adapt.adapted_score(info, resources.load(info), text)
        st.caption(adapted_caption(origin, adapt.segments(result), static))
        totals(result, static)
    else:
        st.caption(f"Scored {origin} with full context: every token given all the text before it.")
        totals(result)
    tokens = readable_tokens(result.token_texts, text)
    bits = coloured(tokens, result)
    spans(tokens, bits, info.level)
    comparison.comparison(catalogue, info, text)


show()
