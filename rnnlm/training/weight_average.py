"""An exponential moving average of a network's weights (Polyak averaging), for evaluation and export.

Adam's late updates still jitter the weights around a minimum; their running average sits
closer to it and usually scores better on held-out text. The trainer keeps one, scores both
the current and the averaged weights at each evaluation, and exports whichever is better.

The average starts at zero with a bias correction (as Adam does for its moments), so after
n updates it averages those n weights rather than leaning on the random initialisation.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

PREFIX = "average."


class WeightAverage:
    def __init__(self, net: torch.nn.Module, decay: float):
        self.decay, self.updates = decay, 0
        self.tensors = {name: torch.zeros_like(p) for name, p in net.named_parameters()}

    @torch.no_grad()
    def update(self, net: torch.nn.Module) -> None:
        self.updates += 1
        # Bias-corrected: A_n = A_{n-1} + (1 - d) / (1 - d^n) * (w_n - A_{n-1}); the first update copies.
        weight = (1 - self.decay) / (1 - self.decay ** self.updates)
        for name, p in net.named_parameters():
            self.tensors[name].lerp_(p, weight)

    @contextmanager
    def swapped_in(self, net: torch.nn.Module):
        """The averaged weights in the network for the duration, the current ones back after."""
        current = {name: p.detach().clone() for name, p in net.named_parameters()}
        try:
            with torch.no_grad():
                for name, p in net.named_parameters():
                    p.copy_(self.tensors[name])
            yield net
        finally:
            with torch.no_grad():
                for name, p in net.named_parameters():
                    p.copy_(current[name])

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """For the training checkpoint: the average and how many updates it holds."""
        return {**{PREFIX + name: t.contiguous() for name, t in self.tensors.items()},
                PREFIX + "#updates": torch.tensor(self.updates)}

    def load_state(self, tensors: dict[str, torch.Tensor]) -> bool:
        """Restore from a checkpoint's tensors; False if it holds no average (it then starts afresh).
        A damaged average (a tensor missing or of another shape) is a ValueError, before anything is set."""
        if PREFIX + "#updates" not in tensors:
            return False
        updates = tensors[PREFIX + "#updates"]
        if updates.numel() != 1 or int(updates) < 0:
            raise ValueError(f"{PREFIX}#updates is not a count of updates")
        for name, current in self.tensors.items():
            saved = tensors.get(PREFIX + name)
            if saved is None or saved.shape != current.shape or not saved.is_floating_point():
                found = "missing" if saved is None else f"{saved.dtype} {tuple(saved.shape)}"
                raise ValueError(f"{PREFIX}{name} is {found}; its parameter is {tuple(current.shape)}")
        self.updates = int(updates)
        for name in self.tensors:
            self.tensors[name] = tensors[PREFIX + name].to(self.tensors[name].dtype).clone()
        return True
