"""Page building blocks shared by the views: streaming output, coloured result, share link."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import streamlit as st

from playground import resources, state, timing_trace
from playground.catalogue import ModelInfo, build_catalogue
from playground.request import Request
from playground.widgets import charts, export, generation
from playground.widgets import token_html as render
from playground.widgets.generation import Generation

if TYPE_CHECKING:  # annotations only: the first page is drawn before torch is imported
    from rnnlm import LanguageModel


def catalogue() -> list[ModelInfo]:
    """Shipped models and the models made in this session, read afresh on every run."""
    return build_catalogue(resources.manifest(), state.session_model_entries())


def prompt_box() -> None:
    st.text_area("Prompt", height=90, max_chars=state.MAX_PROMPT_CHARS,
                 placeholder="Empty: the model starts from a fresh line", **state.bind(state.PROMPT))


def share_url(base: str | None, query: dict) -> str:
    """An absolute link when the browser told us where the app lives, else a relative one."""
    return f"{(base or '').rstrip('/') or '.'}/?{urlencode(query, doseq=True, quote_via=quote)}"


def share_link(keys: tuple[str, ...], models: list[ModelInfo]) -> None:
    """The link, and a warning when it names a model that exists only in this session (another
    browser would get the default model instead: the same settings, not the same text)."""
    st.caption(":material/link: Share link: opens this page with these settings and gives the same text")
    private = [info.name for info in models if info.from_session and not info.shared]
    if private:
        st.caption(f":material/warning: {render.markdown_literal(', '.join(private))} exists only in this browser "
                   "session: elsewhere the link falls back to a shipped model. Press \"Publish a link\" on the Fine-tune "
                   "or Models page to share it, or download the model (.zip) there to keep it.")
    st.code(share_url(st.context.url, state.share_query(keys)), language=None, wrap_lines=True)


def stream(placeholder, lm: LanguageModel, request: Request, into: Generation | None = None,
           shared: bool = False) -> Generation:
    """Sample in the server's sampling pool, redrawing the placeholder with the text so far
    a few times a second (playground.widgets.generation; shared: a text every visitor gets alike)."""
    first = [True]

    def redraw(steps):
        placeholder.html(render.streaming_html(request.prompt, "".join(s.text for s in steps if not s.from_prompt)))
        if first[0]:  # handed to Streamlit to send: the server's part of a click's wait ends here
            first[0] = False
            timing_trace.mark("first_token", session=state.session_id(), seed=request.seed)

    placeholder.html(render.streaming_html(request.prompt, ""))
    timing_trace.mark("stream", session=state.session_id(), seed=request.seed)  # the page is drawn up to here
    return generation.run(lm, request, redraw, into=into, check_stop=stop_point, shared=shared)


def stop_point() -> None:
    """Where Streamlit may end this script run (a Stop click, a rerun, a closed tab): it checks
    for such a request at every st call and every read of session state, and raises. A read
    draws nothing, so a page waiting for its first tokens stays responsive without redrawing."""
    _ = state.PROMPT in st.session_state


def coloured_text(placeholder, result: Generation, marked: frozenset[int] = frozenset()) -> None:
    placeholder.html(render.tokens_html(result.steps, result.request.prompt, marked) + render.legend_html())


def summary(result: Generation) -> str:
    new = result.new_steps
    if not new:
        return "No tokens were generated."
    model_probability = sum(step.model_prob for step in new) / len(new)  # the model's own, at temperature 1
    sampled_probability = sum(step.prob for step in new) / len(new)  # after temperature, top-k and top-p
    mean_entropy = sum(step.entropy for step in new) / len(new)
    return (f"{len(new):,} new tokens, {len(result.generated_text):,} characters · mean p(chosen): model "
            f"{model_probability:.1%}, as sampled {sampled_probability:.1%} · mean entropy {mean_entropy:.2f} nats · "
            f"{result.tokens_per_second:,.0f} tokens/s")


def chart(result: Generation, key: str) -> None:
    labels = render.readable_tokens([step.text for step in result.steps], result.text)
    st.vega_lite_chart(charts.probability_entropy_spec(result.steps, labels), width="stretch", key=key)


def downloads(result: Generation, file_stem: str, key: str) -> None:
    """Files made when clicked (Streamlit runs the callable then): nothing is built or kept in the
    server's media store on every rerun, and a click never meets a file a later rerun deleted (the
    "source error - 404" seen under load)."""
    files = (("Text", functools.partial(str, result.text), f"{file_stem}.txt", "text/plain"),
             ("Tokens (CSV)", functools.partial(export.to_csv, result.steps), f"{file_stem}-tokens.csv", "text/csv"),
             ("Tokens (JSON)", functools.partial(export.to_json, result.steps, asdict(result.request)),
              f"{file_stem}-tokens.json", "application/json"))
    for column, (label, data, name, mime) in zip(st.columns(len(files)), files):
        column.download_button(label, data, name, mime, key=f"{key}-{name}", on_click="ignore", width="stretch",
                               icon=":material/download:")


def notices() -> None:
    for notice in state.notices():  # they quote the link's values: a crafted link must not format the banner
        st.warning(render.markdown_literal(notice), icon="⚠️")
