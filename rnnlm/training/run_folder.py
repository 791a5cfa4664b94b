"""A run folder's files beyond the model: the trainer state an exact resume needs, the metrics log.

A training checkpoint is a model folder plus trainer_state.safetensors (optimizer
moments, every rank's torch RNG, every rank's carried hidden state) and trainer_state.json
(step, data position, elapsed time, best validation loss, optimizer hyper-parameters),
all stored without pickle. metrics.jsonl has one record per step and per evaluation;
loss.html draws them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError

STATE_TENSORS = "trainer_state.safetensors"
STATE_JSON = "trainer_state.json"


@dataclass
class Counters:
    step: int = 0
    tokens_seen: int = 0
    elapsed_seconds: float = 0.0
    batch_position: int = 0
    best_val: float | None = None  # nats/char on the evaluation set (eval_chars of the held-out text)
    best_step: int | None = None
    best_weights: str | None = None  # "current" or "averaged" (ema_decay): which weights scored best_val
    evals_without_improvement: int = 0
    clipped_steps: int = 0
    history: list = field(default_factory=list)  # (step, val nats/char) of every evaluation


def save_train_state(folder: Path, counters: Counters, optimizer: torch.optim.Optimizer,
                     hidden: tuple[torch.Tensor, ...] | None, rng_states: torch.Tensor,
                     extra: dict[str, torch.Tensor] | None = None) -> None:
    """hidden: every rank's streams side by side (layers, streams, hidden); rng_states: (ranks, bytes);
    extra: more named tensors (the weight average), which load_train_state hands back."""
    opt = optimizer.state_dict()
    tensors = {"rng.torch": rng_states.contiguous(), **(extra or {})}
    for index, param_state in opt["state"].items():
        for key, value in param_state.items():
            tensors[f"optimizer.{index}.{key}"] = torch.as_tensor(value).contiguous()
    for index, tensor in enumerate(hidden or ()):
        tensors[f"hidden.{index}"] = tensor.detach().contiguous()
    save_file(tensors, str(folder / STATE_TENSORS))
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in opt["param_groups"]]
    (folder / STATE_JSON).write_text(json.dumps({"counters": asdict(counters), "param_groups": groups}, indent=1))


def load_train_state(folder: Path, optimizer: torch.optim.Optimizer, rank: int = 0, world: int = 1,
                     streams: int | None = None, state_like: tuple[torch.Tensor, ...] | None = None,
                     ) -> tuple[Counters, tuple | None, dict[str, torch.Tensor]]:
    """Restore the optimizer and this rank's RNG; return the counters, this rank's hidden state
    and every tensor of the state by name (save_train_state's extra tensors among them).

    streams is this rank's batch size. The saved state is used only if it covers exactly
    world x streams streams: after a change of batch or world size the streams no longer
    hold the same text, so they start from a zero state instead. state_like is the model's
    zero state; a saved state of another shape is refused.

    Everything is checked (counters, tensor shapes against the optimizer's parameters) before
    it is used, so a damaged state is a CheckpointError here, never an error mid-training.
    """
    try:
        tensors = load_file(str(folder / STATE_TENSORS))
        meta = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError, SafetensorError, RecursionError) as exc:  # ValueError: bad JSON or UTF-8
        raise CheckpointError(f"{folder} has no readable trainer state ({_one_line(exc)}); "
                              "it cannot be resumed") from None
    try:
        return _restore(tensors, meta, optimizer, rank, world, streams, state_like)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as exc:  # damaged or hand-edited
        raise damaged_state(folder, exc) from None


def damaged_state(folder: Path, exc: Exception) -> CheckpointError:
    return CheckpointError(f"{folder}: the trainer state is damaged ({type(exc).__name__}: {_one_line(exc)}); "
                           "resume from an earlier copy of the run or start a new one")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _restore(tensors: dict, meta: dict, optimizer, rank: int, world: int, streams: int | None,
             state_like: tuple[torch.Tensor, ...] | None):
    counters = _checked_counters(meta["counters"])
    state: dict[int, dict] = {}
    for name, tensor in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = tensor
    _check_optimizer_state(state, optimizer)
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    rng = tensors["rng.torch"]
    rng = rng if rng.dim() == 2 else rng[None]  # one row per rank
    torch.set_rng_state(rng[rank % len(rng)].clone())  # a row view would not do: set_rng_state ignores its offset
    hidden = tuple(tensors[f"hidden.{i}"] for i in range(2) if f"hidden.{i}" in tensors) or None
    if hidden is not None and state_like is not None:  # (layers, streams, hidden): any number of streams
        saved, wanted = [tuple(h.shape) for h in hidden], [tuple(h.shape) for h in state_like]
        if any(len(s) != 3 for s in saved) or [(s[0], s[2]) for s in saved] != [(w[0], w[2]) for w in wanted] \
                or len({s[1] for s in saved}) != 1:
            raise ValueError(f"the carried hidden state has shapes {saved}; the model's is {wanted} "
                             "(layers, streams, hidden)")
    if hidden is not None and streams is not None:
        matches = hidden[0].shape[1] == world * streams
        hidden = tuple(h[:, rank * streams:(rank + 1) * streams].contiguous() for h in hidden) if matches else None
    return counters, hidden, tensors


WHOLE_COUNTERS = ("step", "tokens_seen", "batch_position", "evals_without_improvement", "clipped_steps")


def _checked_counters(values: dict) -> Counters:
    """Counters from the state JSON, refused (ValueError) unless every one is of its kind and in range."""
    counters = Counters(**values)  # TypeError for a name that is not a counter
    c = counters

    def number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    for name in WHOLE_COUNTERS:
        value = getattr(c, name)
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            raise ValueError(f"{name} is {value!r}, not a whole number from 0 up")
    if c.clipped_steps > c.step:
        raise ValueError(f"clipped_steps ({c.clipped_steps}) is more than step ({c.step})")
    if not (number(c.elapsed_seconds) and math.isfinite(c.elapsed_seconds) and c.elapsed_seconds >= 0):
        raise ValueError(f"elapsed_seconds is {c.elapsed_seconds!r}, not a number of seconds")
    if c.best_val is not None and not (number(c.best_val) and math.isfinite(c.best_val)):
        raise ValueError(f"best_val is {c.best_val!r}, not a finite number")
    if c.best_step is not None and not (isinstance(c.best_step, int) and not isinstance(c.best_step, bool)
                                        and 0 <= c.best_step <= c.step):
        raise ValueError(f"best_step is {c.best_step!r}, not a step from 0 to {c.step}")
    if c.best_weights not in (None, "current", "averaged"):
        raise ValueError(f"best_weights is {c.best_weights!r}, not 'current' or 'averaged'")
    if not (isinstance(c.history, list) and all(
            isinstance(e, list) and len(e) == 2 and isinstance(e[0], int) and number(e[1]) for e in c.history)):
        raise ValueError("history is not a list of [step, held-out loss] pairs")
    return counters


def _check_optimizer_state(state: dict[int, dict], optimizer: torch.optim.Optimizer) -> None:
    """Every saved moment must have its parameter's shape (a wrong one fails only at the next step)."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for index, values in state.items():
        if not 0 <= index < len(params):
            raise ValueError(f"optimizer state for parameter {index}, but the model has {len(params)} parameters")
        for key, tensor in values.items():
            if key == "step":
                if tensor.numel() != 1:
                    raise ValueError(f"optimizer.{index}.step has {tensor.numel()} values, not 1")
            elif tensor.shape != params[index].shape or not tensor.is_floating_point():
                raise ValueError(f"optimizer.{index}.{key} is {tensor.dtype} {tuple(tensor.shape)}; its parameter "
                                 f"is {params[index].dtype} {tuple(params[index].shape)}")


def checkpoint_folder(run_dir: Path | str) -> Path:
    """The folder a resume reads. atomic_folder moves the old checkpoint aside before renaming
    the new one into place; a kill between those two renames leaves only `.checkpoint.old`."""
    folder = Path(run_dir) / "checkpoint"
    aside = folder.with_name(f".{folder.name}.old")
    if not folder.is_dir() and aside.is_dir():
        return aside
    if not folder.is_dir():
        raise CheckpointError(f"{run_dir} has no checkpoint/ folder: nothing to resume "
                              "(start the run with --config instead)")
    return folder


def read_metrics(path: Path) -> list[dict]:
    """metrics.jsonl records; the last line, cut short by a killed process, is skipped. A file
    damaged elsewhere (not UTF-8, a line that is not a record) is a CheckpointError: a resume
    rewrites the log from these records, so it must not go ahead and lose the rest."""
    if not path.is_file():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{path} is damaged: byte {exc.start} is not UTF-8 text, so it is not a metrics "
                              "log; repair or remove the file and try again") from None
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            if number == len(lines):
                continue
            record = None
        if not _is_record(record):
            raise CheckpointError(f"{path} is damaged: line {number} is not a metrics record "
                                  '({"kind": ..., "step": ...}); repair or remove that line and try again')
        records.append(record)
    return records


def _is_record(record) -> bool:
    return (isinstance(record, dict) and record.get("kind") in ("step", "eval")
            and isinstance(record.get("step"), int) and not isinstance(record.get("step"), bool)
            and record["step"] >= 0)


def open_metrics(path: Path, keep_until: int | None):
    """A new run starts a new log; a resumed run keeps the records up to its checkpoint
    (the steps after it are trained again and logged again)."""
    kept = [r for r in read_metrics(path) if r["step"] <= keep_until] if keep_until is not None else []
    handle = open(path, "w", encoding="utf-8")
    handle.writelines(json.dumps(record) + "\n" for record in kept)
    handle.flush()
    return handle


def write_loss_curve(run_dir: Path) -> None:
    """loss.html: training loss per step and held-out loss per evaluation (plotly)."""
    try:
        import plotly.graph_objects as go
    except ImportError:  # plotly is a playground dependency; the curve is optional
        return
    records = read_metrics(run_dir / "metrics.jsonl")
    steps = [r for r in records if r["kind"] == "step"]
    evals = [r for r in records if r["kind"] == "eval"]
    figure = go.Figure()
    figure.add_scatter(x=[r["step"] for r in steps], y=[r["loss"] for r in steps], name="train loss (nats/token)")
    figure.add_scatter(x=[r["step"] for r in evals], y=[r["val_loss"] for r in evals], name="held-out nats/char",
                       mode="lines+markers")
    figure.update_layout(xaxis_title="step", yaxis_title="loss", title=str(run_dir.name))
    figure.write_html(run_dir / "loss.html", include_plotlyjs="cdn")
