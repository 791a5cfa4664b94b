"""Training throughput by thread count and OpenMP wait policy (prints figures, asserts nothing).

    python bench/bench_threads.py

Trains a 2x512 char GRU (16 x 128 windows, bfloat16 products where the CPU has them) for a few
steps in fresh processes: 1 thread, 2 threads, and 2 threads with OMP_WAIT_POLICY=PASSIVE
(which must be set before OpenMP starts). Run it once on a quiet machine and once with another
busy process on one core: spinning threads on a busy core is what python -m train's automatic
thread count (rnnlm.runtime.free_cores) avoids.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import sys, torch
sys.path.insert(0, "bench")
from bench_train import gemm_peak_flops, tokens_per_second
from rnnlm import ModelConfig
torch.set_num_threads({threads})
cfg = ModelConfig(vocab_size=110, cell="gru", embed_dim=128, hidden_size=512, num_layers=2)
print(round(tokens_per_second(cfg, 16, 128, 20, True)), round(gemm_peak_flops(dtype=torch.bfloat16) / 1e9))
"""


def run(threads: int, policy: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run([sys.executable, "-c", CHILD.format(threads=threads)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return f"{threads} thread(s), wait policy {policy or 'default'}: {int(out[0]):>6,} tokens/s " \
           f"(bfloat16 GEMM peak on those threads {out[1]} GFLOP/s)"


def main() -> None:
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for threads, policy in ((1, None), (2, None), (2, "PASSIVE")):
        print(run(threads, policy))


if __name__ == "__main__":
    main()
