"""Server-wide limits of the fine-tune service, read from environment variables.

    RNNLM_MAX_TRAINING_JOBS   training jobs that run at once (default 1); later ones queue
    RNNLM_MAX_QUEUED_JOBS     jobs that may wait (default 8); beyond that, a "busy" message
    RNNLM_TRAIN_THREADS       torch threads per job (default 1: other visitors keep a core)
    RNNLM_MAX_TRAIN_MINUTES   the longest time budget a visitor may ask for (default 30)
    RNNLM_JOB_NICE            each job trains in its own process, this much nicer than the server
                              (default 10, 0..19): pages are served first when the CPU is busy
    RNNLM_JOB_MEMORY_MB       address-space ceiling of a job's process (RLIMIT_AS; default 0: none); a job
                              that needs more fails with a message, the server keeps its memory
    RNNLM_JOB_CANCEL_SECONDS  a cancelled job's process still running after this long is killed (default 20)
    RNNLM_UPLOAD_MB           text kept from one upload, all files together (default 20): also the
                              most uploaded text one session holds (the cleaned text, never the files)
    RNNLM_UPLOADS_TOTAL_MB    uploaded text all sessions together may hold (default 512); an upload
                              beyond it is refused with a message until other sessions end
    RNNLM_MODEL_ZIP_MB        largest model zip a visitor may upload (default 64)
    RNNLM_SESSION_HOURS       a session's models are deleted after this long unused (default 2)
    RNNLM_SESSIONS_DIR        the state root: each server process keeps its sessions' models in its
                              own folder under it, removed when the process ends (default:
                              rnnlm-state-<uid> in the system temp dir); see session_store
    RNNLM_STORE               the shared model store's folder, where "Publish a link" keeps models (default:
                              store/ under the state root); every process and replica that should open
                              the same links points at the same folder (a shared volume); see model_store
    RNNLM_STORE_MODEL_MB      largest model the store takes (default 64)
    RNNLM_STORE_PER_SESSION   models one session may have in the store (default 5)
    RNNLM_STORE_TOTAL_MB      all stored models together (default 1024); the least recently opened are
                              evicted to make room, except those opened in the last RNNLM_STORE_KEEP_HOURS
    RNNLM_STORE_DAYS          a stored model not opened for this many days is removed (default 30)
    RNNLM_STORE_KEEP_HOURS    a model opened this recently is never evicted (default 1): a full store refuses

Sizes are in MiB (2^20 bytes), in checks and in messages alike. Each upload widget gets its own
limit from here (file_uploader's max_upload_size); the Streamlit server refuses any request body over
server.maxUploadSize (.streamlit/config.toml), so that is only the ceiling, and a limit above it is
lowered to fit with a warning (within_upload_ceiling).

Env vars rather than st.secrets: a Procfile host sets them in its dashboard, and a
value that cannot be used is reported (the page shows it) instead of stopping the server.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .uploads import MB, UploadLimits

if TYPE_CHECKING:  # annotations only: the first page is drawn before torch is imported
    from .job_task import ProcessLimits
    from .model_zip import ModelZipLimits
    from .store_meta import StoreLimits

ENV_NAMES = {"max_concurrent": "RNNLM_MAX_TRAINING_JOBS", "max_queue": "RNNLM_MAX_QUEUED_JOBS",
             "train_threads": "RNNLM_TRAIN_THREADS", "max_minutes": "RNNLM_MAX_TRAIN_MINUTES",
             "job_nice": "RNNLM_JOB_NICE", "job_memory_mb": "RNNLM_JOB_MEMORY_MB",
             "job_cancel_seconds": "RNNLM_JOB_CANCEL_SECONDS",
             "upload_mb": "RNNLM_UPLOAD_MB", "uploads_total_mb": "RNNLM_UPLOADS_TOTAL_MB",
             "model_zip_mb": "RNNLM_MODEL_ZIP_MB",
             "session_hours": "RNNLM_SESSION_HOURS", "sessions_dir": "RNNLM_SESSIONS_DIR",
             "store_dir": "RNNLM_STORE", "store_model_mb": "RNNLM_STORE_MODEL_MB",
             "store_per_session": "RNNLM_STORE_PER_SESSION", "store_total_mb": "RNNLM_STORE_TOTAL_MB",
             "store_days": "RNNLM_STORE_DAYS", "store_keep_hours": "RNNLM_STORE_KEEP_HOURS"}
TEXT_SETTINGS = ("sessions_dir", "store_dir")  # folders: taken as given
# (lowest, highest) accepted; a value outside is refused with the range in the message.
RANGES = {"max_concurrent": (1, 64), "max_queue": (0, 1000), "train_threads": (1, 256),
          "job_nice": (0, 19), "job_memory_mb": (0, 1 << 24), "job_cancel_seconds": (1, 3600),
          "max_minutes": (0.1, 24 * 60), "upload_mb": (0.01, 2048), "uploads_total_mb": (0.01, 1 << 20),
          "model_zip_mb": (1, 2048),
          "session_hours": (0.01, 24 * 30),
          "store_model_mb": (0.01, 2048), "store_per_session": (1, 10_000), "store_total_mb": (0.01, 1 << 24),
          "store_days": (0.01, 3650), "store_keep_hours": (0, 24 * 365)}


@dataclass(frozen=True)
class FinetuneSettings:
    max_concurrent: int = 1
    max_queue: int = 8
    train_threads: int = 1
    max_minutes: float = 30.0
    job_nice: int = 10
    job_memory_mb: float = 0.0  # a job's process maps ~990 MiB before it loads a model: docs/DEPLOY.md
    job_cancel_seconds: float = 20.0
    upload_mb: float = 20.0
    uploads_total_mb: float = 512.0
    model_zip_mb: float = 64.0  # a 2 x 512 LSTM zips to ~14 MiB, the shipped medium word model to ~21 MiB
    session_hours: float = 2.0
    sessions_dir: str | None = None
    store_dir: str | None = None  # None: store/ under the state root (store_root)
    store_model_mb: float = 64.0
    store_per_session: int = 5
    store_total_mb: float = 1024.0
    store_days: float = 30.0
    store_keep_hours: float = 1.0

    @property
    def process_limits(self) -> ProcessLimits:
        from .job_task import ProcessLimits

        return ProcessLimits(nice=self.job_nice, memory_mb=self.job_memory_mb, cancel_seconds=self.job_cancel_seconds)

    @property
    def upload_limits(self) -> UploadLimits:
        return UploadLimits(max_text_bytes=int(self.upload_mb * MB))

    @property
    def model_zip_limits(self) -> ModelZipLimits:
        from .model_zip import ModelZipLimits

        return ModelZipLimits(max_weights_bytes=int(self.model_zip_mb * MB), max_zip_bytes=int(self.model_zip_mb * MB))

    @property
    def store_limits(self) -> StoreLimits:
        from .store_meta import StoreLimits

        return StoreLimits(max_model_bytes=int(self.store_model_mb * MB), models_per_session=self.store_per_session,
                           max_total_bytes=int(self.store_total_mb * MB), expiry_days=self.store_days,
                           keep_hours=self.store_keep_hours)

    @property
    def store_root(self) -> Path:
        """RNNLM_STORE, else store/ under the state root (RNNLM_SESSIONS_DIR or its default)."""
        if self.store_dir:
            return Path(self.store_dir).expanduser()
        from .session_store import default_state_root

        return (Path(self.sessions_dir).expanduser() if self.sessions_dir else default_state_root()) / "store"

    @property
    def upload_widget_mb(self) -> int:
        return widget_mb(self.upload_mb)

    @property
    def model_zip_widget_mb(self) -> int:
        return widget_mb(self.model_zip_mb)

    def within_upload_ceiling(self, ceiling_mb: int) -> tuple[FinetuneSettings, list[str]]:
        """These settings with every upload limit lowered to what a server whose
        server.maxUploadSize is ceiling_mb accepts, and one message per limit lowered."""
        changed, problems = {}, []
        largest = ceiling_mb * 1e6 / MB  # the most MiB whose widget_mb stays within the ceiling
        for name in ("upload_mb", "model_zip_mb"):
            if widget_mb(getattr(self, name)) > ceiling_mb:
                changed[name] = math.floor(largest * 100) / 100
                problems.append(f"{ENV_NAMES[name]}={getattr(self, name):g} MiB is above the server's upload "
                                f"ceiling (server.maxUploadSize = {ceiling_mb} MiB in .streamlit/config.toml); "
                                f"using {changed[name]:g} MiB")
        return replace(self, **changed), problems


def widget_mb(limit_mib: float) -> int:
    """st.file_uploader's max_upload_size for a limit of limit_mib MiB: whole "MB", at least 1.
    The browser reads that number as decimal megabytes (10^6 bytes; 2^20 only on Windows), so it
    is rounded up from 10^6 bytes: every file within the limit gets past the browser on every
    platform, and the exact limit, in MiB, is checked and stated here. The server reads it as MiB."""
    return max(1, math.ceil(limit_mib * MB / 1e6))


def _parsed(name: str, text: str, kind: type):
    value = kind(text)  # ValueError for "abc", "1.5" as an int
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(text)
    low, high = RANGES[name]
    if not low <= value <= high:
        raise ValueError(text)
    return value


def from_env(environ: Mapping[str, str]) -> tuple[FinetuneSettings, list[str]]:
    """The settings, and one problem per variable that could not be used (its default is kept)."""
    values, problems = {}, []
    for spec in fields(FinetuneSettings):
        env = ENV_NAMES[spec.name]
        text = environ.get(env, "").strip()
        if not text:
            continue
        if spec.name in TEXT_SETTINGS:
            values[spec.name] = text
            continue
        kind = int if spec.type == "int" else float
        try:
            values[spec.name] = _parsed(spec.name, text, kind)
        except ValueError:
            low, high = RANGES[spec.name]
            problems.append(f"{env}={text!r} is not {'a whole number' if kind is int else 'a number'} "
                            f"from {low:g} to {high:g}; using {getattr(FinetuneSettings, spec.name)!r}")
    return FinetuneSettings(**values), problems
