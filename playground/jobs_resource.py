"""The server's one JobManager (shared by every session) and the housekeeping app.py runs.

Streamlit has no session-end hook, so every run of every page (before_page(), after_page()):
  - marks this session's folder as used (a model picked on Generate must not be swept);
  - adds a job that finished while the user was elsewhere to the model picker;
  - at most every SWEEP_SECONDS, deletes the folders of sessions unused for
    RNNLM_SESSION_HOURS, and ends sessions the server has dropped (their browser tab
    closed longer ago than Streamlit keeps a disconnected session): their jobs are
    cancelled, freeing the queue, and their models deleted.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import streamlit as st

from playground import session_models, state
from rnnlm import RnnlmError
from rnnlm.service.session_store import SessionStore
from rnnlm.service.settings import FinetuneSettings, from_env

if TYPE_CHECKING:  # annotations only: the first page is drawn before torch is imported
    from rnnlm.service.jobs import JobManager

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60.0
GRACE_SECONDS = 60.0  # on top of server.disconnectedSessionTTL: a reconnecting tab keeps its models


@st.cache_resource(show_spinner=False)
def settings() -> tuple[FinetuneSettings, tuple[str, ...]]:
    found, problems = from_env(os.environ)
    for problem in problems:
        log.warning("fine-tune settings: %s", problem)
    return found, tuple(problems)


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    from rnnlm.service.jobs import JobManager

    chosen = settings()[0]
    store = SessionStore(chosen.sessions_dir, max_age_seconds=chosen.session_hours * 3600)
    return JobManager(store, max_concurrent=chosen.max_concurrent, train_threads=chosen.train_threads,
                      max_queue=chosen.max_queue, max_minutes=chosen.max_minutes)


class SessionJanitor:
    """Remembers which Streamlit session each of our sessions is, and ends the ones gone for good.

    is_live(runtime_id) says True/False, or None when it cannot tell (no server runtime,
    as under AppTest): then only the age sweep applies."""

    def __init__(self, manager: JobManager, is_live: Callable[[str], bool | None], grace_seconds: float,
                 clock: Callable[[], float] = time.monotonic):
        self.manager, self.is_live, self.grace, self.clock = manager, is_live, grace_seconds, clock
        self.lock = threading.Lock()
        self.last_live: dict[str, tuple[str, float]] = {}  # our id -> (Streamlit's id, when last seen live)
        self.last_sweep = -float("inf")

    def visit(self, session_id: str, runtime_id: str | None) -> None:
        self.manager.store.touch(session_id)
        if runtime_id:
            with self.lock:
                self.last_live[session_id] = (runtime_id, self.clock())

    def gone(self) -> list[str]:
        """Sessions whose Streamlit session has been gone longer than the grace period."""
        now, ended = self.clock(), []
        with self.lock:
            for session_id, (runtime_id, seen) in list(self.last_live.items()):
                live = self.is_live(runtime_id)
                if live:
                    self.last_live[session_id] = (runtime_id, now)
                elif live is False and now - seen > self.grace:
                    del self.last_live[session_id]
                    ended.append(session_id)
        return ended

    def tidy(self) -> list[str]:
        """Sweep stale folders and end gone sessions (in the background), at most every SWEEP_SECONDS."""
        now = self.clock()
        if now - self.last_sweep < SWEEP_SECONDS:
            return []
        self.last_sweep = now
        self.manager.sweep()
        ended = self.gone()
        for session_id in ended:  # waiting for a cancelled job to wind down is nobody's page load
            threading.Thread(target=self.manager.end_session, args=(session_id,), daemon=True,
                             name="rnnlm-end-session").start()
        return ended


def _runtime_is_live(runtime_id: str) -> bool | None:
    from streamlit import runtime
    if not runtime.exists():
        return None
    return runtime.get_instance().is_active_session(runtime_id)


def _runtime_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


@st.cache_resource(show_spinner=False)
def janitor() -> SessionJanitor:
    grace = float(st.get_option("server.disconnectedSessionTTL") or 0) + GRACE_SECONDS
    return SessionJanitor(job_manager(), _runtime_is_live, grace)


def collect_finished_job() -> None:
    """Put this session's finished job's model in the picker (if not there yet)."""
    job = finetune_job()
    if job is None:
        return
    try:
        snap = job_manager().snapshot(job["id"])
    except RnnlmError:  # swept, or the server restarted: the page says so
        return
    if snap.finished and snap.result is not None and snap.result.model_dir.is_dir():
        try:
            session_models.register_result(snap.result, job["held_out"])
        except (RnnlmError, OSError):  # the page shows the job's result and says what went wrong
            log.exception("could not add the model of job %s to the picker", job["id"])


def drop_vanished_models() -> None:
    """Session models whose folder was swept (the session sat unused too long) leave the picker."""
    for entry in state.session_model_entries():
        if not Path(entry["path"]).is_dir():
            state.remove_session_model(entry["name"])


def before_page() -> None:
    """What the model picker needs first: a swept model leaves it, a finished job's model joins it."""
    drop_vanished_models()
    collect_finished_job()


def after_page() -> None:
    """Mark this session used and sweep stale ones. After the page is drawn, because the job
    manager imports torch (~2 s), which the first page of a fresh server should not wait for."""
    cleaner = janitor()
    cleaner.visit(state.session_id(), _runtime_id())
    cleaner.tidy()


# --- this session's latest job ---------------------------------------------------------

_FT_JOB = "_ft_job"


def finetune_job() -> dict | None:
    """This session's latest job: {"id", "held_out" (the text it is scored on), "level"}."""
    return st.session_state.get(_FT_JOB)


def set_finetune_job(job_id: str, held_out: str, level: str) -> None:
    st.session_state[_FT_JOB] = {"id": job_id, "held_out": held_out, "level": level}


def forget_finetune_job() -> None:
    st.session_state.pop(_FT_JOB, None)
