"""Dynamic evaluation (rnnlm.dynamic_eval): its speed, and its gain over a grid of settings.

    python bench/bench_adapt.py [--model shakespeare-char-lstm] [--chars 10000] [--threads N]
    python bench/bench_adapt.py --grid --model linux-char-gru [--chars 30000] [--offset 0] \\
        [--try rule=rms,lr=3e-4,window=50 --try rule=sgd,lr=1 ...]

Speed: chars/s of adapted scoring (default settings, float32 and bfloat16) beside static
scoring's, the machine's GEMM peak (bench_train.gemm_peak_flops), and the matrix-vector
floor: adapting reads one stream, so each token costs a forward and a backward
matrix-vector product per layer with the recurrent weights, bound by memory bandwidth.
Target from the issue: >= 5,000 chars/s for a char model on 2 cores.

Grid: static and adapted nats/char of a slice of the model's corpus's VALIDATION split
(never its training text), one row per --try (defaults: AdaptSettings' for keys left out).
Prints figures; asserts nothing. Measured figures: docs/ADAPT.md.
"""

import argparse
import time

import torch
from bench_train import gemm_peak_flops

from rnnlm import load, read_manifest, score_text
from rnnlm.dynamic_eval import AdaptSettings, adapt_text
from rnnlm.runtime import configure_threads

DEFAULT_TRIES = ["rule=rms,lr=1e-4", "rule=rms,lr=3e-4", "rule=rms,lr=1e-3", "rule=sgd,lr=0.1", "rule=sgd,lr=0.3",
                 "rule=sgd,lr=1"]


def parse_try(spec: str) -> AdaptSettings:
    """'rule=rms,lr=3e-4,window=50' -> AdaptSettings, each value read as its field's type."""
    defaults = AdaptSettings().to_dict()
    values = {}
    for part in filter(None, spec.split(",")):
        key, _, value = part.partition("=")
        if key not in defaults:
            raise SystemExit(f"--try {spec}: unknown setting {key!r}; known: {', '.join(defaults)}")
        values[key] = type(defaults[key])(value)
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
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def matvec_floor(lm, repeats: int = 50) -> float:
    """Seconds per token of the recurrent matrix-vector products alone: per layer, W_hh @ h forwards
    and W_hh.T @ delta backwards, one stream (the input and output products batch over a window)."""
    total = 0.0
    for name, weight in lm.net.rnn.named_parameters():
        if name.startswith("weight_hh"):
            w = weight.detach().contiguous()
            v, u = torch.randn(w.shape[1]), torch.randn(w.shape[0])
            torch.mv(w, v), torch.mv(w.t(), u)
            start = time.perf_counter()
            for _ in range(repeats):
                torch.mv(w, v)
                torch.mv(w.t(), u)
            total += (time.perf_counter() - start) / repeats
    return total


def speed(args) -> None:
    lm = load(args.model)
    text = _sample_text(lm, args.chars)
    chars_per_token = len(text) / max(len(lm.tokenizer.encode(text)), 1)
    peak32, peak16 = gemm_peak_flops(), gemm_peak_flops(dtype=torch.bfloat16)
    print(f"{args.threads} thread(s); GEMM peak fp32 {peak32 / 1e9:.0f} GFLOP/s, bf16 {peak16 / 1e9:.0f} GFLOP/s")
    static, seconds = timed(score_text, lm, text, precision="float32")
    print(f"{lm.name}: {len(text):,} chars; static scoring (score_text, float32) {len(text) / seconds:,.0f} chars/s")
    floor = matvec_floor(lm)
    print(f"  recurrent matrix-vector floor of one stream: {1e3 * floor:.3f} ms/token = "
          f"{chars_per_token / floor:,.0f} chars/s at most")
    for precision in ("float32", "bfloat16"):
        settings = AdaptSettings(precision=precision)
        adapted, seconds = timed(adapt_text, lm, text, settings)
        print(f"  adapting ({settings.rule} lr {settings.lr:g} window {settings.window}, {precision}): "
              f"{len(text) / seconds:,.0f} chars/s (target >= 5,000 on 2 cores); "
              f"{adapted.nats_per_char:.4f} vs static {static.nats_per_char:.4f} nats/char")


def _sample_text(lm, chars: int) -> str:
    try:
        return validation_slice(lm.name, chars, 0)[1]
    except SystemExit:  # a model folder of one's own: its text does not matter for speed
        return ("The quick brown fox jumps over the lazy dog. " * (chars // 45 + 1))[:chars]


def grid(args) -> None:
    lm = load(args.model)
    corpus, text = validation_slice(args.model, args.chars, args.offset)
    static = score_text(lm, text, precision="float32").nats_per_char
    print(f"{lm.name}: {corpus} validation split [{args.offset:,}:{args.offset + len(text):,}], "
          f"{args.threads} thread(s); static {static:.4f} nats/char")
    print(f"{'rule':5} {'lr':>7} {'window':>6} {'decay':>6} {'clip':>5} {'precision':9} "
          f"{'nats/char':>9} {'vs static':>9} {'chars/s':>8}")
    for spec in args.tries or DEFAULT_TRIES:
        s = parse_try(spec)
        adapted, seconds = timed(adapt_text, lm, text, s)
        print(f"{s.rule:5} {s.lr:>7g} {s.window:>6} {s.decay:>6g} {s.clip:>5g} {s.precision:9} "
              f"{adapted.nats_per_char:>9.4f} {adapted.nats_per_char - static:>+9.4f} {len(text) / seconds:>8,.0f}",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="shakespeare-char-lstm")
    parser.add_argument("--chars", type=int, default=None, help="speed: 10,000; grid: 30,000")
    parser.add_argument("--threads", type=int, default=None, help="default: every available core")
    parser.add_argument("--grid", action="store_true", help="nats/char over a grid of settings")
    parser.add_argument("--offset", type=int, default=0, help="grid: where the slice of the held-out split starts")
    parser.add_argument("--try", dest="tries", action="append", help="grid: one setting, e.g. rule=rms,lr=3e-4")
    args = parser.parse_args()
    args.threads = configure_threads(args.threads)
    if args.grid:
        args.chars = args.chars or 30_000
        grid(args)
    else:
        args.chars = args.chars or 10_000
        speed(args)


if __name__ == "__main__":
    main()
