"""The playground's entry point: `streamlit run playground/app.py`.

Draws what every page shares (page config, the stylesheet, the sidebar's model picker and
sampling controls, notices about the opened link), writes the controls to the URL, then
runs the selected page. A new page is one PageSpec line below plus its file in views/.
"""

import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only playground/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from playground import blocks, jobs_resource, render, sidebar, state  # noqa: E402
from rnnlm import RnnlmError  # noqa: E402


@dataclass(frozen=True)
class PageSpec:
    file: str  # relative to this file
    title: str
    icon: str
    url_path: str
    url_params: tuple[str, ...]  # the controls this page keeps in the URL
    sampling: bool  # whether the sidebar shows the sampling controls


PAGES = (
    PageSpec("views/generate.py", "Generate", ":material/edit_note:", "generate", state.GENERATE_PARAMS, True),
    PageSpec("views/compare.py", "Compare", ":material/compare_arrows:", "compare", state.COMPARE_PARAMS, True),
    PageSpec("views/inspect.py", "Inspect", ":material/biotech:", "inspect", state.MODEL_PARAMS, False),
    PageSpec("views/score.py", "Score", ":material/speed:", "score", state.MODEL_PARAMS, False),
    PageSpec("views/models.py", "Models", ":material/menu_book:", "models", state.MODEL_PARAMS, False),
    PageSpec("views/finetune.py", "Fine-tune", ":material/model_training:", "finetune", state.MODEL_PARAMS, False),
)


def navigation() -> tuple[PageSpec, st.Page]:
    pages = [st.Page(spec.file, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=index == 0)
             for index, spec in enumerate(PAGES)]
    selected = st.navigation(pages)
    return next(spec for spec, page in zip(PAGES, pages) if page is selected), selected


def main() -> None:
    st.set_page_config(page_title="RNN playground", page_icon="🔡", layout="wide")
    st.html(render.STYLESHEET)
    jobs_resource.before_page()  # before the catalogue: a job that just finished joins the picker
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
    try:
        page.run()
    finally:  # also when the page stops or reruns: every run marks the session used
        jobs_resource.after_page()


main()
