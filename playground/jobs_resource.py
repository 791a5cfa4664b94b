"""The server's one JobManager (shared by every session) and the housekeeping app.py runs.

Streamlit has no session-end hook, so every run of every page (before_page(), after_page()):
  - marks this session's folder as used (a model picked on Generate must not be swept);
  - adds a job that finished while the user was elsewhere to the model picker;
  - at most every SWEEP_SECONDS, deletes the folders of sessions unused for
    RNNLM_SESSION_HOURS, and ends sessions whose browser tab is gone: their jobs are
    cancelled, freeing the queue, and their models deleted.

Which tabs are gone is decided with public Streamlit calls only. Streamlit 1.67's public API
says neither which server session a run belongs to nor whether its browser is still connected
(st.context offers headers, cookies, URL, locale...; the session id and is_active_session live
in streamlit.runtime, whose internals change between releases). So each session is named by
the id it keeps in st.session_state (state.session_id()) and counts as gone once it has not
been seen for server.disconnectedSessionTTL plus GRACE_SECONDS. Seen means a page run, or a
beat of heartbeat(), a fragment app.py draws on every page: the browser drives a fragment's
reruns, so a tab whose user only reads keeps beating and a closed one stops. By the time a
session counts as gone, Streamlit has dropped it too, and with it the session_state that
lists its models: a tab that comes back gets a new session, so nothing it could reach is lost.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from playground import session_models, state
from rnnlm import RnnlmError
from rnnlm.service.session_store import SessionStore
from rnnlm.service.settings import FinetuneSettings, from_env
from rnnlm.service.upload_budget import UploadBudget

if TYPE_CHECKING:  # annotations only: the first page is drawn before torch is imported
    from rnnlm.service.jobs import JobManager

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60.0
HEARTBEAT_SECONDS = 30.0
# On top of server.disconnectedSessionTTL: browsers fire a hidden tab's timers as rarely as once
# a minute, so an open tab may go two minutes between heartbeats; and a margin.
GRACE_SECONDS = 150.0


@st.cache_resource(show_spinner=False)
def settings() -> tuple[FinetuneSettings, tuple[str, ...]]:
    """The fine-tune settings, with each upload limit within the server's ceiling
    (server.maxUploadSize: Streamlit refuses a larger request body whatever the widget says)."""
    found, problems = from_env(os.environ)
    found, lowered = found.within_upload_ceiling(int(st.get_option("server.maxUploadSize")))
    problems += lowered
    for problem in problems:
        log.warning("fine-tune settings: %s", problem)
    return found, tuple(problems)


@st.cache_resource(show_spinner=False)
def upload_budget() -> UploadBudget:
    """Uploaded text held by all sessions together (RNNLM_UPLOADS_TOTAL_MB)."""
    return UploadBudget(int(settings()[0].uploads_total_mb * (1 << 20)))


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    from rnnlm.service.jobs import JobManager

    chosen = settings()[0]
    store = SessionStore.for_process(chosen.sessions_dir, max_age_seconds=chosen.session_hours * 3600)
    return JobManager(store, max_concurrent=chosen.max_concurrent, train_threads=chosen.train_threads,
                      max_queue=chosen.max_queue, max_minutes=chosen.max_minutes, limits=chosen.process_limits)


@st.cache_resource(show_spinner=False)
def warm_job_processes() -> bool:
    """Start the training processes' fork server, in the background, the first time this server
    process draws the Fine-tune page: it loads torch and the trainer once (~4 s of CPU, ~460 MB),
    so a visitor's first job need not wait for that. Servers whose visitors never open Fine-tune
    never pay for it."""
    from rnnlm.service.job_process import warm_up

    threading.Thread(target=warm_up, name="rnnlm-job-forkserver-warm-up", daemon=True).start()
    return True


class LastSeen:
    """When each session last ran a page or sent a heartbeat. Needs no torch, so a heartbeat stays
    cheap and the first page of a fresh server does not wait for the job manager's import."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock, self.lock = clock, threading.Lock()
        self.times: dict[str, float] = {}

    def mark(self, session_id: str) -> None:
        with self.lock:
            self.times[session_id] = self.clock()

    def unseen_for(self, seconds: float) -> list[str]:
        """Sessions not seen for longer than seconds, forgotten here so that each is reported once."""
        now = self.clock()
        with self.lock:
            gone = [session_id for session_id, seen in self.times.items() if now - seen > seconds]
            for session_id in gone:
                del self.times[session_id]
        return gone


class SessionJanitor:
    """Sweeps stale session folders and ends the sessions that have not been seen for idle_seconds."""

    def __init__(self, manager: JobManager, seen: LastSeen, idle_seconds: float,
                 clock: Callable[[], float] = time.monotonic):
        self.manager, self.seen, self.idle_seconds, self.clock = manager, seen, idle_seconds, clock
        self.last_sweep = -float("inf")

    def visit(self, session_id: str) -> None:
        self.manager.store.touch(session_id)
        self.seen.mark(session_id)

    def tidy(self) -> list[str]:
        """Sweep stale folders and end gone sessions (in the background), at most every SWEEP_SECONDS."""
        now = self.clock()
        if now - self.last_sweep < SWEEP_SECONDS:
            return []
        self.last_sweep = now
        self.manager.sweep()
        ended = self.seen.unseen_for(self.idle_seconds)
        for session_id in ended:  # waiting for a cancelled job to wind down is nobody's page load
            threading.Thread(target=self.manager.end_session, args=(session_id,), daemon=True,
                             name="rnnlm-end-session").start()
        return ended


@st.cache_resource(show_spinner=False)
def last_seen() -> LastSeen:
    return LastSeen()


@st.cache_resource(show_spinner=False)
def janitor() -> SessionJanitor:
    idle = float(st.get_option("server.disconnectedSessionTTL") or 0) + GRACE_SECONDS
    return SessionJanitor(job_manager(), last_seen(), idle)


@st.fragment(run_every=HEARTBEAT_SECONDS)
def heartbeat() -> None:
    """Draws nothing; while the tab is open, marks this session seen every HEARTBEAT_SECONDS."""
    last_seen().mark(state.session_id())


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
    """Mark this session used and sweep stale ones. The job manager imports torch (~2 s of CPU),
    which the first page of a fresh server should not wait for, not even after it is drawn (the
    browser shows the page as running until the script ends): that import runs in the background,
    and until it is done the page only marks the session seen. A session that has a folder has
    run a job or uploaded a model, which imported torch already, so no folder misses its touch."""
    session = state.session_id()
    if not job_module_imported().is_set():
        last_seen().mark(session)  # the part of visit() that needs no torch
        return
    cleaner = janitor()
    cleaner.visit(session)
    cleaner.tidy()


@st.cache_resource(show_spinner=False)
def job_module_imported() -> threading.Event:
    """Set once the job manager's module (torch with it) is imported by a background thread,
    started by the first page run of this server process."""
    done = threading.Event()

    def load() -> None:
        import rnnlm.service.jobs  # noqa: F401  (imported for its side effect: torch is loaded)

        done.set()

    threading.Thread(target=load, name="rnnlm-import-job-manager", daemon=True).start()
    return done


# --- this session's latest job ---------------------------------------------------------

_FT_JOB = "_ft_job"


def finetune_job() -> dict | None:
    """This session's latest job: {"id", "held_out" (the text it is scored on)}."""
    return st.session_state.get(_FT_JOB)


def set_finetune_job(job_id: str, held_out: str) -> None:
    st.session_state[_FT_JOB] = {"id": job_id, "held_out": held_out}


def forget_finetune_job() -> None:
    st.session_state.pop(_FT_JOB, None)
