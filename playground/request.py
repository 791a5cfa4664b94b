"""What the user asked for: a model, a prompt and sampling settings, as one comparable value.

The same Request always gives the same text (rnnlm.generate is deterministic given the
seed), so views keep the last result and only sample again when the Request changes.
cli_command() is the `python -m rnnlm sample` line that prints the identical text.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace

from rnnlm import SamplingSettings
from rnnlm.branching import parse_forced
from rnnlm.clamp import parse_clamps


@dataclass(frozen=True)
class Request:
    model: str
    prompt: str
    temperature: float
    top_k: int
    top_p: float
    seed: int
    length: int  # new tokens to sample
    stop: str = ""  # as typed: \n stands for a new line (see stop_text)
    clamp: str = ""  # units held at a value, as typed: "1:42=0.9, 2:7:c=0" (rnnlm.clamp)
    force: str = ""  # branches: new tokens forced to a choice, "12:45, 30:7" (rnnlm.branching)

    def stop_text(self) -> str:
        """The stop string itself: a text box cannot hold a new line, so "\\n" and "\\t" stand for them."""
        return decode_escapes(self.stop)

    def settings(self) -> SamplingSettings:
        return SamplingSettings(temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
                                max_new_tokens=self.length, seed=self.seed,
                                stop=(self.stop_text(),) if self.stop else (), clamps=parse_clamps(self.clamp),
                                forced=parse_forced(self.force))

    def for_model(self, model: str) -> Request:
        return replace(self, model=model)

    def cli_command(self, model_argument: str | None = None) -> str:
        """model_argument: a folder path for models the CLI cannot find by name."""
        parts = ["python", "-m", "rnnlm", "sample", "--model", model_argument or self.model,
                 "--prompt", self.prompt, "--temperature", repr(float(self.temperature)), "--top-k", str(self.top_k),
                 "--top-p", repr(float(self.top_p)), "--max-new-tokens", str(self.length), "--seed", str(self.seed)]
        parts += [argument for clamp in parse_clamps(self.clamp) for argument in ("--clamp", clamp.spec())]
        parts += [argument for position, token_id in parse_forced(self.force)
                  for argument in ("--force", f"{position + 1}:{token_id}")]
        command = shlex.join(parts)
        if not self.stop:
            return command
        if any(ch in self.stop_text() for ch in "\n\t"):  # bash's $'...' reads \n, \t and \\ as typed here
            return f"{command} --stop $'{self.stop.replace(chr(39), chr(92) + chr(39))}'"
        return f"{command} --stop {shlex.quote(self.stop_text())}"


ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}


def decode_escapes(text: str) -> str:
    """\\n -> new line, \\t -> tab, \\\\ -> backslash; any other backslash stays as typed."""
    return re.sub(r"\\([nt\\])", lambda m: ESCAPES[m.group(1)], text)
