"""Train a model: python -m train --config train/configs/NAME.toml [name=value ...]

    python -m train --config train/configs/shakespeare-char-lstm.toml
    python -m train --config ... max_minutes=5 --out runs/quick
    python -m train --resume runs/shakespeare-char-lstm          # continue where it stopped
    python -m train --config ... --init-from shakespeare-char-lstm --from my_text.txt
    torchrun --nproc_per_node 2 -m train --config ...              # DistributedDataParallel

The model lands in OUT/model (a model folder: python -m rnnlm sample --model OUT/model).
Ctrl-C stops after the current step with a checkpoint and the best model kept; --resume
continues from there. Mistakes print one line `error: ...` and exit with status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from rnnlm.checkpoint import read_config
from rnnlm.errors import CheckpointError, RnnlmError
from rnnlm.runtime import ThroughputWatch
from rnnlm.training.config import TrainConfig, load_train_config
from rnnlm.training.fit import Callbacks, Progress, fit
from rnnlm.training.run_folder import checkpoint_folder
from rnnlm.zoo import load

from .texts import corpus_texts


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


RUN_FILES = ("model", "checkpoint", ".checkpoint.old", "metrics.jsonl")
STOP_REASONS = {"max_steps": "step budget reached", "max_minutes": "time budget reached",
                "early_stop": "no improvement: early stop", "interrupted": "interrupted by Ctrl-C or SIGTERM",
                "diverged": "the loss diverged", "cancelled": "cancelled"}


class ProgressBar(Callbacks):
    """One self-rewriting line per step on a terminal; in a log file (nohup ... > log), a plain
    line every LOG_SECONDS instead of carriage returns. A full line per evaluation."""

    LOG_SECONDS = 30.0

    def __init__(self, stream=None, width: int = 30):
        self.stream, self.width = stream or sys.stderr, width
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_logged = -math.inf
        self.watch = ThroughputWatch()  # warns with the thread count fit set for this rank

    def on_step(self, p: Progress) -> None:
        warning = self.watch.check(p.step, p.tokens_per_second)
        if warning:
            self.stream.write(f"\nwarning: {warning}\n")
        if not self.terminal and p.elapsed_seconds - self.last_logged < self.LOG_SECONDS:
            return
        self.last_logged = p.elapsed_seconds
        filled = int(self.width * p.fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        line = (f"[{bar}] {p.fraction:4.0%} step {p.step} loss {p.loss:.3f} |g| {p.grad_norm:.2f} "
                f"clipped {p.clip_rate:.0%} {p.tokens_per_second:,.0f} tok/s "
                f"elapsed {_duration(p.elapsed_seconds)} eta {_duration(p.eta_seconds)}")
        self.stream.write(f"\r{line}   " if self.terminal else line + "\n")
        self.stream.flush()

    def on_eval(self, p: Progress) -> None:
        best = "none yet" if p.best_val is None else f"{p.best_val:.4f}"
        weights = "" if not p.val_by_weights else " [" + ", ".join(
            f"{name} {value:.4f}" for name, value in p.val_by_weights.items()) + " weights]"
        self.stream.write(f"\nstep {p.step}: held-out {p.val_loss:.4f} nats/char{weights} (best {best})\n")
        if p.sample:
            self.stream.write("  sample: " + p.sample[:160].replace("\n", "\n          ") + "\n")
        self.stream.flush()


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, like every other mistake
        raise RnnlmError(f"{message} (see python -m train --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m train", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, help="TOML file from train/configs/")
    parser.add_argument("--out", type=Path, help="run folder (default runs/<config name>)")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue an interrupted run")
    parser.add_argument("--init-from", metavar="MODEL", help="fine-tune a shipped model (name) or a model folder")
    parser.add_argument("--from", dest="source", type=Path, metavar="PATH", help="train on this file or folder")
    parser.add_argument("--max-minutes", type=float, metavar="M", help="time budget (same as max_minutes=M)")
    parser.add_argument("--max-steps", type=int, metavar="N", help="step budget (same as max_steps=N)")
    parser.add_argument("overrides", nargs="*", help="name=value settings that replace the config's")
    return parser


def _settings(args) -> tuple[TrainConfig, Path]:
    """The run's settings and folder: a config file plus overrides, or a resumed run's saved settings."""
    overrides = list(args.overrides)
    overrides += [f"{name}={value}" for name, value in (("max_minutes", args.max_minutes),
                                                         ("max_steps", args.max_steps)) if value is not None]
    if args.source is not None:  # recorded as the corpus, so --resume reads the same text
        overrides.append(f"corpus={args.source.resolve()}")
    if args.resume is not None:
        if args.config is not None:
            raise RnnlmError("--resume continues with the run's saved settings; give name=value overrides, "
                             "not --config")
        if args.init_from is not None:
            raise RnnlmError("--resume continues from the run's own weights; drop --init-from")
        saved = read_config(checkpoint_folder(args.resume))["training"].get("train_config")
        if not isinstance(saved, dict):
            raise CheckpointError(f"{args.resume}/checkpoint records no training settings; it cannot be resumed")
        return load_train_config(None, overrides, base=saved), args.resume
    if args.config is None:
        raise RnnlmError("give --config FILE (see train/configs/) or --resume RUN_DIR")
    run_dir = args.out or Path("runs") / args.config.stem
    if run_dir.exists() and not run_dir.is_dir():  # found now, not after the corpus and tokenizer are built
        raise RnnlmError(f"--out {run_dir} is a file; give a folder for the run")
    if any((run_dir / name).exists() for name in RUN_FILES):  # a new run would replace its model and checkpoint
        raise RnnlmError(f"{run_dir} already holds a run: continue it with --resume {run_dir}, or give another "
                         "--out (or delete that folder to start again)")
    return load_train_config(args.config, overrides), run_dir


def _note_unused_architecture(cfg: TrainConfig, base) -> None:
    """--init-from trains the base's own network: say so when the config asked for another one."""
    adopted = cfg.adopting_architecture(base.config, base.level)
    unused = [f"{name}={getattr(cfg, name)}" for name in cfg.ARCHITECTURE if getattr(cfg, name) != getattr(adopted, name)]
    if unused:
        print(f"note: fine-tuning keeps {base.name}'s architecture; the config's {', '.join(unused)} "
              "are not used", file=sys.stderr)


