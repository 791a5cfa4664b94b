"""Branching: force the token at chosen positions of a generation and sample the rest.

A forced choice is written POS:TOKEN_ID, POS counting the new tokens from 1 (as the Generate
page numbers them) and TOKEN_ID the model's id for the token (shown in its popup and in the
JSON output). Everything before the first forced position is the unforced text itself: the
same seed draws the same numbers up to there; at a forced position no number is drawn.
"""

from __future__ import annotations

import re

from .errors import SettingsError

SPEC = re.compile(r"^\s*(\d{1,6})\s*:\s*(\d{1,9})\s*$")
MAX_FORCED = 32


def parse_forced(text: str) -> tuple[tuple[int, int], ...]:
    """'12:45, 30:7' -> ((11, 45), (29, 7)): positions from 0, sorted; '' gives none."""
    forced = {}
    for part in re.split(r"[,;]", text):
        if not part.strip():
            continue
        match = SPEC.match(part)
        if not match or int(match[1]) < 1:
            raise SettingsError(f"a forced token is written POSITION:TOKEN_ID with the position from 1 "
                                f"(e.g. 12:45), not {part.strip()[:40]!r}")
        position = int(match[1]) - 1
        if position in forced:
            raise SettingsError(f"new token {position + 1} is forced twice: give each position one token")
        forced[position] = int(match[2])
    if len(forced) > MAX_FORCED:
        raise SettingsError(f"at most {MAX_FORCED} forced tokens, not {len(forced)}")
    return tuple(sorted(forced.items()))


def forced_text(forced: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{position + 1}:{token_id}" for position, token_id in forced)


def check_forced(forced: tuple[tuple[int, int], ...], vocab_size: int, max_new_tokens: int) -> None:
    for position, token_id in forced:
        if token_id >= vocab_size:
            raise SettingsError(f"forced token {position + 1}:{token_id}: this model's token ids are 0-{vocab_size - 1}")
        if position >= max_new_tokens:
            raise SettingsError(f"forced token {position + 1}:{token_id} is beyond the {max_new_tokens} new tokens")
