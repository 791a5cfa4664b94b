"""A published model's learning curve: its run's held-out evaluations, kept beside its weights.

    curve.json = {"points": [{"step", "chars_seen", "minutes", "val_nats_per_char"}, ...]}

Read from the run's metrics.jsonl (every evaluation the trainer logged), so the Models page
can show how fast each model learned, against characters read and against minutes.
Intermediate evaluations may score a slice of the split (TrainConfig.eval_chars); the card's
figure is the whole split's.
"""

from __future__ import annotations

import json
from pathlib import Path

from rnnlm.training.run_folder import read_metrics

CURVE_FILE = "curve.json"


def curve_points(records: list[dict], tokens_per_step: int, chars_per_token: float) -> list[dict]:
    return [{"step": r["step"], "chars_seen": round(r["step"] * tokens_per_step * chars_per_token),
             "minutes": round(r["elapsed_seconds"] / 60, 2), "val_nats_per_char": round(r["val_loss"], 4)}
            for r in records if r.get("kind") == "eval" and r.get("val_loss") is not None]


def write_curve(run_dir: Path, target: Path, train_config: dict, chars_per_token: float) -> bool:
    """Write target/curve.json from run_dir/metrics.jsonl; False when the run left no evaluations."""
    tokens_per_step = int(train_config.get("batch_size", 0)) * int(train_config.get("window", 0))
    points = curve_points(read_metrics(Path(run_dir) / "metrics.jsonl"), tokens_per_step, chars_per_token)
    if not points:
        return False
    (Path(target) / CURVE_FILE).write_text(json.dumps({"points": points}, indent=1) + "\n", encoding="utf-8")
    return True
