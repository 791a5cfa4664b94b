"""Dynamic evaluation (rnnlm.dynamic_eval): its speed, and its gain over a grid of settings.

    python bench/bench_adapt.py [--model shakespeare-char-lstm] [--chars 30000] [--threads N] [--streams 32]
    python bench/bench_adapt.py --grid --model linux-char-gru [--chars 100000] [--offset 0] \\
        [--try rule=rms,lr=3e-4,window=50 --try streams=32,lr=2e-3,precision=bfloat16 ...]

Speed: chars/s of static scoring, of the single-stream reference and of the batched mode
(float32 and bfloat16), the matrix-vector floor of one stream, and beside every figure this
process's GEMM peak on its threads. Every speed is given twice: per second of wall time, and
per second of this process's CPU time. On a core shared with other processes the wall
figures fall with the share of the core this process gets; the CPU-time figures (and the
CPU-time GEMM peak) are what an idle core of the same kind would give. "share" is the
model's adapting FLOPs per char (3x its forward: bench_train.training_flops_per_token) times
chars per CPU second, over the GEMM peak of the precision used.
Target from the issue: >= 5,000 chars/s for a char model on 2 cores.

Grid: static and adapted nats/char of a slice of the model's corpus's VALIDATION split
(never its training text), one row per --try (defaults: AdaptSettings' for keys left out).
Prints figures; asserts nothing. Measured figures: docs/ADAPT.md.
"""

import argparse
import time

import torch
from bench_train import affordable_size, training_flops_per_token

from rnnlm import load, read_manifest, score_text
from rnnlm.batched_adapt import what_runs
from rnnlm.dynamic_eval import AdaptSettings, adapt_text
from rnnlm.runtime import configure_threads

# lr is one stream's step; B streams take lr x sqrt(B) (adapt_settings.shared_lr)
DEFAULT_TRIES = ["streams=1,precision=float32", "streams=16,precision=float32,stream_lr=0",
                 "streams=16,precision=float32", "streams=16", "streams=32"]


def parse_try(spec: str) -> AdaptSettings:
    """'rule=rms,lr=3e-4,window=50' -> AdaptSettings, each value read as its field's type."""
    defaults = AdaptSettings().to_dict()
    values = {}
    for part in filter(None, spec.split(",")):
        key, _, value = part.partition("=")
        if key not in defaults:
            raise SystemExit(f"--try {spec}: unknown setting {key!r}; known: {', '.join(defaults)}")
        values[key] = (int if defaults[key] is None else type(defaults[key]))(value)  # None: the window, a count
    return AdaptSettings(**{**defaults, **values}).validate()


def validation_slice(model: str, chars: int, offset: int) -> tuple[str, str]:
    """(corpus name, chars of its held-out split from offset): the grid never reads training text."""
    from train.prepare import corpus_split  # the trainer's package: only the grid needs it

    entry = next((e for e in read_manifest() if e["name"] == model), None)
    if entry is None:
        raise SystemExit(f"--grid needs a shipped model (its corpus names the validation split); got {model}")
    _, held_out = corpus_split(entry["corpus"])
    return entry["corpus"], held_out[offset:offset + chars]


