"""fit(): stateful truncated-BPTT training with clipping, evaluation, checkpoints and resume.

One entry point covers training from scratch, resuming (resume=True on the same run
folder) and fine-tuning (init_from=a LanguageModel). The loop only fires callbacks;
the CLI draws a progress bar from them and the playground drives st.progress from the
same ones. Run-folder layout:

    run_dir/checkpoint/   model folder + trainer state, rewritten atomically
    run_dir/model/        the best model so far (lowest held-out loss), a model folder
    run_dir/metrics.jsonl one line per step and per evaluation
    run_dir/loss.html     plotly loss curves, written at the end

Stopping: max_steps, max_minutes (wall clock, evaluations and callbacks included),
patience, should_stop() or Ctrl-C (checked after each step's callbacks), or a non-finite
loss. Every stop leaves a current checkpoint and a loadable model folder.

Under torchrun every rank trains its own block of streams with DistributedDataParallel;
only rank 0 evaluates and writes, and it tells the others when to stop.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from ..checkpoint import atomic_folder, load_model, remove_stale_staging, write_model_files
from ..corpus import check_trainable
from ..language_model import LanguageModel
from ..model import detach_state
from ..runtime import free_cores
from ..sampling import SamplingSettings, sample_text
from ..scoring import uses_bfloat16
from .batches import StreamBatcher
from .config import TrainConfig
from .loop import stop_reason, train_until_stopped
from .process import Ranks, stop_on_interrupt, torch_threads
from .progress import Callbacks, FitResult, Progress
from .run_facts import hardware, nats_per_char, val_facts
from .run_folder import (
    Counters,
    checkpoint_folder,
    damaged_state,
    load_train_state,
    open_metrics,
    read_metrics,
    save_train_state,
    write_loss_curve,
)
from .run_setup import build_optimizer, schedule, starting_point
from .weight_average import WeightAverage

NO_EVAL_STOPS = ("cancelled", "interrupted", "diverged")  # stop at once: no final evaluation


class _Run:
    """The state of one training run; methods are the loop's steps."""

    def __init__(self, cfg, train_text, val_text, run_dir, init_from, resume, callbacks, should_stop, extra):
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.callbacks, self.should_stop = callbacks or Callbacks(), should_stop or (lambda: False)
        self.interrupted = threading.Event()
        self.ranks = Ranks()
        resume_from = checkpoint_folder(self.run_dir) if resume else None
        self.net, self.tokenizer, self.facts = starting_point(cfg, train_text, init_from, resume_from, self.ranks)
        self.facts.update(extra or {})
        self.batcher = StreamBatcher(self.tokenizer.encode(train_text), cfg.batch_size, cfg.window,
                                     self.ranks.rank, self.ranks.world)
        # Every evaluation scores the same text, so "best" compares like with like.
        self.val_text, self.eval_text = val_text, val_text[:cfg.eval_chars] if cfg.eval_chars else val_text
        self.optimizer = build_optimizer(self.net, cfg)
        self.bfloat16 = uses_bfloat16(cfg.precision)
        self.average = WeightAverage(self.net, cfg.ema_decay) if cfg.ema_decay else None
        self.counters, self.hidden = Counters(), None
        if resume_from is not None:
            self.counters, self.hidden, tensors = load_train_state(resume_from, self.optimizer, self.ranks.rank,
                                                                   self.ranks.world, cfg.batch_size,
                                                                   self.net.initial_state(cfg.batch_size))
            self.batcher.seek(self.counters.batch_position)
            if self.average:
                try:
                    self.average.load_state(tensors)
                except ValueError as exc:
                    raise damaged_state(resume_from, exc) from None
        self.last_checkpoint = self.counters.step if resume_from is not None else None
        self.net.train()
        self.model = torch.nn.parallel.DistributedDataParallel(self.net) if self.ranks.world > 1 else self.net
        self.clock = (time.perf_counter(), self.counters.elapsed_seconds)  # wall clock, added to earlier sessions'
        self.log_file = None
        if self.ranks.leader:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            # Reads (and checks) the log before rewriting it, so a damaged one is refused with the run untouched.
            self.log_file = open_metrics(self.run_dir / "metrics.jsonl", self.counters.step if resume else None)
            remove_stale_staging(self.run_dir)  # left by a process killed while writing a checkpoint
        elif resume:  # a damaged log is refused on every rank, as rank 0 refuses it
            read_metrics(self.run_dir / "metrics.jsonl")

    def tick(self) -> None:
        """Elapsed time is wall-clock, so evaluations, checkpoints and callbacks count against max_minutes."""
        self.counters.elapsed_seconds = self.clock[1] + time.perf_counter() - self.clock[0]

    def agree(self, reason: str | None) -> bool:
        """Rank 0's stop decision and clock on every rank, so neither a time limit nor the
        time-based learning-rate schedule can differ between ranks."""
        if self.ranks.leader:
            self.tick()
        stop, self.counters.elapsed_seconds = self.ranks.broadcast([float(reason is not None),
                                                                  self.counters.elapsed_seconds])
        return bool(stop)

    # --- one optimisation step ------------------------------------------------------
    def train_step(self) -> Progress:
        cfg, counters = self.cfg, self.counters
        lr, _ = schedule(cfg, counters.step, counters.elapsed_seconds)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        started = time.perf_counter()
        late = counters.step < cfg.dropout_from_epoch * self.batcher.windows_per_epoch
        self.net.set_dropout(*((0.0, 0.0) if late else (cfg.dropout, cfg.weight_drop)))
        inputs, targets, restart = self.batcher.next()
        if restart:
            self.hidden = None  # streams wrapped to the start of the text: no context to carry
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bfloat16):
            logits, hidden = self.model(inputs, self.hidden)  # (batch, window, vocab)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        limit = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.net.parameters(), limit))
        if math.isfinite(grad_norm):  # a NaN/inf gradient would poison every weight; the run stops instead
            self.optimizer.step()
            if self.average:
                self.average.update(self.net)
        self.hidden = detach_state(hidden)
        seconds = time.perf_counter() - started
        counters.step += 1
        counters.clipped_steps += int(grad_norm > limit)
        counters.tokens_seen += self.batcher.tokens_per_window * self.ranks.world
        counters.batch_position = self.batcher.position
        self.tick()
        return self.progress(loss.item(), lr, grad_norm, grad_norm > limit,
                             self.batcher.tokens_per_window * self.ranks.world / seconds)

    def progress(self, loss, lr, grad_norm, clipped, tokens_per_second) -> Progress:
        c = self.counters
        _, fraction = schedule(self.cfg, c.step, c.elapsed_seconds)
        eta = c.elapsed_seconds * (1 - fraction) / fraction if fraction > 0 else float("inf")
        return Progress(step=c.step, max_steps=self.cfg.max_steps, loss=loss, lr=lr, grad_norm=grad_norm,
                        clipped=clipped, clip_rate=c.clipped_steps / c.step, tokens_per_second=tokens_per_second,
                        elapsed_seconds=c.elapsed_seconds, eta_seconds=eta, fraction=fraction, best_val=c.best_val)

    # --- rank 0: logging, evaluation, export --------------------------------------------
    def report(self, progress: Progress) -> str | None:
        """Log the step and evaluate when due or before a normal stop; the reason to stop, if any.
        Stop conditions are checked after the callbacks, so a cancel they trigger acts at once."""
        self.log("step", progress)
        self.callbacks.on_step(progress)
        reason = stop_reason(self, progress)
        if reason not in NO_EVAL_STOPS and (reason is not None or self.counters.step % self.cfg.eval_every == 0):
            progress.val_loss, scores = self.evaluate()
            progress.best_val, progress.val_by_weights = self.counters.best_val, scores if self.average else None
            progress.sample = self.sample()
            self.log("eval", progress)
            self.callbacks.on_eval(progress)
            reason = reason or stop_reason(self, progress)  # early stop is decided by this evaluation
        return reason

    def evaluate(self) -> tuple[float, dict[str, float]]:
        """Held-out nats/char on the evaluation text of the current (and averaged) weights;
        exports the better of them when it is the best so far."""
        c = self.counters
        scores = {"current": nats_per_char(self.net, self.tokenizer, self.eval_text)}
        if self.average:
            with self.average.swapped_in(self.net):
                scores["averaged"] = nats_per_char(self.net, self.tokenizer, self.eval_text)
        weights = min(scores, key=lambda k: scores[k] if math.isfinite(scores[k]) else math.inf)
        val = scores[weights]
        c.history.append([c.step, val])
        if math.isfinite(val) and (c.best_val is None or val < c.best_val - 1e-4):
            c.best_val, c.best_step, c.best_weights, c.evals_without_improvement = val, c.step, weights, 0
            self.export(weights)
        else:
            c.evals_without_improvement += 1
        return val, scores

    def sample(self) -> str | None:
        if not self.cfg.sample_tokens:
            return None
        lm = LanguageModel("eval", self.net, self.tokenizer)  # puts the net in eval mode (no dropout)
        text = sample_text(lm, "", SamplingSettings(max_new_tokens=self.cfg.sample_tokens, seed=0))
        self.net.train()
        return text

    def training_facts(self) -> dict:
        c = self.counters
        return {
            "train_config": self.cfg.to_dict(), "facts": self.facts, **val_facts(c.best_val, len(self.eval_text)),
            "best_step": c.best_step, "best_weights": c.best_weights, "steps": c.step, "tokens_seen": c.tokens_seen,
            "minutes": round(c.elapsed_seconds / 60, 2), "hardware": hardware(),
            "matmul_precision": "bfloat16" if self.bfloat16 else "float32", "world_size": self.ranks.world,
            "torch": torch.__version__, "eval_history": c.history,
        }

    def export(self, weights: str = "current") -> None:
        averaged = self.average.swapped_in(self.net) if weights == "averaged" else contextlib.nullcontext()
        with averaged, atomic_folder(self.run_dir / "model") as staging:
            write_model_files(self.net, self.tokenizer, staging, self.training_facts(), self.cfg.storage_dtype)

    def score_best_on_all(self) -> float | None:
        """The best model was chosen on the first eval_chars held-out characters; its recorded
        figure becomes the one on all of them (scored from the exported weights)."""
        best = self.counters.best_val
        if best is None or self.eval_text == self.val_text:
            return best
        folder = self.run_dir / "model"
        lm = load_model(folder)
        val = nats_per_char(lm.net, lm.tokenizer, self.val_text)
        with atomic_folder(folder) as staging:
            write_model_files(lm.net, lm.tokenizer, staging, {**lm.metadata, **val_facts(val, len(self.val_text))},
                              self.cfg.storage_dtype)
        return val

    def log(self, kind: str, progress: Progress) -> None:
        if self.log_file:
            record = {"kind": kind, **{k: v if not isinstance(v, float) or math.isfinite(v) else None
                                       for k, v in progress.__dict__.items() if k != "sample"}}
            self.log_file.write(json.dumps(record) + "\n")
            self.log_file.flush()

    # --- every rank ------------------------------------------------------------------
    def checkpoint(self) -> None:
        """Atomically rewrite run_dir/checkpoint. Under DDP every rank takes part: each sends
        its RNG state and its streams' hidden state, which an exact resume needs."""
        rng = self.ranks.gather(torch.get_rng_state()[None], dim=0)  # (ranks, bytes)
        hidden = None if self.hidden is None else tuple(self.ranks.gather(h, dim=1) for h in self.hidden)
        self.last_checkpoint = self.counters.step
        if not self.ranks.leader:
            return
        folder = self.run_dir / "checkpoint"
        with atomic_folder(folder) as staging:
            write_model_files(self.net, self.tokenizer, staging, self.training_facts())
            save_train_state(staging, self.counters, self.optimizer, hidden, rng,
                             self.average.state_tensors() if self.average else None)
        self.callbacks.on_checkpoint(folder)

    def finish(self) -> float | None:
        """Leave a model folder, a current checkpoint and the loss curve; the best model's figure."""
        if self.ranks.leader and self.counters.best_val is None:  # stopped before any evaluation
            self.evaluate()
        if self.last_checkpoint != self.counters.step:
            self.checkpoint()
        if not self.ranks.leader:
            return None
        best = self.score_best_on_all()
        write_loss_curve(self.run_dir)
        return best

    def close(self) -> None:
        if self.log_file:
            self.log_file.close()
            remove_stale_staging(self.run_dir)  # none of ours is open now; the run folder is left clean
        self.model = self.net  # free the DDP wrapper while its process group exists; freed later, it can hang
        self.ranks.close()


def fit(cfg: TrainConfig, train_text: str, val_text: str, run_dir: Path | str, *,
        init_from: LanguageModel | None = None, resume: bool = False, callbacks: Callbacks | None = None,
        should_stop: Callable[[], bool] | None = None, facts: dict | None = None) -> FitResult:
    """Train until a stop condition; returns where the best model was written."""
    check_trainable(train_text, val_text, cfg.window)  # before anything is built or written
    if init_from is not None:
        cfg = cfg.adopting_architecture(init_from.config, init_from.level)
    # threads = 0 (auto): never more than the cores other processes leave free; spinning OpenMP
    # threads on a busy core cost a run half its speed or more (runtime.free_cores).
    with torch_threads(cfg.threads or max(1, free_cores() // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))):
        run = _Run(cfg, train_text, val_text, run_dir, init_from, resume, callbacks, should_stop, facts)
        try:
            with stop_on_interrupt(run.interrupted):
                stopped_by = train_until_stopped(run)
                best_val = run.finish()
        finally:
            run.close()
    c = run.counters
    return FitResult(Path(run_dir) / "model", best_val, c.step, c.tokens_seen, c.elapsed_seconds / 60, stopped_by,
                     run.facts, run.net)
