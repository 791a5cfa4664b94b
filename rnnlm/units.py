"""Small rules with one owner each: units of information and plain names.

Losses are natural-log (nats); people also read bits, so every conversion goes through
here. A "plain name" is what the project lets a user give a model or a corpus: it is shown
in markdown, put in URLs and used as one folder or file name, so it can never be a path.
"""

from __future__ import annotations

import math
import re

LN2 = math.log(2.0)
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NOT_IN_PLAIN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def nats_to_bits(nats):
    """Works on floats and NumPy arrays alike."""
    return nats / LN2


def is_plain_name(name: str) -> bool:
    """1-64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit: never a
    path, never hidden, safe in markdown and in a URL."""
    return bool(PLAIN_NAME.fullmatch(name))
