"""fit(): stateful truncated-BPTT training with clipping, evaluation, checkpoints and resume.

One entry point covers training from scratch, resuming (resume=True on the same run
folder) and fine-tuning (init_from=a LanguageModel). The loop only fires callbacks;
the CLI draws a progress bar from them and the playground drives st.progress from the
same ones. Run-folder layout:

    run_dir/checkpoint/   model folder + trainer state, rewritten atomically
    run_dir/model/        the best model so far (lowest held-out loss), a model folder
    run_dir/metrics.jsonl one line per step and per evaluation
    run_dir/loss.html     plotly loss curves, written at the end

Under torchrun every rank trains its own block of streams with DistributedDataParallel;
only rank 0 evaluates and writes, and it tells the others when to stop.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from .batches import StreamBatcher
from .checkpoint import atomic_folder, load_model, write_model_files
from .corpus import check_trainable
from .finetune import start_from
from .language_model import LanguageModel
from .model import RNNLM, detach_state
from .runtime import available_cores, configure_threads
from .sampling import SamplingSettings, sample_text
from .scoring import token_logprobs
from .tokenizers import CharTokenizer, WordTokenizer
from .train_config import TrainConfig
from .train_state import Counters, load_train_state, save_train_state


@dataclass
class Progress:
    step: int
    max_steps: int
    loss: float
    lr: float
    grad_norm: float
    clipped: bool
    clip_rate: float  # fraction of all steps so far whose gradient was clipped
    tokens_per_second: float
    elapsed_seconds: float
    eta_seconds: float
    fraction: float  # of the step or time budget, whichever is further along
    val_loss: float | None = None  # nats per character, set on evaluations
    best_val: float | None = None
    sample: str | None = None


class Callbacks:
    """Override any of these; the trainer calls them on rank 0 only."""

    def on_step(self, progress: Progress) -> None: ...

    def on_eval(self, progress: Progress) -> None: ...

    def on_checkpoint(self, path: Path) -> None: ...


@dataclass
class FitResult:
    model_dir: Path
    best_val: float | None
    steps: int
    tokens_seen: int
    minutes: float
    stopped_by: str
    facts: dict = field(default_factory=dict)


def hardware() -> str:
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {available_cores()} cores, no GPU" if not torch.cuda.is_available() else f"{cpu} + CUDA"


class _Distributed:
    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")

    @property
    def leader(self) -> bool:
        return self.rank == 0

    def agree(self, flag: bool) -> bool:
        """Rank 0's decision, seen by every rank (so time-based stops cannot diverge)."""
        if self.world == 1:
            return flag
        tensor = torch.tensor([1 if flag else 0])
        dist.broadcast(tensor, src=0)
        return bool(tensor.item())


def _schedule(cfg: TrainConfig, step: int, elapsed: float) -> tuple[float, float]:
    """(learning rate, fraction of budget used): linear warmup, then cosine to min_lr."""
    fraction = step / cfg.max_steps
    if cfg.max_minutes:
        fraction = max(fraction, elapsed / (cfg.max_minutes * 60))
    fraction = min(fraction, 1.0)
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps, fraction
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * fraction)), fraction


def _optimizer(net: RNNLM, cfg: TrainConfig) -> torch.optim.AdamW:
    # Decay matrices only; embeddings, biases and the tied head are left alone.
    decay = [p for n, p in net.named_parameters() if p.dim() == 2 and not n.startswith("embedding")]
    keep = [p for n, p in net.named_parameters() if not (p.dim() == 2 and not n.startswith("embedding"))]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": keep, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.99))


def _new_model(cfg: TrainConfig, train_text: str):
    tokenizer = (CharTokenizer.build(train_text) if cfg.level == "char"
                 else WordTokenizer.build(train_text, cfg.vocab_size, threads=available_cores()))
    torch.manual_seed(cfg.seed)
    return RNNLM(cfg.model_config(tokenizer.vocab_size)), tokenizer, {}


