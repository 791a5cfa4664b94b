"""Everything beyond the weights that an exact resume needs, stored without pickle.

A training checkpoint is a model folder plus trainer_state.safetensors (optimizer
moments, torch RNG, carried hidden state) and trainer_state.json (step, data position,
elapsed time, best validation loss, optimizer hyper-parameters).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .errors import CheckpointError

STATE_TENSORS = "trainer_state.safetensors"
STATE_JSON = "trainer_state.json"


@dataclass
class Counters:
    step: int = 0
    tokens_seen: int = 0
    elapsed_seconds: float = 0.0
    batch_position: int = 0
    best_val: float | None = None
    best_step: int | None = None
    evals_without_improvement: int = 0
    clipped_steps: int = 0
    history: list = field(default_factory=list)  # (step, val nats/char) of every evaluation


def save_train_state(folder: Path, counters: Counters, optimizer: torch.optim.Optimizer,
                     hidden: tuple[torch.Tensor, ...] | None) -> None:
    opt = optimizer.state_dict()
    tensors = {"rng.torch": torch.get_rng_state()}
    for index, param_state in opt["state"].items():
        for key, value in param_state.items():
            tensors[f"optimizer.{index}.{key}"] = torch.as_tensor(value).contiguous()
    for index, tensor in enumerate(hidden or ()):
        tensors[f"hidden.{index}"] = tensor.detach().contiguous()
    save_file(tensors, str(folder / STATE_TENSORS))
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in opt["param_groups"]]
    (folder / STATE_JSON).write_text(json.dumps({"counters": asdict(counters), "param_groups": groups}, indent=1))


def load_train_state(folder: Path, optimizer: torch.optim.Optimizer) -> tuple[Counters, tuple | None]:
    try:
        tensors = load_file(str(folder / STATE_TENSORS))
        meta = json.loads((folder / STATE_JSON).read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{folder} has no readable trainer state ({exc}); it cannot be resumed") from None
    state: dict[int, dict] = {}
    for name, tensor in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = tensor
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    torch.set_rng_state(tensors["rng.torch"])
    hidden = tuple(tensors[f"hidden.{i}"] for i in range(2) if f"hidden.{i}" in tensors) or None
    return Counters(**meta["counters"]), hidden
