"""How long the Score page takes on a 50 KB C file: the headline score and the every-model comparison.

    python bench/bench_score.py [--chars 50000] [--precision auto] [--all-chars]

The text is the first 50,000 characters of the C corpus's validation split (data/c.txt, the
trainer's split), else pretrained/heldout/c.txt. The page scores at most its MAX_SCORE_CHARS
(20,000) characters of a text; --all-chars scores the whole text instead. "headline" is the
page's model for C (c-char-gru); "comparison" is every shipped char model on the same text,
the headline one included (the page reuses its kept score, so the page's wait is the
comparison minus the headline). Beside them: this machine's one-thread float32 and bfloat16
GEMM peaks (bench_train.gemm_peak_flops), to read the figures against the machine's speed.
Threads: torch's default unless OMP_NUM_THREADS says otherwise; the output says how many.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import gemm_peak_flops

import rnnlm
from rnnlm.corpus import corpus_file, split_corpus
from rnnlm.scoring import score_text, uses_bfloat16

PAGE_LIMIT = 20_000  # playground/views/score/score.py's MAX_SCORE_CHARS (the bench does not import Streamlit)
HEADLINE = "c-char-gru"


def c_text(chars: int) -> str:
    path = corpus_file("c")
    if path is not None and Path(path).exists():
        _, validation = split_corpus(Path(path).read_text(encoding="utf-8"), "c")
        return validation[:chars]
    return (Path(__file__).resolve().parents[1] / "pretrained" / "heldout" / "c.txt").read_text(encoding="utf-8")[:chars]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=50_000)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--all-chars", action="store_true", help="score the whole text, not the page's first 20,000")
    args = parser.parse_args()
    text = c_text(args.chars)
    scored = text if args.all_chars else text[:PAGE_LIMIT]
    names = [e["name"] for e in rnnlm.read_manifest() if e["level"] == "char" and not e.get("smoke")]
    models = {name: rnnlm.load(name) for name in names}
    print(f"torch threads {torch.get_num_threads()}, precision {args.precision} "
          f"(bfloat16 products: {uses_bfloat16(args.precision)})")
    print(f"one-thread GEMM peak: float32 {gemm_peak_flops() / 1e9:.0f} GFLOP/s, "
          f"bfloat16 {gemm_peak_flops(dtype=torch.bfloat16) / 1e9:.0f} GFLOP/s")
    print(f"text: {len(text):,} characters of C, scoring {len(scored):,}")
    score_text(models[HEADLINE], scored[:2_000], precision=args.precision)  # first-call costs out of the figures
    seconds = {}
    for name, lm in models.items():
        start = time.perf_counter()
        result = score_text(lm, scored, precision=args.precision)
        seconds[name] = time.perf_counter() - start
        print(f"  {name:24s} {seconds[name]:6.2f} s  {len(scored) / seconds[name]:8,.0f} chars/s  "
              f"{result.nats_per_char:.4f} nats/char")
    print(f"headline ({HEADLINE}): {seconds[HEADLINE]:.2f} s")
    print(f"comparison ({len(models)} char models): {sum(seconds.values()):.2f} s")


if __name__ == "__main__":
    main()
