"""The shipped zoo: load time and size of every model, and the size of pretrained/.

    python bench/bench_zoo.py

Prints figures; asserts nothing (targets: every model loads in at most 1 s, all of
pretrained/ at most 150 MB). Load time is measured after torch is imported (the server
imports it once), as the median of three loads, each from disk with checks (sha256,
safetensors header, tokenizer) and the stepper's NumPy weights built.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnlm import load, read_manifest  # noqa: E402
from rnnlm.runtime import configure_threads  # noqa: E402
from rnnlm.zoo import PRETRAINED_DIR  # noqa: E402


def folder_megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def load_seconds(name: str, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        lm = load(name)
        lm.stepper  # built lazily on first use: part of being ready to sample
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    configure_threads()
    print(f"{'model':24} {'MB':>6} {'load s':>7} {'val nats/char':>14}")
    for entry in read_manifest():
        name = entry["name"]
        print(f"{name:24} {folder_megabytes(PRETRAINED_DIR / name):6.1f} {load_seconds(name):7.3f} "
              f"{entry['val_nats_per_char']:14.4f}")
    print(f"all of pretrained/: {folder_megabytes(PRETRAINED_DIR):.1f} MB (target <= 150)")


if __name__ == "__main__":
    main()