def main(argv=None) -> int:
    leader = int(os.environ.get("RANK", "0")) == 0
    run_dir = None
    try:
        args = build_parser().parse_args(argv)
        cfg, run_dir = _settings(args)
        train, val, facts = corpus_texts(cfg.corpus)
        base = load(args.init_from) if args.init_from else None
        if base is not None and leader:
            _note_unused_architecture(cfg, base)
        result = fit(cfg, train, val, run_dir, init_from=base, resume=args.resume is not None,
                     callbacks=ProgressBar() if leader else None, facts=facts)
    except RnnlmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename} not found", file=sys.stderr)
        return 2
    except OSError as exc:  # unwritable run folder, disk full: the checkpoint so far is kept
        print(f"error: {exc.filename or 'a file'}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C; the first one stops after the current step
        print(f"\ninterrupted; {_resume_hint(run_dir)}", file=sys.stderr)
        return 130
    if leader:
        figure = "none" if result.best_val is None else f"{result.best_val:.4f} nats/char"
        print(f"\nstopped ({STOP_REASONS.get(result.stopped_by, result.stopped_by)}) after {result.steps} steps "
              f"({result.minutes:.1f} min); best held-out {figure}; model: {result.model_dir}")
        if result.stopped_by == "interrupted":
            print(_resume_hint(run_dir))
    return 0


def _resume_hint(run_dir: Path | None) -> str:
    if run_dir is not None and (run_dir / "checkpoint").is_dir():
        return f"continue with: python -m train --resume {run_dir}"
    return "no checkpoint was written yet, so there is nothing to resume"


if __name__ == "__main__":
    sys.exit(main())
