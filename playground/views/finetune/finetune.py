"""Fine-tune page: train a model on your own text in the browser, watch it learn, keep it.

Upload or paste text, pick a model to fine-tune (or train from scratch), set a budget and
start: training runs in the server's background queue (playground.jobs_resource), so the
page can be left and revisited. The result joins this session's model picker, can be
downloaded as a zip and uploaded again later, or published as a link anyone can open
(playground.widgets.publish, the server's model store).
"""

import streamlit as st

from playground import jobs_resource, resources, state
from playground.views.finetune import choices as finetune_blocks
from playground.views.finetune import job_panel as finetune_job
from playground.views.finetune import keys
from playground.views.finetune import upload as finetune_upload
from playground.widgets import blocks
from playground.widgets.token_html import markdown_literal
from rnnlm import RnnlmError


def show() -> None:
    settings, problems = jobs_resource.settings()
    jobs_resource.warm_job_processes()
    catalogue = blocks.catalogue()
    keys.start_finetune([info.name for info in catalogue], state.current_model(catalogue).name,
                         settings.max_minutes)
    st.title("Fine-tune")
    st.caption("Teach a model your own text: a novel, your C code, song lyrics. Training runs on the server "
               "while you watch; the result is yours for this session, as a download, and as a link to share.")
    for problem in problems:
        st.warning(markdown_literal(f"Server setting ignored: {problem}"))
    kept = finetune_upload.upload_section(settings)
    report = finetune_upload.show_report(kept)
    base = finetune_blocks.base_section(catalogue)
    if report is not None and base is not None:
        try:
            finetune_upload.show_fit(kept, resources.load(base))
        except RnnlmError as exc:  # a session model whose folder fails its checks
            st.error(markdown_literal(str(exc)))
    finetune_blocks.budget_section(settings, report)
    busy_slot = st.container()
    busy = finetune_job.job_section()
    with busy_slot:
        finetune_blocks.start_button(report, base, busy)
    st.divider()
    finetune_blocks.model_zip_section(settings)


show()
