"""The playground's entry point: `streamlit run playground/app.py`.

Draws what every page shares (page config, the stylesheet, the sidebar's model picker and
sampling controls, notices about the opened link), writes the controls to the URL, then
runs the selected page. A new page is one PageSpec line below plus its folder in views/.
"""

from dataclasses import dataclass

import streamlit as st

from playground import jobs_resource, shared_models, sidebar, state, timing_trace
from playground.widgets import blocks
from playground.widgets import token_html as render
from rnnlm import RnnlmError


@dataclass(frozen=True)
class PageSpec:
    file: str  # relative to this file
    title: str
    icon: str
    url_path: str
    url_params: tuple[str, ...]  # the controls this page keeps in the URL
    sampling: bool  # whether the sidebar shows the sampling controls


PAGES = (
    PageSpec("views/generate/generate.py", "Generate", ":material/edit_note:", "generate", state.GENERATE_PARAMS, True),
    PageSpec("views/compare/compare.py", "Compare", ":material/compare_arrows:", "compare", state.COMPARE_PARAMS, True),
    PageSpec("views/inspect/inspect.py", "Inspect", ":material/biotech:", "inspect", state.MODEL_PARAMS, False),
    PageSpec("views/score/score.py", "Score", ":material/speed:", "score", state.MODEL_PARAMS, False),
    PageSpec("views/models/models.py", "Models", ":material/menu_book:", "models", state.MODEL_PARAMS, False),
    PageSpec("views/finetune/finetune.py", "Fine-tune", ":material/model_training:", "finetune", state.MODEL_PARAMS, False),
    PageSpec("views/learn/learn.py", "Learn", ":material/school:", "learn", state.MODEL_PARAMS, False),
)


def navigation() -> tuple[PageSpec, st.Page]:
    """Every page at its own path (/generate, /score, ...). Streamlit serves its default page only
    at the root ("/"), so the first page is default there and also has a hidden twin at its own
    path: /generate opens Generate instead of "Page not found"."""
    first = PAGES[0]
    pages = [st.Page(spec.file, title=spec.title, icon=spec.icon, url_path=spec.url_path if index else "home",
                     default=index == 0) for index, spec in enumerate(PAGES)]
    twin = st.Page(first.file, title=first.title, icon=first.icon, url_path=first.url_path, visibility="hidden")
    selected = st.navigation([*pages, twin])
    specs = [*PAGES, first]
    return next(spec for spec, page in zip(specs, [*pages, twin]) if page is selected), selected


def main() -> None:
    st.set_page_config(page_title="RNN playground", page_icon="🔡", layout="wide")
    timing_trace.mark("run", session=state.session_id(), seed=st.session_state.get(state.SEED))
    st.html(render.STYLESHEET)
    jobs_resource.before_page()  # before the catalogue: a job that just finished joins the picker
    shared_models.open_linked_models()  # before the catalogue: a link's ?model=u-<id> joins the picker
    try:
        catalogue = blocks.catalogue()
    except RnnlmError as exc:  # a manifest that is not valid JSON or lacks fields
        st.error(f"Cannot read the list of models: {exc}")
        st.stop()
    if not catalogue:
        st.error("No models found: pretrained/manifest.json lists none. Train one: see the README.")
        st.stop()
    state.start(catalogue)
    spec, page = navigation()
    sidebar.model_picker(catalogue)
    if spec.sampling:
        sidebar.sampling_controls()
    state.write_url(spec.url_params)
    blocks.notices()
    with st.sidebar:  # an empty fragment: at the sidebar's foot it takes no room from the page
        jobs_resource.heartbeat()  # keeps an open tab's session alive while its user only reads
    try:
        page.run()
    finally:  # also when the page stops or reruns: every run marks the session used
        jobs_resource.after_page()


main()