class _Run:
    """The state of one training run; methods are the loop's steps."""

    def __init__(self, cfg, train_text, val_text, run_dir, init_from, resume, callbacks, should_stop, extra):
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.callbacks, self.should_stop = callbacks or Callbacks(), should_stop or (lambda: False)
        self.dist = _Distributed()
        configure_threads(cfg.threads or max(1, available_cores() // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))))
        check_trainable(train_text, val_text, cfg.window)
        checkpoint = self.run_dir / "checkpoint"
        if resume:
            lm = load_model(checkpoint)
            self.net, self.tokenizer, self.facts = lm.net, lm.tokenizer, lm.metadata.get("facts", {})
            self.net.train()
        elif init_from is not None:
            self.net, self.tokenizer, self.facts = start_from(init_from, train_text)
        else:
            self.net, self.tokenizer, self.facts = _new_model(cfg, train_text)
        self.facts.update(extra or {})
        self.val_ids = self.tokenizer.encode(val_text)
        self.val_chars = len(val_text)
        self.batcher = StreamBatcher(self.tokenizer.encode(train_text), cfg.batch_size, cfg.window,
                                     self.dist.rank, self.dist.world)
        self.optimizer = _optimizer(self.net, cfg)
        self.counters, self.hidden = Counters(), None
        if resume:
            self.counters, self.hidden = load_train_state(checkpoint, self.optimizer)
            self.batcher.position = self.counters.batch_position
        self.model = self.net
        if self.dist.world > 1:
            self.model = torch.nn.parallel.DistributedDataParallel(self.net)
        self.metrics = open(self.run_dir / "metrics.jsonl", "a") if self.dist.leader else None

    # --- one optimisation step ------------------------------------------------------
    def train_step(self) -> Progress:
        cfg, counters = self.cfg, self.counters
        started = time.perf_counter()
        lr, fraction = _schedule(cfg, counters.step, counters.elapsed_seconds)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        inputs, targets, restart = self.batcher.next()
        if restart:
            self.hidden = None  # streams wrapped to the start of the text: no context to carry
        logits, hidden = self.model(inputs, self.hidden)  # (batch, window, vocab)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        limit = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.net.parameters(), limit))
        self.optimizer.step()
        self.hidden = detach_state(hidden)
        clipped = grad_norm > limit
        counters.step += 1
        counters.clipped_steps += int(clipped)
        counters.tokens_seen += self.batcher.tokens_per_window * self.dist.world
        counters.batch_position = self.batcher.position
        seconds = time.perf_counter() - started
        counters.elapsed_seconds += seconds
        _, fraction = _schedule(cfg, counters.step, counters.elapsed_seconds)
        eta = counters.elapsed_seconds * (1 - fraction) / fraction if fraction > 0 else float("inf")
        return Progress(step=counters.step, max_steps=cfg.max_steps, loss=float(loss), lr=lr, grad_norm=grad_norm,
                        clipped=clipped, clip_rate=counters.clipped_steps / counters.step,
                        tokens_per_second=self.batcher.tokens_per_window * self.dist.world / seconds,
                        elapsed_seconds=counters.elapsed_seconds, eta_seconds=eta, fraction=fraction,
                        best_val=counters.best_val)

    # --- evaluation, export, checkpoints ---------------------------------------------
    def evaluate(self, progress: Progress, full: bool) -> Progress:
        started = time.perf_counter()
        cfg, counters = self.cfg, self.counters
        ids, chars = self.val_ids, self.val_chars
        if cfg.eval_chars and not full and cfg.eval_chars < chars:
            ids = self.tokenizer.encode(self.tokenizer.decode(self.val_ids)[:cfg.eval_chars])
            chars = cfg.eval_chars
        self.net.eval()
        val = float(-token_logprobs(self.net, ids, self.tokenizer.context_id()).sum() / chars)
        progress.val_loss = val
        if counters.best_val is None or val < counters.best_val - 1e-4:
            counters.best_val, counters.best_step = val, counters.step
            counters.evals_without_improvement = 0
            self.export(self.run_dir / "model")
        else:
            counters.evals_without_improvement += 1
        counters.history.append([counters.step, val])
        progress.best_val = counters.best_val
        if cfg.sample_tokens:
            lm = LanguageModel("eval", self.net, self.tokenizer)
            progress.sample = sample_text(lm, "", SamplingSettings(max_new_tokens=cfg.sample_tokens, seed=0))
        self.net.train()
        counters.elapsed_seconds += time.perf_counter() - started
        return progress

    def training_facts(self) -> dict:
        c = self.counters
        return {
            "train_config": self.cfg.to_dict(), "facts": self.facts,
            "val_nats_per_char": c.best_val, "val_bits_per_char": c.best_val / math.log(2) if c.best_val else None,
            "best_step": c.best_step, "steps": c.step, "tokens_seen": c.tokens_seen,
            "minutes": round(c.elapsed_seconds / 60, 2), "hardware": hardware(), "world_size": self.dist.world,
            "torch": torch.__version__, "eval_history": c.history,
        }

    def export(self, folder: Path) -> None:
        with atomic_folder(folder) as staging:
            write_model_files(self.net, self.tokenizer, staging, self.training_facts(), self.cfg.storage_dtype)

    def checkpoint(self) -> None:
        folder = self.run_dir / "checkpoint"
        with atomic_folder(folder) as staging:
            write_model_files(self.net, self.tokenizer, staging, self.training_facts())
            save_train_state(staging, self.counters, self.optimizer, self.hidden)
        self.callbacks.on_checkpoint(folder)

    def log(self, kind: str, progress: Progress) -> None:
        if self.metrics:
            record = {"kind": kind, **{k: v for k, v in progress.__dict__.items() if k != "sample"}}
            self.metrics.write(json.dumps(record) + "\n")
            self.metrics.flush()


def _stop_reason(run: _Run, progress: Progress) -> str | None:
    cfg, counters = run.cfg, run.counters
    if run.should_stop():
        return "cancelled"
    if counters.step >= cfg.max_steps:
        return "max_steps"
    if cfg.max_minutes and counters.elapsed_seconds >= cfg.max_minutes * 60:
        return "max_minutes"
    if cfg.patience and counters.evals_without_improvement >= cfg.patience:
        return "early_stop"
    return None


def fit(cfg: TrainConfig, train_text: str, val_text: str, run_dir: Path | str, *,
        init_from: LanguageModel | None = None, resume: bool = False, callbacks: Callbacks | None = None,
        should_stop: Callable[[], bool] | None = None, facts: dict | None = None) -> FitResult:
    """Train until a stop condition; returns where the best model was written."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    run = _Run(cfg, train_text, val_text, run_dir, init_from, resume, callbacks, should_stop, facts)
    leader = run.dist.leader
    np.random.seed(cfg.seed + run.dist.rank)
    stopped_by, progress = None, None
    try:
        while stopped_by is None:
            progress = run.train_step()
            stop_now = _stop_reason(run, progress)
            due_eval = run.counters.step % cfg.eval_every == 0 or (stop_now is not None and stop_now != "cancelled")
            if leader:
                run.log("step", progress)
                run.callbacks.on_step(progress)
                if due_eval:
                    run.evaluate(progress, full=stop_now is not None)
                    run.log("eval", progress)
                    run.callbacks.on_eval(progress)
                    stop_now = stop_now or _stop_reason(run, progress)
                if run.counters.step % cfg.checkpoint_every == 0:
                    run.checkpoint()
            if run.dist.agree(stop_now is not None):
                stopped_by = stop_now or "stopped by rank 0"
    except KeyboardInterrupt:
        stopped_by = "interrupted"
    if leader:
        run.checkpoint()
        if run.counters.best_val is None and progress is not None:  # stopped before any evaluation
            run.evaluate(progress, full=True)
        _write_loss_curve(Path(run_dir))
        if run.metrics:
            run.metrics.close()
    return FitResult(Path(run_dir) / "model", run.counters.best_val, run.counters.step, run.counters.tokens_seen,
                     run.counters.elapsed_seconds / 60, stopped_by, run.facts)


def _write_loss_curve(run_dir: Path) -> None:
    """loss.html: training loss per step and held-out loss per evaluation (plotly)."""
    try:
        import plotly.graph_objects as go
    except ImportError:  # plotly is a playground dependency; the curve is optional
        return
    steps, evals = [], []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        (steps if record["kind"] == "step" else evals).append(record)
    figure = go.Figure()
    figure.add_scatter(x=[r["step"] for r in steps], y=[r["loss"] for r in steps], name="train loss (nats/token)")
    figure.add_scatter(x=[r["step"] for r in evals], y=[r["val_loss"] for r in evals], name="held-out nats/char",
                       mode="lines+markers")
    figure.update_layout(xaxis_title="step", yaxis_title="loss", title=str(run_dir.name))
    figure.write_html(run_dir / "loss.html", include_plotlyjs="cdn")
