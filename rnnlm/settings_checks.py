"""Checking settings a user gives (sampling, adapting): what counts as a number, and one
validate() for every settings dataclass, so each message says what was wrong and what to give."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np

from .errors import SettingsError


def is_number(value) -> bool:
    """A finite int or float (a bool is not a number here, though Python says it is)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def shown(value) -> str:
    """A value for a message: its repr, cut short (an int of 4,300+ digits has no repr at all)."""
    try:
        text = repr(value)
    except ValueError:  # Python's limit on int-to-text conversion
        return "a number too long to show"
    return text if len(text) <= 60 else text[:60] + "…"


def is_whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class CheckedSettings:
    """A dataclass mixin: problems() lists every problem; validate() raises them as one message."""

    def problems(self) -> list[str]:
        raise NotImplementedError

    def validate(self):
        problems = self.problems()
        if problems:
            raise SettingsError("; ".join(problems))
        return self

    def to_dict(self) -> dict:
        return asdict(self)
