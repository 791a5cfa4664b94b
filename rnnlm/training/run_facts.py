"""The figures a run records in its model folder: held-out nats/char and the machine it ran on."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from ..model import RNNLM
from ..runtime import available_cores
from ..scoring import token_logprobs
from ..tokenizers import Tokenizer
from ..units import nats_to_bits


def hardware() -> str:
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {available_cores()} cores, no GPU" if not torch.cuda.is_available() else f"{cpu} + CUDA"


def nats_per_char(net: RNNLM, tokenizer: Tokenizer, text: str) -> float:
    # float32: a recorded figure must not depend on the machine that trained the model
    return float(-token_logprobs(net, tokenizer.encode(text), tokenizer.context_id(), precision="float32").sum()
                 / len(text))


def val_facts(val: float | None, chars: int) -> dict:
    return {"val_nats_per_char": val, "val_bits_per_char": None if val is None else nats_to_bits(val),
            "val_chars": chars}

