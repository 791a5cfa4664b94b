"""Memory and speed of `python -m rnnlm score` on a big file (streaming: issue 19 #9).

    python bench/bench_score_file.py [--mb 200] [--model NAME_OR_FOLDER] [--in-memory-mb 8]

Writes a text of --mb MB (the Tiny Shakespeare text repeated, each copy numbered) to a
temporary folder, runs the command line on it in a subprocess and prints its peak resident
memory (ru_maxrss), its wall time and characters per second. Without --model the model is a
tiny random char LSTM (1 x 8): memory does not depend on the model's speed, and a shipped
model would take hours on 200 MB (~20k chars/s). --in-memory-mb also times the whole-text
path (score_text) on a smaller file, for the bytes-per-character comparison.
Figures depend on the machine's load: the output prints the load average beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_TEXT = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
PEAK = """
import resource, sys, time
start = time.perf_counter()
if sys.argv[1] == "in-memory":
    from rnnlm import load, score_text
    from rnnlm.corpus import clean_text
    from pathlib import Path
    result = score_text(load(sys.argv[2]), clean_text(Path(sys.argv[3]).read_bytes()))
    print(result.nats_per_char, result.chars)
else:
    from rnnlm.__main__ import main
    main(["score", "--model", sys.argv[2], sys.argv[3], "--json"])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, time.perf_counter() - start, file=sys.stderr)
"""


def write_text(path: Path, megabytes: float) -> int:
    seed = SEED_TEXT.read_text(encoding="utf-8") if SEED_TEXT.exists() else "To be, or not to be.\n" * 5000
    target, written, copy = int(megabytes * 1e6), 0, 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            part = f"== copy {copy} ==\n{seed}"
            out.write(part)
            written, copy = written + len(part.encode("utf-8")), copy + 1
    return written


def tiny_model(folder: Path) -> str:
    import torch

    from rnnlm import RNNLM, CharTokenizer, ModelConfig, save_model

    torch.manual_seed(0)
    tokenizer = CharTokenizer.build(SEED_TEXT.read_text(encoding="utf-8") + "=0123456789")
    net = RNNLM(ModelConfig(vocab_size=tokenizer.vocab_size, cell="lstm", embed_dim=8, hidden_size=8, num_layers=1))
    return str(save_model(net, tokenizer, folder / "tiny"))


def measure(mode: str, model: str, path: Path) -> tuple[int, float, str]:
    out = subprocess.run([sys.executable, "-c", PEAK, mode, model, str(path)], capture_output=True, text=True,
                         cwd=ROOT, check=False)
    if out.returncode:
        sys.exit(out.stderr)
    peak, seconds = out.stderr.splitlines()[-1].split()
    return int(peak), float(seconds), out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=200.0, help="size of the streamed file, in MB (10^6 bytes)")
    parser.add_argument("--model", help="model name or folder (default: a tiny random char LSTM)")
    parser.add_argument("--in-memory-mb", type=float, default=0.0, help="also time score_text on a file this big")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rnnlm-bench-score-") as tmp:
        folder = Path(tmp)
        model = args.model or tiny_model(folder)
        print(f"model {model if args.model else 'tiny random char LSTM 1x8'}; load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs; "
              f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
        runs = [("streaming CLI", "cli", args.mb)] + ([("in-memory score_text", "in-memory", args.in_memory_mb)]
                                                       if args.in_memory_mb else [])
        for label, mode, megabytes in runs:
            path = folder / f"{mode}.txt"
            size = write_text(path, megabytes)
            started = time.perf_counter()
            peak, seconds, output = measure(mode, model, path)
            wall = time.perf_counter() - started
            chars = json.loads(output)["chars"] if mode == "cli" else int(output.split()[1])
            print(f"{label:22} {size / 1e6:8.1f} MB  peak RSS {peak / 2**20:8.0f} MiB  "
                  f"{peak / max(chars, 1):6.1f} bytes/char  {seconds:8.1f} s scoring ({wall:.1f} s with start-up)  "
                  f"{chars / max(seconds, 1e-9):,.0f} chars/s")
            path.unlink()


if __name__ == "__main__":
    main()
