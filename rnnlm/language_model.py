"""A loaded model: the network, its tokenizer, and where it came from.

Everything the views and the trainer need from a model goes through this object. It is
shared by every session (the playground caches it), so nothing here mutates the network:
fine-tuning works on a copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch

from .model import RNNLM
from .stepper import QUANTITIES, Stepper
from .tokenizers import Tokenizer


@dataclass(eq=False)
class LanguageModel:
    name: str
    net: RNNLM
    tokenizer: Tokenizer
    metadata: dict = field(default_factory=dict)  # training facts from config.json
    path: Path | None = None

    def __post_init__(self):
        self.net.eval()

    @property
    def config(self):
        return self.net.config

    @property
    def level(self) -> str:
        return self.tokenizer.kind

    @property
    def cell(self) -> str:
        return self.config.cell

    @property
    def quantities(self) -> tuple[str, ...]:
        return QUANTITIES[self.cell]

    @cached_property
    def stepper(self) -> Stepper:
        with torch.no_grad():
            return Stepper(self.net)

    def warm_up(self) -> "LanguageModel":
        """Build the step path and run one step (numba loads its compiled kernels), so the first
        generation is not charged ~0.4 s for them: a server's first tokens/s figure was 10x low."""
        stepper = self.stepper
        stepper.step(self.tokenizer.context_id(), stepper.initial_state())
        return self

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.net.parameters())
