"""The per-token table of a generation as CSV and JSON downloads (pure functions)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from rnnlm import Step

ALTERNATIVES = 5
COLUMNS = ["index", "token", "from_prompt", "prob", "model_prob", "entropy_nats", "surprisal_bits"] + [
    f"{kind}_{rank}" for rank in range(1, ALTERNATIVES + 1) for kind in ("alt", "alt_prob")]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula (OWASP)


def spreadsheet_safe(text: str) -> str:
    """A token a spreadsheet would read as a formula ("=HYPERLINK(...)", "+cmd|...") gets a leading
    apostrophe, which spreadsheets show as text; the JSON download keeps every token raw."""
    return "'" + text if text.startswith(FORMULA_STARTS) and (len(text) > 1 or text in "=@") else text


def token_rows(steps: Sequence[Step]) -> list[dict]:
    rows = []
    for step in steps:
        row = {"index": step.index, "token": spreadsheet_safe(step.text), "from_prompt": step.from_prompt,
               "prob": step.prob, "model_prob": step.model_prob, "entropy_nats": step.entropy,
               "surprisal_bits": step.surprisal_bits}
        for rank, (text, _, probability) in enumerate(step.top[:ALTERNATIVES], start=1):
            row[f"alt_{rank}"], row[f"alt_prob_{rank}"] = spreadsheet_safe(text), probability
        rows.append(row)
    return rows


def to_csv(steps: Sequence[Step]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(token_rows(steps))
    return buffer.getvalue()


def to_json(steps: Sequence[Step], request: dict | None = None) -> str:
    """The settings that produced the text travel with it, so the file is self-describing."""
    tokens = [{"index": step.index, **step.to_json()} for step in steps]
    return json.dumps({"request": request or {}, "tokens": tokens}, ensure_ascii=False, indent=1)
