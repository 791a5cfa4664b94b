"""How long the Score page takes on a 50 KB C file: the headline score and the every-model comparison.

    python bench/bench_score.py [--chars 50000] [--precision auto] [--all-chars] [--workers N]

The text is the first 50,000 characters of the C corpus's validation split (data/c.txt, the
trainer's split), else pretrained/heldout/c.txt: ASCII, so 50,000 characters are the issue's
50 KB file. The page scores at most its MAX_SCORE_CHARS (20,000) characters of a text (and says
so), so the figures are for those 20,000; --all-chars scores the whole text instead.
"headline" is the page's model for C (c-char-gru), scored alone with every torch thread as the
page scores it. Then each char model alone, one after the other ("one at a time"), and the
page's way: every char model side by side on rnnlm.score_many's workers (one per torch thread,
each with one torch thread; --workers to change). The page reuses the headline's kept score,
so its wait is "side by side, without the headline". Beside them: this machine's float32 and
bfloat16 GEMM peaks on the torch threads used (bench_train.gemm_peak_flops), to read the
figures against the machine's speed. Threads: torch's default unless OMP_NUM_THREADS says otherwise; with one
thread there is one worker, and side by side is one at a time.
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
from rnnlm.score_many import score_many
from rnnlm.scoring import score_text, uses_bfloat16

PAGE_LIMIT = 20_000  # playground/views/score/score.py's MAX_SCORE_CHARS (the bench does not import Streamlit)
HEADLINE = "c-char-gru"


def c_text(chars: int) -> str:
    path = corpus_file("c")
    if path is not None and Path(path).exists():
        _, validation = split_corpus(Path(path).read_text(encoding="utf-8"), "c")
        return validation[:chars]
    return (Path(__file__).resolve().parents[1] / "pretrained" / "heldout" / "c.txt").read_text(encoding="utf-8")[:chars]


def timed(work) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def cpu_timed(work) -> tuple[float, float, object]:
    """(wall s, this process's CPU s, result): on a shared core the CPU time is what the work cost."""
    cpu = time.process_time()
    wall, result = timed(work)
    return wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=50_000)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--all-chars", action="store_true", help="score the whole text, not the page's first 20,000")
    parser.add_argument("--workers", type=int, default=None, help="side-by-side workers (default: torch threads)")
    args = parser.parse_args()
    text = c_text(args.chars)
    scored = text if args.all_chars else text[:PAGE_LIMIT]
    names = [e["name"] for e in rnnlm.read_manifest() if e["level"] == "char" and not e.get("smoke")]
    models = {name: rnnlm.load(name) for name in names}
    workers = args.workers or torch.get_num_threads()
    print(f"torch threads {torch.get_num_threads()}, precision {args.precision} "
          f"(bfloat16 products: {uses_bfloat16(args.precision)}), side-by-side workers {workers}")
    print(f"GEMM peak on {torch.get_num_threads()} torch thread(s): float32 {gemm_peak_flops() / 1e9:.0f} GFLOP/s, "
          f"bfloat16 {gemm_peak_flops(dtype=torch.bfloat16) / 1e9:.0f} GFLOP/s")
    print(f"text: {len(text):,} characters ({len(text.encode('utf-8')) / 1000:.1f} KB) of C, scoring {len(scored):,}")
    score_text(models[HEADLINE], scored[:2_000], precision=args.precision)  # first-call costs out of the figures
    seconds, cpu_seconds, alone = {}, {}, {}
    for name, lm in models.items():
        seconds[name], cpu_seconds[name], result = cpu_timed(lambda lm=lm: score_text(lm, scored, precision=args.precision))
        alone[name] = result.nats_per_char
        print(f"  {name:24s} {seconds[name]:6.2f} s  {len(scored) / seconds[name]:8,.0f} chars/s  "
              f"{result.nats_per_char:.4f} nats/char  (CPU {cpu_seconds[name]:.2f} s)")
    print(f"headline ({HEADLINE}): {seconds[HEADLINE]:.2f} s")
    print(f"comparison ({len(models)} char models), one at a time: {sum(seconds.values()):.2f} s "
          f"(CPU {sum(cpu_seconds.values()):.2f} s)")
    if workers <= 1:
        print(f"side by side needs 2+ workers; the page waits {sum(seconds.values()) - seconds[HEADLINE]:.2f} s "
              "(one at a time, without the headline)")
        return
    together, together_cpu, results = cpu_timed(lambda: score_many(models, scored, workers, precision=args.precision))
    others = {name: lm for name, lm in models.items() if name != HEADLINE}
    page_wait, page_cpu, _ = cpu_timed(lambda: score_many(others, scored, workers, precision=args.precision))
    same = all(results[name].nats_per_char == alone[name] for name in models)
    print(f"comparison ({len(models)} char models), side by side on {workers} workers: {together:.2f} s "
          f"(CPU {together_cpu:.2f} s; every figure as scored alone: {same})")
    print(f"the page waits (side by side, without the headline): {page_wait:.2f} s (CPU {page_cpu:.2f} s)")


if __name__ == "__main__":
    main()
