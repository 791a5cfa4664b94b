"""Generate page: sample from the chosen model, watch the text arrive, then see why it was written.

The text is a pure function of the Request (model, prompt, settings, seed), so the page
samples only when the Request changes or Generate is pressed, and otherwise redraws the
result it kept. That same Request is in the URL, so a shared link shows the same text.
A visitor's first text, made from shipped defaults alone, is sampled once for all (arrival).
"""

import streamlit as st

from playground import resources, state
from playground.views.generate import arrival, branching, clamping
from playground.widgets import blocks, generation
from playground.widgets.generation import Generation
from rnnlm import RnnlmError

PAGE = "generate"  # state.last_generation() reads this result


def sampled_or_kept(output, stop_slot, info, request, pressed: bool) -> Generation:
    """The kept result when the Request is unchanged, else a new one streamed into the output.
    The new one is remembered before its first token: a click on Stop reruns the page, which
    interrupts sampling, and the rerun finds the tokens so far under the same Request."""
    kept = state.recall(PAGE)
    if kept is not None and kept.request == request and not pressed:
        return kept.settled()  # a stopped run's old script thread may still be adding its last steps
    result = Generation(request)
    state.remember(PAGE, result)
    try:
        lm, shared = resources.load(info), arrival.shared(info, request)
        done = generation.finished_shared(lm, request) if shared else None
        if done is not None:  # every visitor's first text, sampled already: nothing to stream or stop
            state.remember(PAGE, done)
            return done
        stop_slot.button("Stop here", icon=":material/stop_circle:", key="stop_generation", width="stretch",
                         help="Keep the text so far")
        blocks.stream(output, lm, request, into=result, shared=shared)
    except RnnlmError:
        state.remember(PAGE, None)  # not a stopped text: nothing to keep
        raise
    stop_slot.empty()
    return result


def reproduce(info, result: Generation) -> None:
    blocks.share_link(state.GENERATE_PARAMS, [info])
    where = " (the path is this server's copy of the model: unzip the model download and point --model at it)"
    st.caption(f"The same text from the command line{where if info.from_session else ''}:")
    st.code(result.request.cli_command(info.path), language="bash", wrap_lines=True)


def show() -> None:
    info = state.current_model(blocks.catalogue())
    st.title("Generate")
    st.caption(f"Sampling from **{info.name}** ({info.shape}). Each token is drawn from the model's "
               "prediction given everything before it.")
    blocks.prompt_box()
    generate_column, sample_column, stop_column, _ = st.columns([1, 1, 1, 3])
    pressed = generate_column.button("Generate", type="primary", key="generate", width="stretch")
    sample_column.button("New sample", icon=":material/casino:", key="new_sample", on_click=state.roll_seed,
                         width="stretch", help="A random seed, then generate")
    clamping.controls(info)
    request = state.request(clamped=True)
    if request.clamp:
        clamped_column, plain_column = st.columns(2)
        clamped_column.markdown("**Clamped**")
        plain_column.markdown("**Not clamped** (same seed and settings)")
        output, plain_output = clamped_column.empty(), plain_column.empty()
    else:
        output = st.empty()
    try:
        result = sampled_or_kept(output, stop_column.empty(), info, request, pressed)
        plain = clamping.unclamped(resources.load(info), request) if request.clamp else None
    except RnnlmError as exc:  # a model folder that fails its checks, or settings (or clamps) the core refuses
        output.error(str(exc))
        return
    if plain is not None:
        marked = clamping.differing(result, plain)
        blocks.coloured_text(output, result, marked)
        blocks.coloured_text(plain_output, plain, marked)
        st.caption(clamping.difference_caption(result, plain, marked))
    else:
        blocks.coloured_text(output, result, branching.forced_indices(result))
    branching.controls(result)
    if not result.finished:
        st.info(f"Stopped after {len(result.new_steps):,} of {result.request.length:,} tokens. Generate samples "
                "the whole text again (the same seed gives the same start).", icon=":material/stop_circle:")
    st.caption(blocks.summary(result))
    blocks.chart(result, key="generate-chart")
    blocks.downloads(result, info.name, key="generate")
    reproduce(info, result)


show()
