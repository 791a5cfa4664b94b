"""Train a model: python -m train --config train/configs/NAME.toml [name=value ...]

    python -m train --config train/configs/shakespeare-char-lstm.toml
    python -m train --config ... max_minutes=5 --out runs/quick
    python -m train --resume runs/shakespeare-char-lstm          # continue where it stopped
    python -m train --config ... --init-from shakespeare-char-lstm --from my_text.txt
    torchrun --nproc_per_node 2 -m train --config ...              # DistributedDataParallel

The model lands in OUT/model (a model folder: python -m rnnlm sample --model OUT/model).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rnnlm.corpus import read_corpus, split_corpus
from rnnlm.errors import RnnlmError
from rnnlm.train_config import load_train_config
from rnnlm.trainer import Callbacks, Progress, fit
from rnnlm.zoo import load

from .prepare import CORPORA, corpus_text


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class ProgressBar(Callbacks):
    """One self-rewriting line per step; a full line per evaluation."""

    def __init__(self, stream=sys.stderr, width: int = 30):
        self.stream, self.width = stream, width

    def on_step(self, p: Progress) -> None:
        filled = int(self.width * p.fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {p.fraction:4.0%} step {p.step} loss {p.loss:.3f} |g| {p.grad_norm:.2f} "
                          f"clipped {p.clip_rate:.0%} {p.tokens_per_second:,.0f} tok/s "
                          f"elapsed {_duration(p.elapsed_seconds)} eta {_duration(p.eta_seconds)}   ")
        self.stream.flush()

    def on_eval(self, p: Progress) -> None:
        self.stream.write(f"\nstep {p.step}: held-out {p.val_loss:.4f} nats/char (best {p.best_val:.4f})\n")
        if p.sample:
            self.stream.write("  sample: " + p.sample[:160].replace("\n", "\n          ") + "\n")
        self.stream.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, help="TOML file from train/configs/")
    parser.add_argument("--out", type=Path, help="run folder (default runs/<config name>)")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue an interrupted run")
    parser.add_argument("--init-from", metavar="MODEL", help="fine-tune a shipped model (name) or a model folder")
    parser.add_argument("--from", dest="source", type=Path, metavar="PATH", help="train on this file or folder")
    parser.add_argument("overrides", nargs="*", help="name=value settings that replace the config's")
    return parser


def _texts(corpus: str, source: Path | None) -> tuple[str, str, dict]:
    if source is not None:
        report = read_corpus(source)
        train, val = split_corpus(report.text)
        return train, val, {"corpus": str(source), "files_used": len(report.files_used),
                            "files_skipped": len(report.skipped)}
    if corpus not in CORPORA:
        raise RnnlmError(f"unknown corpus {corpus!r}: use one of {', '.join(CORPORA)} or --from PATH")
    train, val = split_corpus(corpus_text(corpus), corpus)
    return train, val, {"corpus": corpus}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config_path = args.config
        overrides = list(args.overrides)
        if args.resume:
            saved = json.loads((args.resume / "checkpoint" / "config.json").read_text())["training"]["train_config"]
            overrides = [f"{k}={v}" for k, v in saved.items()] + overrides
            config_path = None
        elif config_path is None:
            raise RnnlmError("give --config FILE (see train/configs/) or --resume RUN_DIR")
        cfg = load_train_config(config_path, overrides)
        run_dir = args.resume or args.out or Path("runs") / (config_path.stem if config_path else "run")
        train, val, facts = _texts(cfg.corpus, args.source)
        base = load(args.init_from) if args.init_from else None
        leader = int(os.environ.get("RANK", "0")) == 0
        result = fit(cfg, train, val, run_dir, init_from=base, resume=args.resume is not None,
                     callbacks=ProgressBar() if leader else None, facts=facts)
        if leader:
            print(f"\nstopped by {result.stopped_by} after {result.steps} steps ({result.minutes:.1f} min); "
                  f"best held-out {result.best_val:.4f} nats/char; model: {result.model_dir}")
    except RnnlmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename} not found", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
