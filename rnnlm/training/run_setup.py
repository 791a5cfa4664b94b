"""What a training run starts from: its learning-rate schedule, optimizer, tokenizer and
network (new, fine-tuned from a model, or resumed from a checkpoint)."""

from __future__ import annotations

import math

import torch

from ..checkpoint import load_model
from ..model import RNNLM
from ..tokenizers import CharTokenizer, Tokenizer, WordTokenizer
from .config import TrainConfig
from .process import Ranks
from .warm_start import start_from


def schedule(cfg: TrainConfig, step: int, elapsed: float) -> tuple[float, float]:
    """(learning rate, fraction of budget used): linear warmup, then cosine to min_lr."""
    fraction = step / cfg.max_steps
    if cfg.max_minutes:
        fraction = max(fraction, elapsed / (cfg.max_minutes * 60))
    fraction = min(fraction, 1.0)
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps, fraction
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * fraction)), fraction


def build_optimizer(net: RNNLM, cfg: TrainConfig) -> torch.optim.AdamW:
    # Decay matrices only; embeddings, biases and the tied head are left alone.
    decay = [p for n, p in net.named_parameters() if p.dim() == 2 and not n.startswith("embedding")]
    keep = [p for n, p in net.named_parameters() if not (p.dim() == 2 and not n.startswith("embedding"))]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": keep, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.99))


def build_tokenizer(cfg: TrainConfig, train_text: str, ranks: Ranks) -> Tokenizer:
    if cfg.level == "char":
        return CharTokenizer.build(train_text)
    # SentencePiece samples sentences at random from large corpora, so ranks could build
    # different vocabularies: rank 0 builds it and sends the others its model file. It uses the
    # run's thread budget, so a playground job still leaves the server its core.
    proto = WordTokenizer.build(train_text, cfg.vocab_size, threads=torch.get_num_threads(),
                                fit_text=cfg.vocab_fits_text).model_proto if ranks.leader else None
    return WordTokenizer(ranks.share_bytes(proto))


def starting_point(cfg, train_text, init_from, resume_from, ranks) -> tuple[RNNLM, Tokenizer, dict]:
    """(network, tokenizer, facts) of a resumed, fine-tuned or new run."""
    if resume_from is not None:  # the checkpoint also restores the RNG, so no seeding here
        lm = load_model(resume_from)
        return lm.net, lm.tokenizer, dict(lm.metadata.get("facts", {}))
    if init_from is not None:
        net, tokenizer, facts = start_from(init_from, train_text)
    else:
        tokenizer = build_tokenizer(cfg, train_text, ranks)
        torch.manual_seed(cfg.seed)  # the same initial weights on every rank and in every rerun
        net, facts = RNNLM(cfg.model_config(tokenizer.vocab_size)), {}
    torch.manual_seed(cfg.seed + 1 + ranks.rank)  # dropout masks: reproducible, and different on each rank
    return net, tokenizer, facts

