"""What the server hands a job's training process, as plain data: the task.

    task = make_task(job, train_threads, limits)       # in the server, before the process starts
    spec, name, run_dir = spec_from_task(task)          # in the training process

The task holds paths, numbers and strings only. The upload's text is written to the run
folder's input/ folder; the base model is named by its folder (LanguageModel.path), which the
process loads and validates itself. A base with no folder (built in memory), or whose folder is
gone, is first saved to input/base. input/ is removed when the job ends (remove_inputs).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import CONFIG_FILE, load_model, save_model
from ..errors import RnnlmError
from .job_spec import JobSpec

INPUT_DIR = "input"
SPEC_FIELDS = ("level", "preset", "cell", "minutes", "steps", "prompt", "seed", "sample_tokens", "overrides")
MAX_NICE = 19


@dataclass(frozen=True)
class ProcessLimits:
    """How a job's process sits beside the server (settings.py reads them from the environment)."""
    nice: int = 10  # added to the server's niceness: the scheduler serves pages first
    memory_mb: float = 0  # address-space ceiling of the process (RLIMIT_AS); 0: none
    cancel_seconds: float = 20.0  # after Cancel (SIGTERM), how long before SIGKILL


def make_task(job, train_threads: int, limits: ProcessLimits) -> dict:
    """The task of job (a job_progress.Job): writes its inputs into its run folder."""
    spec, inputs = job.spec, job.run_dir / INPUT_DIR
    inputs.mkdir(parents=True, exist_ok=True)
    (inputs / "text.txt").write_text(spec.text, encoding="utf-8")
    base = None
    if spec.base is not None:
        folder = spec.base.path
        if folder is None or not (Path(folder) / CONFIG_FILE).is_file():
            folder = save_model(spec.base.net, spec.base.tokenizer, inputs / "base", training=spec.base.metadata)
        base = {"path": str(folder), "name": spec.base.name, "config": spec.base.config.to_dict()}
    return {"run_dir": str(job.run_dir), "name": job.snap.name, "base": base, "threads": train_threads,
            "spec": {name: getattr(spec, name) for name in SPEC_FIELDS},
            "nice": min(MAX_NICE, os.getpriority(os.PRIO_PROCESS, 0) + limits.nice),
            "memory_mb": limits.memory_mb}


def spec_from_task(task: dict) -> tuple[JobSpec, str, Path]:
    """(spec, name, run_dir) of a task, with the base model loaded from its folder and validated."""
    run_dir = Path(task["run_dir"])
    text = (run_dir / INPUT_DIR / "text.txt").read_text(encoding="utf-8")
    base = None
    if task["base"] is not None:
        base = load_model(task["base"]["path"], name=task["base"]["name"])
        if base.config.to_dict() != task["base"]["config"]:
            raise RnnlmError(f"the model {task['base']['name']!r} changed on disk since it was picked; "
                             "pick it again and start over")
    return JobSpec(text=text, base=base, **task["spec"]), task["name"], run_dir


def remove_inputs(run_dir: Path) -> None:
    shutil.rmtree(Path(run_dir) / INPUT_DIR, ignore_errors=True)
