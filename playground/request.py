"""What the user asked for: a model, a prompt and sampling settings, as one comparable value.

The same Request always gives the same text (rnnlm.generate is deterministic given the
seed), so views keep the last result and only sample again when the Request changes.
cli_command() is the `python -m rnnlm sample` line that prints the identical text.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from rnnlm import SamplingSettings


@dataclass(frozen=True)
class Request:
    model: str
    prompt: str
    temperature: float
    top_k: int
    top_p: float
    seed: int
    length: int  # new tokens to sample

    def settings(self) -> SamplingSettings:
        return SamplingSettings(temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
                                max_new_tokens=self.length, seed=self.seed)

    def for_model(self, model: str) -> "Request":
        return Request(model, self.prompt, self.temperature, self.top_k, self.top_p, self.seed, self.length)

    def cli_command(self, model_argument: str | None = None) -> str:
        """model_argument: a folder path for models the CLI cannot find by name."""
        parts = ["python", "-m", "rnnlm", "sample", "--model", model_argument or self.model,
                 "--prompt", self.prompt, "--temperature", repr(float(self.temperature)), "--top-k", str(self.top_k),
                 "--top-p", repr(float(self.top_p)), "--max-new-tokens", str(self.length), "--seed", str(self.seed)]
        return shlex.join(parts)
