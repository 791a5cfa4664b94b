"""The fine-tune page's first step: the text to train on, from files and pasted text.

What was uploaded is read once (rnnlm.service.uploads) and kept in the session with the files'
bytes: st.file_uploader forgets its files when the user visits another page, and the
text must not be lost with them. Nothing here raises for bad input; the page shows why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import streamlit as st

from playground import state
from playground.views.finetune import keys
from playground.views.finetune import report_html as fr
from playground.widgets.token_html import markdown_literal
from rnnlm import LanguageModel, RnnlmError
from rnnlm.service.settings import FinetuneSettings
from rnnlm.service.uploads import UploadLimits, UploadReport, read_uploads, vocabulary_fit

UPLOAD_HELP = ("UTF-8 text: .txt, .md, source code, or a .zip of them. Binary, non-UTF-8 and other files are "
               "skipped and listed below. Everything you upload is joined into one training text.")


@dataclass
class KeptUpload:
    files: tuple[tuple[str, bytes], ...]  # (name, bytes) as uploaded
    pasted_digest: str
    report: UploadReport | None = None
    error: str | None = None
    fits: dict = field(default_factory=dict)  # base model name -> VocabularyFit


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def read(files: tuple[tuple[str, bytes], ...], pasted: str, limits: UploadLimits) -> KeptUpload:
    """The report of these files and pasted text, or the message saying why none is usable."""
    kept = KeptUpload(files, _digest(pasted))
    try:
        kept.report = read_uploads(files, pasted, limits)
    except RnnlmError as exc:
        kept.error = str(exc)
    return kept


def current(widget_files: list, pasted: str, limits: UploadLimits) -> KeptUpload | None:
    """What to train on now: the widget's files (or, after a page change emptied the widget,
    the files kept from before) plus the pasted text; read again only when they change."""
    kept = keys.kept_upload()
    if widget_files:
        files = tuple((f.name, f.getvalue()) for f in widget_files)
    else:
        files = kept.files if kept is not None else ()
    if not files and not pasted.strip():
        keys.forget_upload()
        return None
    if kept is not None and kept.files == files and kept.pasted_digest == _digest(pasted):
        return kept
    kept = read(files, pasted, limits)
    keys.keep_upload(kept)
    return kept


def upload_section(settings: FinetuneSettings) -> KeptUpload | None:
    st.subheader("1 · Your text")
    widget_files = st.file_uploader("Upload files", accept_multiple_files=True, key=keys.FT_UPLOADER,
                                    on_change=keys.forget_upload, max_upload_size=settings.upload_widget_mb,
                                    help=UPLOAD_HELP)
    st.text_area("… or paste text", height=140, max_chars=settings.upload_limits.max_text_bytes,
                 placeholder="Paste a story, lyrics, code: at least a few thousand characters",
                 **state.bind(keys.FT_PASTED))
    kept = current(widget_files or [], state.value(keys.FT_PASTED), settings.upload_limits)
    if kept is not None and kept.files and not widget_files:
        forget_column, note_column = st.columns([1, 5], vertical_alignment="center")
        note_column.caption(f"Using the {len(kept.files)} file(s) you uploaded before (the upload box empties "
                            "when you visit another page).")
        forget_column.button("Forget them", key="ft_forget_files", on_click=keys.forget_upload)
    return kept


def show_report(kept: KeptUpload | None) -> UploadReport | None:
    """What was received; the report if it can be trained on."""
    if kept is None:
        st.info("Upload files or paste text to train on.")
        return None
    if kept.error:
        st.error(markdown_literal(kept.error))
        return None
    report = kept.report
    chars, lines, used, skipped = st.columns(4)
    chars.metric("Characters", f"{report.chars:,}")
    lines.metric("Lines", f"{report.lines:,}")
    used.metric("Sources used", len(report.files_used))
    skipped.metric("Skipped", len(report.skipped))
    with st.expander(f"Files: {len(report.files_used)} used, {len(report.skipped)} skipped",
                     expanded=bool(report.skipped)):
        st.html(fr.received_html(report))
    with st.expander(f"Character set: {len(report.charset):,} distinct characters"):
        st.code(fr.characters_text(report.charset), language=None, wrap_lines=True)
    return report


def show_fit(kept: KeptUpload, base: LanguageModel) -> None:
    """The share of the text the base model has never seen (measured once per base)."""
    if base.name not in kept.fits:
        kept.fits[base.name] = vocabulary_fit(kept.report.text, base)
    fit = kept.fits[base.name]
    st.info(fr.fit_text(fit), icon=":material/spellcheck:")
    if fit.unseen_chars:
        st.caption(f"Characters {base.name} has never seen:")
        st.code(fr.characters_text(fit.unseen_chars), language=None, wrap_lines=True)
