"""The shipped zoo: load time and size of every model, and the size of pretrained/.

    python bench/bench_zoo.py

Prints figures; asserts nothing (targets: every model loads in at most 1 s, all of
pretrained/ at most 150 MB). Load time is measured after torch is imported (the server
imports it once), as the median of three loads, each from disk with checks (sha256,
safetensors header, tokenizer) and the stepper's NumPy weights built.

It also prints what a new server process pays once before its first token: importing
the package, then loading a model and sampling one token, which imports numba and
compiles the step path's cell kernels or loads them from numba's on-disk cache. Both are timed in fresh processes with an empty and
then a filled cache folder (NUMBA_CACHE_DIR), so the project's own cache is untouched.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnnlm import load, read_manifest
from rnnlm.runtime import configure_threads
from rnnlm.zoo import PRETRAINED_DIR


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


FIRST_TOKEN_SCRIPT = """
import json, sys, time
import torch
start = time.perf_counter()
from rnnlm import SamplingSettings, generate, load
imported = time.perf_counter()
lm = load(sys.argv[1])
next(generate(lm, "", SamplingSettings(max_new_tokens=1, seed=0)))
print(json.dumps({"import": imported - start, "first_token": time.perf_counter() - imported}))
"""


def first_token_seconds(name: str, cache_dir: str) -> dict:
    """Package import, and load + first sampled token, in a fresh process (torch imported first)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", FIRST_TOKEN_SCRIPT, name], env=env, cwd=root,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def print_first_token(name: str) -> None:
    with tempfile.TemporaryDirectory() as cache_dir:
        for label in ("empty numba cache (compiles)", "filled numba cache"):
            figures = first_token_seconds(name, cache_dir)
            print(f"new process, {label}: import {figures['import']:.2f} s, "
                  f"load + first token {figures['first_token']:.2f} s")


def main() -> None:
    configure_threads()
    print(f"{'model':24} {'MB':>6} {'load s':>7} {'val nats/char':>14}")
    for entry in read_manifest():
        name = entry["name"]
        print(f"{name:24} {folder_megabytes(PRETRAINED_DIR / name):6.1f} {load_seconds(name):7.3f} "
              f"{entry['val_nats_per_char']:14.4f}")
    print(f"all of pretrained/: {folder_megabytes(PRETRAINED_DIR):.1f} MB (target <= 150)")
    print_first_token(read_manifest()[0]["name"])


if __name__ == "__main__":
    main()
