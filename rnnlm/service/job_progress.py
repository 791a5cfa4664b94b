"""What a job's training process tells the server, and how the server applies it to the job.

The child process (job_child) reports through ProgressReporter, the trainer's callbacks. Each
message is one JSON object of numbers and strings, so nothing crosses back but plain data: no
model objects, and nothing the server unpickles.

    {"kind": "update", "phase": ..., "message": ..., "chars_per_token": ...}   any of the three
    {"kind": "step", "step", "loss", "fraction", "eta_seconds", "elapsed_seconds",
                     "tokens_per_second", "grad_norm", "clip_rate"}
    {"kind": "eval", "step", "val_loss", "sample", "chars_per_token"}
    {"kind": "result", **JobResult's fields}     the job is done; model_dir is a path string
    {"kind": "not_started"}                      cancelled before training began
    {"kind": "error", "message"}                 it failed, and says why

In the server, the job's reader thread (job_process) hands each message to Job.apply, which
changes the job's snapshot under the manager's lock, where the page's polls read it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, fields, replace
from pathlib import Path

from ..checkpoint import CONFIG_FILE
from ..tokenizers import load_tokenizer
from ..training.progress import Callbacks, Progress
from .job_spec import JobSpec
from .job_status import JobResult, JobSnapshot

MAX_CURVE_POINTS = 4000  # longer loss histories are thinned (every other point) to bound memory
MAX_MESSAGE_BYTES = 16 << 20  # a sample is at most a few 10k characters; anything larger is not ours
UPDATABLE = ("phase", "message", "chars_per_token")  # what an "update" may change
RESULT_FIELDS = tuple(f.name for f in fields(JobResult))


def encode(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode("utf-8")  # NaN passes: a diverged loss is one


def decode(data: bytes) -> dict:
    message = json.loads(data.decode("utf-8"))
    if not isinstance(message, dict) or not isinstance(message.get("kind"), str):
        raise TypeError("not a job message")
    return message


def result_message(result: JobResult) -> dict:
    return {"kind": "result", **asdict(result), "model_dir": str(result.model_dir)}


def result_from(message: dict) -> JobResult:
    values = {name: message[name] for name in RESULT_FIELDS if name in message}
    return JobResult(**{**values, "model_dir": Path(values["model_dir"])})


def chars_per_token(tokenizer, text: str) -> float:
    """Characters per token of text: a loss in nats/token divided by it is in nats/char (1 at char level)."""
    return len(text) / max(1, len(tokenizer.encode(text)))


class Job:
    """One job's mutable state in the server; every field is read and written under lock, the
    manager's (one lock for all jobs, so the manager sees its queue and every job at one instant)."""

    def __init__(self, job_id: str, session_id: str, spec: JobSpec, name: str, run_dir: Path,
                 lock: threading.RLock):
        self.id, self.session_id, self.spec, self.run_dir, self.lock = job_id, session_id, spec, run_dir, lock
        self.snap = JobSnapshot(job_id, name, spec.kind, "queued")
        self.train_loss: list[tuple[int, float]] = []
        self.cancel, self.done = threading.Event(), threading.Event()
        self.worker = None  # the JobProcess training it, while it runs
        self.result: JobResult | None = None  # what the process reported last: a result,
        self.error: str | None = None  # or why it failed,
        self.not_started = False  # or that it stopped before training

    def update(self, **changes) -> None:
        with self.lock:
            self.snap = replace(self.snap, **changes)

    def apply(self, message: dict) -> None:
        """One message from the training process; unknown kinds are ignored."""
        kind = message["kind"]
        with self.lock:
            if kind == "update":
                changes = {k: message[k] for k in UPDATABLE if k in message}
                if self.cancel.is_set() and changes.get("phase") in ("preparing", "training"):
                    changes["phase"] = "cancelling"  # Cancel was heard: keep saying so
                self.snap = replace(self.snap, **changes)
            elif kind == "step":
                self._step(message)
            elif kind == "eval":
                snap = self.snap
                sample = () if message.get("sample") is None else ((message["step"], message["sample"]),)
                self.snap = replace(snap, val_loss=snap.val_loss + ((message["step"], message["val_loss"]),),
                                    samples=snap.samples + sample,
                                    chars_per_token=message.get("chars_per_token", snap.chars_per_token))
            elif kind == "result":
                self.result = result_from(message)
            elif kind == "error":
                self.error = str(message.get("message", "training failed"))
            elif kind == "not_started":
                self.not_started = True

    def _step(self, message: dict) -> None:
        self.train_loss.append((message["step"], message["loss"]))
        if len(self.train_loss) > MAX_CURVE_POINTS:
            self.train_loss[:] = self.train_loss[::2]
        self.snap = replace(self.snap, **{k: message[k] for k in (
            "fraction", "eta_seconds", "step", "elapsed_seconds", "tokens_per_second", "grad_norm", "clip_rate")})


class ProgressReporter(Callbacks):
    """In the training process: the trainer's callbacks (and the job's own phase changes) as messages."""

    def __init__(self, send: Callable[[dict], None], run_dir: Path, held_out: str = ""):
        self.send, self.run_dir, self.held_out = send, Path(run_dir), held_out
        self.chars_per_token: float | None = None

    def update(self, **changes) -> None:
        if "chars_per_token" in changes:
            self.chars_per_token = changes["chars_per_token"]
        self.send({"kind": "update", **changes})

    def on_step(self, p: Progress) -> None:
        eta = p.eta_seconds if p.eta_seconds != float("inf") else None
        self.send({"kind": "step", "step": p.step, "loss": p.loss, "fraction": p.fraction, "eta_seconds": eta,
                   "elapsed_seconds": p.elapsed_seconds, "tokens_per_second": p.tokens_per_second,
                   "grad_norm": p.grad_norm, "clip_rate": p.clip_rate})

    def on_eval(self, p: Progress) -> None:
        if self.chars_per_token is None:  # a new word model: its tokenizer exists once an evaluation exported it
            self.chars_per_token = self._exported_chars_per_token()
        self.send({"kind": "eval", "step": p.step, "val_loss": p.val_loss, "sample": p.sample,
                   "chars_per_token": self.chars_per_token})

    def _exported_chars_per_token(self) -> float | None:
        folder = self.run_dir / "model"
        if not self.held_out or not (folder / CONFIG_FILE).is_file():
            return None
        return chars_per_token(load_tokenizer(folder), self.held_out)