def timed(function, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def gemm_peak(dtype=torch.float32, size: int = 2048, repeats: int = 4) -> tuple[float, float]:
    """(wall, CPU-time) FLOP/s of a large square matrix product on this process's threads."""
    size = affordable_size(size, dtype)
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    _, wall, cpu = timed(lambda: [a @ b for _ in range(repeats)])
    flops = 2 * size ** 3 * repeats
    return flops / wall, flops / cpu


class Speed:
    """Chars/s (wall and CPU time) of a timed pass, with the GEMM peak measured right after it."""

    def __init__(self, chars: int, wall: float, cpu: float, flops_per_char: float, bfloat16: bool):
        self.wall_rate, self.cpu_rate = chars / wall, chars / max(cpu, 1e-9)
        self.peak32, self.peak16 = gemm_peak(), gemm_peak(torch.bfloat16)
        self.share = self.cpu_rate * flops_per_char / (self.peak16 if bfloat16 else self.peak32)[1]

    def __str__(self) -> str:
        return (f"{self.wall_rate:,.0f} chars/s wall, {self.cpu_rate:,.0f} per CPU s ({self.share:.0%} of peak); "
                f"GEMM peak fp32 {self.peak32[0] / 1e9:.0f} wall / {self.peak32[1] / 1e9:.0f} CPU, "
                f"bf16 {self.peak16[0] / 1e9:.0f} / {self.peak16[1] / 1e9:.0f} GFLOP/s")


def matvec_floor(lm, repeats: int = 50) -> float:
    """CPU seconds per token of the recurrent matrix-vector products alone: per layer, W_hh @ h forwards
    and W_hh.T @ delta backwards, one stream (the input and output products batch over a window)."""
    total = 0.0
    for name, weight in lm.net.rnn.named_parameters():
        if name.startswith("weight_hh"):
            w = weight.detach().contiguous()
            v, u = torch.randn(w.shape[1]), torch.randn(w.shape[0])
            torch.mv(w, v), torch.mv(w.t(), u)
            _, _, cpu = timed(_both_ways, w, v, u, repeats)
            total += cpu / repeats
    return total


def _both_ways(w: torch.Tensor, v: torch.Tensor, u: torch.Tensor, repeats: int) -> None:
    for _ in range(repeats):
        torch.mv(w, v), torch.mv(w.t(), u)


def speed(args) -> None:
    lm = load(args.model)
    text = _sample_text(lm, args.chars)
    chars_per_token = len(text) / max(len(lm.tokenizer.encode(text)), 1)
    flops = training_flops_per_token(lm.net.config) / chars_per_token
    print(f"{lm.name}: {len(text):,} chars of its validation split, {args.threads} thread(s), "
          f"{flops / 1e6:.1f} MFLOP/char adapting (3x forward)")
    static, wall, cpu = timed(score_text, lm, text, precision="float32")
    print(f"  static scoring (score_text, float32): {Speed(len(text), wall, cpu, flops / 3, False)}")
    floor = matvec_floor(lm)
    print(f"  recurrent matrix-vector floor of one stream: {1e3 * floor:.3f} ms/token = "
          f"{chars_per_token / floor:,.0f} chars per CPU s at most")
    for streams in (1, args.streams):
        for precision in ("float32", "bfloat16"):
            s = AdaptSettings(streams=streams, precision=precision).for_level(lm.level)
            adapted, wall, cpu = timed(adapt_text, lm, text, s)
            ran = what_runs(lm.net, len(lm.tokenizer.encode(text)), s)
            print(f"  adapting, {ran['mode']} ({ran['streams']} streams, {s.rule} shared lr {ran['shared_lr']:.3g} "
                  f"window {s.window}, {precision}, own output layers {ran['own_output_layers']}): "
                  f"{adapted.nats_per_char:.4f} vs static {static.nats_per_char:.4f} nats/char; "
                  f"{Speed(len(text), wall, cpu, flops, precision == 'bfloat16')}", flush=True)
    print("  target: >= 5,000 chars/s on 2 cores")


def _sample_text(lm, chars: int) -> str:
    try:
        return validation_slice(lm.name, chars, 0)[1]
    except SystemExit:  # a model folder of one's own: its text does not matter for speed
        return ("The quick brown fox jumps over the lazy dog. " * (chars // 45 + 1))[:chars]


def grid(args) -> None:
    lm = load(args.model)
    corpus, text = validation_slice(args.model, args.chars, args.offset)
    count = len(lm.tokenizer.encode(text))
    flops = training_flops_per_token(lm.net.config) * count / max(len(text), 1)
    static = score_text(lm, text, precision="float32").nats_per_char
    print(f"{lm.name}: {corpus} validation split [{args.offset:,}:{args.offset + len(text):,}], "
          f"{args.threads} thread(s); static {static:.4f} nats/char")
    print(f"{'streams':>7} {'rule':5} {'shared lr':>9} {'window':>6} {'decay':>6} {'clip':>5} {'precision':9} "
          f"{'own lr':>6} {'nats/char':>9} {'vs static':>9}  speed")
    for spec in args.tries or DEFAULT_TRIES:
        s = parse_try(spec).for_level(lm.level)
        adapted, wall, cpu = timed(adapt_text, lm, text, s)
        ran, gain = what_runs(lm.net, count, s), adapted.nats_per_char - static
        own = s.stream_lr if ran["own_output_layers"] else 0.0
        print(f"{ran['streams']:>7} {s.rule:5} {ran['shared_lr']:>9.3g} {s.window:>6} {s.decay:>6g} {s.clip:>5g} "
              f"{ran['precision']:9} {own:>6g} {adapted.nats_per_char:>9.4f} {gain:>+9.4f}  "
              f"{Speed(len(text), wall, cpu, flops, ran['precision'] == 'bfloat16')}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="shakespeare-char-lstm")
    parser.add_argument("--chars", type=int, default=None, help="speed: 30,000; grid: 100,000")
    parser.add_argument("--threads", type=int, default=None, help="default: every available core")
    parser.add_argument("--streams", type=int, default=32, help="speed: the batched mode's streams")
    parser.add_argument("--grid", action="store_true", help="nats/char over a grid of settings")
    parser.add_argument("--offset", type=int, default=0, help="grid: where the slice of the held-out split starts")
    parser.add_argument("--try", dest="tries", action="append", help="grid: one setting, e.g. rule=rms,lr=3e-4")
    args = parser.parse_args()
    args.threads = configure_threads(args.threads)
    if args.grid:
        args.chars = args.chars or 100_000
        grid(args)
    else:
        args.chars = args.chars or 30_000
        speed(args)


if __name__ == "__main__":
    main()
