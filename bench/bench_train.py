"""Training throughput of a 2x512 char LSTM against this machine's fp32 GEMM peak.

    python bench/bench_train.py [--batch 32 64] [--window 128] [--steps 20] [--precision float32 bfloat16]

The fraction of peak counts the model's forward+backward FLOPs (3x forward: the LSTM
matrix products plus the output layer) per second over a large square sgemm measured
in the same run. Prints figures; asserts nothing (target: >= 65% of peak).
"""

import argparse
import time

import torch
import torch.nn.functional as F

from rnnlm.cpu_features import native_bfloat16
from rnnlm.model import RNNLM, ModelConfig, detach_state
from rnnlm.runtime import configure_threads


def affordable_size(size: int, dtype: torch.dtype) -> int:
    """Emulated bfloat16 (no AVX512-BF16 / AMX) multiplies at ~1 GFLOP/s: a 2048-wide product
    would take minutes, a 512-wide one measures the same rate in about a second."""
    return 512 if dtype == torch.bfloat16 and not native_bfloat16() else size


def gemm_peak_flops(size: int = 2048, repeats: int = 10, dtype=torch.float32) -> float:
    size = affordable_size(size, dtype)
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size ** 3 * repeats / (time.perf_counter() - start)


def training_flops_per_token(cfg: ModelConfig) -> float:
    gates = cfg.gate_multiplier * cfg.hidden_size
    forward = sum(2 * gates * ((cfg.embed_dim if i == 0 else cfg.hidden_size) + cfg.hidden_size)
                  for i in range(cfg.num_layers)) + 2 * cfg.hidden_size * cfg.vocab_size
    return 3 * forward  # backward costs about twice the forward


def tokens_per_second(cfg: ModelConfig, batch: int, window: int, steps: int, bfloat16: bool) -> float:
    torch.manual_seed(0)
    net = RNNLM(cfg)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x = torch.randint(0, cfg.vocab_size, (batch, window + 1))
    state = None
    for step in range(steps + 3):
        if step == 3:
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            logits, state = net(x[:, :-1], state)
        loss = F.cross_entropy(logits.float().reshape(-1, cfg.vocab_size), x[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        state = detach_state(state)
    return batch * window * steps / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--window", type=int, nargs="+", default=[128])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--precision", nargs="+", choices=["float32", "bfloat16"], default=["float32"])
    args = parser.parse_args()
    threads = configure_threads()
    peak = gemm_peak_flops()
    peaks = {"float32": peak, "bfloat16": gemm_peak_flops(dtype=torch.bfloat16)}
    cfg = ModelConfig(vocab_size=66, cell=args.cell, embed_dim=128, hidden_size=512, num_layers=2, dropout=0.2)
    print(f"{threads} threads; GEMM peak fp32 {peak / 1e9:.0f} GFLOP/s, bf16 {peaks['bfloat16'] / 1e9:.0f} GFLOP/s")
    for precision in args.precision:
        for batch in args.batch:
            for window in args.window:
                rate = tokens_per_second(cfg, batch, window, args.steps, precision == "bfloat16")
                used = rate * training_flops_per_token(cfg)
                versus = f"{used / peak:.0%} of the fp32 peak (target >= 65%)"
                if precision == "bfloat16":
                    versus += f", {used / peaks['bfloat16']:.0%} of the bf16 peak"
                print(f"2x512 char {args.cell} {precision} B={batch} T={window}: {rate:,.0f} tokens/s = "
                      f"{used / 1e9:.0f} GFLOP/s = {versus}")


if __name__ == "__main__":
    main()
