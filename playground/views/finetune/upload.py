"""The fine-tune page's first step: the text to train on, from files and pasted text.

What was uploaded is read once (rnnlm.service.uploads) and only its cleaned text is kept in the
session, never the files' bytes (nor those of files skipped): st.file_uploader forgets its files
when the user visits another page, and the text must not be lost with them. A session keeps one
text, at most RNNLM_UPLOAD_MB; all sessions together at most RNNLM_UPLOADS_TOTAL_MB
(jobs_resource.upload_budget), and an upload beyond that is refused with a message saying so.
Nothing here raises for bad input; the page shows why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import streamlit as st

from playground import jobs_resource, state
from playground.views.finetune import keys
from playground.views.finetune import report_html as fr
from playground.widgets.token_html import markdown_literal
from rnnlm import LanguageModel, RnnlmError
from rnnlm.service.settings import FinetuneSettings
from rnnlm.service.upload_budget import UploadBudget
from rnnlm.service.uploads import UploadLimits, UploadReport, read_files, with_pasted
from rnnlm.service.vocabulary_fit import vocabulary_fit

UPLOAD_HELP = ("UTF-8 text: .txt, .md, source code, or a .zip of them. Binary, non-UTF-8 and other files are "
               "skipped and listed below. Everything you upload is joined into one training text, of at most "
               "{limit:g} MiB (1 MiB = 1,048,576 bytes) with any pasted text.")


@dataclass
class KeptUpload:
    file_keys: tuple  # (name, size, file id) per uploaded file: which files were read, never their bytes
    pasted_digest: str
    files: UploadReport  # what the files gave, its text "" (report.text[:files_chars] holds it)
    files_chars: int = 0
    report: UploadReport | None = None
    error: str | None = None
    fits: dict = field(default_factory=dict)  # base model name -> VocabularyFit
    unreadable: bool = False  # the files themselves were refused (a zip bomb, a damaged zip)

    def files_part(self) -> UploadReport:
        """The files' own report, its text taken back from the joined text (a prefix of it)."""
        text = self.report.text[:self.files_chars] if self.report is not None else ""
        return UploadReport(text, list(self.files.files_used), list(self.files.skipped),
                            used_bytes=self.files.used_bytes)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _file_keys(widget_files: list) -> tuple:
    return tuple((f.name, f.size, f.file_id) for f in widget_files)


def read(file_keys: tuple, files: UploadReport | None, pasted: str, limits: UploadLimits,
         budget: UploadBudget | None = None, session: str = "") -> KeptUpload:
    """The text of these files (files: read_files' report, or None if reading them failed: error)
    and pasted text, counted against the server's budget; or the message saying why none is usable."""
    files = files if files is not None else UploadReport("")
    kept = KeptUpload(file_keys, _digest(pasted), UploadReport("", files.files_used, files.skipped,
                                                               used_bytes=files.used_bytes), len(files.text))
    try:
        kept.report = with_pasted(files, pasted, limits)
    except RnnlmError as exc:
        kept.error = str(exc)
        return kept
    problem = budget.hold(session, kept, kept.report.used_bytes) if budget is not None else None
    if problem:
        kept.report, kept.error = None, f"This upload cannot be kept: {problem}."
    return kept


def current(widget_files: list, pasted: str, limits: UploadLimits, budget: UploadBudget | None = None,
            session: str = "") -> KeptUpload | None:
    """What to train on now: the widget's files (or, after a page change emptied the widget, the
    text kept from before) plus the pasted text; read again only when they change."""
    kept = keys.kept_upload()
    file_keys = _file_keys(widget_files) if widget_files else (kept.file_keys if kept is not None else ())
    if not file_keys and not pasted.strip():
        keys.forget_upload()
        return None
    if kept is not None and kept.file_keys == file_keys and kept.pasted_digest == _digest(pasted):
        return kept
    if kept is not None and kept.file_keys == file_keys:
        files = None if kept.unreadable else kept.files_part()
    else:
        keys.forget_upload()  # the old text goes before the new files are read
        try:
            files = read_files(((f.name, f.getvalue()) for f in widget_files), limits)
        except RnnlmError as exc:
            kept = KeptUpload(file_keys, _digest(pasted), UploadReport(""), error=str(exc), unreadable=True)
            keys.keep_upload(kept)
            return kept
    if files is None:  # the same files as before, which could not be read: still not
        kept.pasted_digest = _digest(pasted)
        return kept
    kept = read(file_keys, files, pasted, limits, budget, session)
    keys.keep_upload(kept)
    return kept


def upload_section(settings: FinetuneSettings) -> KeptUpload | None:
    st.subheader("1 · Your text")
    limit = settings.upload_mb
    widget_files = st.file_uploader(f"Upload files (up to {limit:g} MiB of text in all)", accept_multiple_files=True,
                                    key=keys.FT_UPLOADER, on_change=keys.forget_upload,
                                    max_upload_size=settings.upload_widget_mb, help=UPLOAD_HELP.format(limit=limit))
    st.text_area("… or paste text", height=140, max_chars=settings.upload_limits.max_text_bytes,
                 placeholder="Paste a story, lyrics, code: at least a few thousand characters",
                 **state.bind(keys.FT_PASTED))
    kept = current(widget_files or [], state.value(keys.FT_PASTED), settings.upload_limits,
                   jobs_resource.upload_budget(), state.session_id())
    if kept is not None and kept.file_keys and not widget_files:
        forget_column, note_column = st.columns([1, 5], vertical_alignment="center")
        note_column.caption(f"Using the {len(kept.file_keys)} file(s) you uploaded before (only their text is kept; the upload "
                            "box empties when you visit another page).")
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
