"""What this CPU can multiply natively, probed once per process."""

from __future__ import annotations

import functools

import torch


@functools.cache
def native_bfloat16() -> bool:
    """Does this CPU multiply bfloat16 in hardware (AVX512-BF16, AMX)? (A private torch probe:
    absent means no.) Cached: the model asks on every forward under autocast."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(probe and probe())
