"""A run folder's files beyond the model: the trainer state an exact resume needs, the metrics log.

A training checkpoint is a model folder plus trainer_state.safetensors (optimizer
moments, every rank's torch RNG, every rank's carried hidden state) and trainer_state.json
(step, data position, elapsed time, best validation loss, optimizer hyper-parameters),
all stored without pickle. metrics.jsonl has one record per step and per evaluation;
loss.html draws them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
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
                     streams: int | None = None) -> tuple[Counters, tuple | None, dict[str, torch.Tensor]]:
    """Restore the optimizer and this rank's RNG; return the counters, this rank's hidden state
    and every tensor of the state by name (save_train_state's extra tensors among them).

    streams is this rank's batch size. The saved state is used only if it covers exactly
    world x streams streams: after a change of batch or world size the streams no longer
    hold the same text, so they start from a zero state instead.
    """
    try:
        tensors = load_file(str(folder / STATE_TENSORS))
        meta = json.loads((folder / STATE_JSON).read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{folder} has no readable trainer state ({exc}); it cannot be resumed") from None
    try:
        return _restore(tensors, meta, optimizer, rank, world, streams)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:  # a damaged or hand-edited state
        raise CheckpointError(f"{folder}: the trainer state is damaged ({type(exc).__name__}: {exc}); "
                              "resume from an earlier copy of the run or start a new one") from None


def _restore(tensors: dict, meta: dict, optimizer, rank: int, world: int, streams: int | None):
    state: dict[int, dict] = {}
    for name, tensor in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = tensor
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    rng = tensors["rng.torch"]
    rng = rng if rng.dim() == 2 else rng[None]  # one row per rank
    torch.set_rng_state(rng[rank % len(rng)].clone())  # a row view would not do: set_rng_state ignores its offset
    hidden = tuple(tensors[f"hidden.{i}"] for i in range(2) if f"hidden.{i}" in tensors) or None
    if hidden is not None and streams is not None:
        matches = hidden[0].shape[1] == world * streams
        hidden = tuple(h[:, rank * streams:(rank + 1) * streams].contiguous() for h in hidden) if matches else None
    return Counters(**meta["counters"]), hidden, tensors


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
    """metrics.jsonl records; a line cut short by a killed process is skipped."""
    records = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            records.append(json.loads(line))
        except ValueError:
            pass
    return records


def open_metrics(path: Path, keep_until: int | None):
    """A new run starts a new log; a resumed run keeps the records up to its checkpoint
    (the steps after it are trained again and logged again)."""
    kept = [r for r in read_metrics(path) if r.get("step", 0) <= keep_until] if keep_until is not None else []
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
