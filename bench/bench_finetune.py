"""Fine-tuning in the playground's job manager: loss drop in 60 s, and sampling speed meanwhile.

    python bench/bench_finetune.py [--seconds 60] [--chars 200000] [--text PATH ...] [--train-threads 1]

For each text (default: 200 KB of C code and 200 KB of Shakespeare's plays, both from
../shared/data): fine-tunes shakespeare-char-lstm (or, if it is not shipped, the best
char model in pretrained/manifest.json, said so) through rnnlm.service.jobs.JobManager exactly
as the page does, and prints the held-out loss before/after (target: >= 15% lower) and
the time of a 500-token generation ("another session") on an idle server vs while the
fine-tune runs (target: <= 2x), from the base model and, when the fallback is a smaller
model, from an untrained 2x512 LSTM of shakespeare-char-lstm's size. Threads are set as
the playground sets them (playground/resources.py: one BLAS thread for sampling).
Prints figures; asserts nothing.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import torch  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

import rnnlm  # noqa: E402
from rnnlm.runtime import available_cores, configure_threads  # noqa: E402
from rnnlm.sampling import SamplingSettings, sample_text  # noqa: E402
from rnnlm.service.job_spec import JobSpec  # noqa: E402
from rnnlm.service.jobs import JobManager  # noqa: E402
from rnnlm.service.session_store import SessionStore  # noqa: E402
from rnnlm.service.uploads import read_uploads  # noqa: E402

WANTED = "shakespeare-char-lstm"
DATA = ROOT.parent / "shared" / "data"
DEFAULT_TEXTS = [DATA / "c.txt", DATA / "shakespeare.txt"]
GENERATION = SamplingSettings(max_new_tokens=500, seed=1)


def pick_base() -> tuple[rnnlm.LanguageModel, bool]:
    """(the base model, whether it is a fallback)."""
    entries = [e for e in rnnlm.read_manifest() if e["level"] == "char"]
    if any(e["name"] == WANTED for e in entries):
        return rnnlm.load(WANTED), False
    if not entries:
        sys.exit("no char model is shipped in pretrained/; publish one first")
    best = min(entries, key=lambda e: e["val_nats_per_char"])
    print(f"NOTE: {WANTED} is not in pretrained/manifest.json; using the best char model shipped, "
          f"{best['name']} ({best['val_nats_per_char']:.3f} nats/char on its corpus)")
    return rnnlm.load(best["name"]), True


def stand_in(base) -> rnnlm.LanguageModel:
    """Untrained, but samples at the cost of shakespeare-char-lstm (2x512 LSTM, 128-d embedding)."""
    torch.manual_seed(0)
    config = rnnlm.ModelConfig(vocab_size=base.config.vocab_size, embed_dim=128, hidden_size=512, num_layers=2)
    return rnnlm.LanguageModel("2x512 stand-in", rnnlm.RNNLM(config), base.tokenizer)


def generation_seconds(lm, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        sample_text(lm, "\n", GENERATION)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def upload_text(path: Path, chars: int) -> str:
    """A slice from the middle of the file (past any licence header), as an upload."""
    text = path.read_text(encoding="utf-8")
    start = max(0, len(text) // 2 - chars // 2)
    return read_uploads([(path.name, text[start:start + chars].encode("utf-8"))]).text


def threads_now() -> str:
    blas = next((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), "?")
    return f"torch {torch.get_num_threads()}, BLAS {blas}"


def run(base, samplers, text: str, name: str, seconds: float, manager: JobManager) -> None:
    idle = [generation_seconds(lm) for lm in samplers]
    idle_threads = threads_now()
    job = manager.submit(name, JobSpec(text, base=base, minutes=seconds / 60, prompt="\n", seed=1))
    while manager.snapshot(job).phase != "training":
        time.sleep(0.1)
    busy = [generation_seconds(lm) for lm in samplers]
    busy_threads = threads_now()
    snap = manager.wait(job)
    if snap.status != "done":
        print(f"  job {snap.status}: {snap.message}")
        return
    r = snap.result
    print(f"  {len(text):,} characters ({r.held_out_chars:,} held out), {r.steps} steps in {r.minutes * 60:.0f} s, "
          f"{snap.tokens_per_second:,.0f} tokens/s at the end, clipping rate {snap.clip_rate:.0%}")
    print(f"  held-out nats/char: {r.val_before:.4f} before -> {r.val_after:.4f} after: "
          f"{r.relative_drop:.1%} lower (target >= 15%)")
    print(f"  threads: idle {idle_threads}; during the fine-tune {busy_threads}")
    for lm, quiet, loaded in zip(samplers, idle, busy):
        print(f"  500-token generation from {lm.name}: {quiet:.2f} s idle, {loaded:.2f} s during the fine-tune: "
              f"{loaded / quiet:.2f}x (target <= 2x)")
    print(f"  sample after: {r.sample_after[:120]!r}")


def cancel_seconds(base, text: str, manager: JobManager, after: float = 10.0) -> None:
    """Cancel a fine-tune `after` seconds into training: how long until the job has stopped."""
    job = manager.submit(f"cancel-{base.name}", JobSpec(text, base=base, minutes=5))
    while manager.snapshot(job).phase != "training":
        time.sleep(0.1)
    time.sleep(after)
    step, started = manager.snapshot(job).step, time.perf_counter()
    manager.cancel(job)
    snap = manager.wait(job)
    print(f"  cancel {after:.0f} s into fine-tuning {base.name}: {snap.result.steps - step} more step(s); "
          f"status {snap.status} after {time.perf_counter() - started:.2f} s (best model saved, scored and sampled), "
          f"kept model at {snap.result.val_after:.4f} nats/char")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--chars", type=int, default=200_000)
    parser.add_argument("--text", type=Path, action="append")
    parser.add_argument("--train-threads", type=int, default=1)
    args = parser.parse_args()
    configure_threads(blas_threads=1)  # the playground's server setting
    base, fallback = pick_base()
    samplers = [base, stand_in(base)] if fallback else [base]
    print(f"base {base.name}: {base.cell} {base.config.num_layers}x{base.config.hidden_size}, "
          f"{base.parameter_count():,} parameters; {available_cores()} cores, job threads {args.train_threads}")
    with tempfile.TemporaryDirectory() as root:
        manager = JobManager(SessionStore(root), train_threads=args.train_threads)
        for path in args.text or DEFAULT_TEXTS:
            print(f"{path.name}:")
            text = upload_text(path, args.chars)
            run(base, samplers, text, path.stem, args.seconds, manager)
        for lm in samplers:
            cancel_seconds(lm, text, manager)


if __name__ == "__main__":
    main()
