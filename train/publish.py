"""Publish a trained model into pretrained/: copy, measure, write its card and manifest entry.

    python -m train.publish runs/shakespeare-char-lstm/model shakespeare-char-lstm [--fp16]

Measures everything it records: validation nats/char on the whole held-out split and on
a fixed slice (the first SLICE_CHARS characters, which the test suite re-scores), and a
sample that `python -m rnnlm sample` reproduces byte for byte.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

from rnnlm.checkpoint import load_model, save_model
from rnnlm.dynamic_eval import AdaptSettings, adapt_text
from rnnlm.errors import RnnlmError
from rnnlm.runtime import configure_threads
from rnnlm.sampling import SamplingSettings, sample_text
from rnnlm.scoring import score_text
from rnnlm.training.config import TrainConfig, load_train_config
from rnnlm.units import is_plain_name
from rnnlm.zoo import PRETRAINED_DIR, update_manifest

from .cells import record as record_cells
from .compression import xz_figures
from .curve import write_curve
from .heldout import write_excerpts
from .texts import corpus_texts

SLICE_CHARS = 20_000
# Adapting (dynamic evaluation) reads one stream at ~1,000 chars/s on one core (docs/ADAPT.md):
# a card measures it on the split's first ADAPT_CHARS characters, beside static scoring there.
ADAPT_CHARS = 100_000
# The cards' adapted figure: one exact stream, float32 (the best figure; the default batched mode gives
# up 0.02-0.04 nats/char for its speed, docs/ADAPT.md), with the window of the model's level, which
# each card records (python -m train.refresh_figures re-measures a figure whose window changed).
ONE_STREAM = AdaptSettings(streams=1, precision="float32")
SAMPLE_PROMPTS = {"tinyshakespeare": "ROMEO:", "shakespeare": "ROMEO:", "c": "static int", "linux": "static int"}
LICENCES = {
    "tinyshakespeare": "public-domain text (karpathy/char-rnn data/tinyshakespeare)",
    "shakespeare": "public-domain text; packaging CC-BY 2.5 (Open Knowledge Foundation)",
    "linux": "GPL-2.0 (Linux 6.1 kernel/, mm/, lib/)",
    "c": "25 projects' licences: BSD-3, BSD-2, MIT, ISC, Apache-2.0 and others (see ../shared/data/README.md)",
    "c-libs": "BSD-3 / BSD-2 / MIT (zstd, lz4, xxhash, brotli)",
}


def measure(folder: Path, val: str) -> dict:
    lm = load_model(folder)
    started = time.perf_counter()
    whole = score_text(lm, val, precision="float32")  # a card's figure must not depend on the machine
    scoring_seconds = time.perf_counter() - started
    piece = score_text(lm, val[:SLICE_CHARS], precision="float32")
    figures = {
        "val_nats_per_char": round(whole.nats_per_char, 4), "val_bits_per_char": round(whole.bits_per_char, 4),
        "val_chars": whole.chars, "val_slice_chars": SLICE_CHARS,
        "val_slice_nats_per_char": round(piece.nats_per_char, 4), "scoring_seconds": round(scoring_seconds, 1),
    }
    figures.update(adapt_figures(lm, val))
    if lm.level == "word":
        figures["word_perplexity"] = round(math.exp(whole.total_nats / whole.tokens), 2)
        figures["chars_per_token"] = round(whole.chars / whole.tokens, 3)
    return figures


def adapt_figures(lm, val: str) -> dict:
    """Adapting while reading the split's first ADAPT_CHARS characters, beside static scoring there,
    with the window the model's level gets by default (recorded: it differs for char and word)."""
    piece, settings = val[:ADAPT_CHARS], ONE_STREAM.for_level(lm.level)
    return {"adapt_chars": len(piece), "adapt_window": settings.window,
            "adapt_static_nats_per_char": round(score_text(lm, piece, precision="float32").nats_per_char, 4),
            "adapt_nats_per_char": round(adapt_text(lm, piece, settings).nats_per_char, 4)}


def adapt_window(entry: dict) -> int:
    """The window an entry's adapted figure was measured with (50 tokens before it was recorded)."""
    return entry.get("adapt_window", 50)


CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def processes(training: dict) -> int:
    """How many torchrun processes trained the model (a run recorded before this was one)."""
    return training.get("world_size") or 1


def settings_ran(training: dict) -> dict:
    """Every training setting of the run (training: the model's training record). A run recorded
    before a setting existed ran with that setting's default behaviour."""
    return {**asdict(TrainConfig()), **training.get("train_config", {})}


def training_command(name: str, training: dict) -> str:
    """The command that reproduces the run (training: the model's training record): its config
    file plus every setting the run changed from it (e.g. a shorter max_minutes), so the card never
    claims the file alone; under torchrun when the run had several processes (each with its own
    batch of streams)."""
    count = processes(training)
    launcher = f"torchrun --nproc_per_node {count}" if count > 1 else "python"
    command = f"{launcher} -m train --config train/configs/{name}.toml"
    if not (CONFIG_DIR / f"{name}.toml").is_file():
        return command
    planned = asdict(load_train_config(CONFIG_DIR / f"{name}.toml"))
    ran = settings_ran(training)
    overrides = [f"{key}={ran[key]}" for key in planned if planned[key] != ran[key]]
    return " ".join([command, *overrides])


def setup_line(training: dict) -> str:
    """The card's line of training settings: the ones that shaped the model (the weight decay too,
    since a run that sees its data many times depends on it as much as on dropout)."""
    cfg = settings_ran(training)
    per_process = f" in each of {processes(training)} processes" if processes(training) > 1 else ""
    weight_drop = f" ({cfg['weight_drop']} on the recurrent weights)" if cfg["weight_drop"] else ""
    return (f"- Batch {cfg['batch_size']} streams{per_process} x window {cfg['window']}, "
            f"dropout {cfg['dropout']}{weight_drop}, "
            f"AdamW weight decay {cfg['weight_decay']}, "
            f"lr {cfg['lr']} cosine to {cfg['min_lr']}, gradient clip {cfg['grad_clip']}.")


def card_text(name: str, entry: dict, training: dict, sample: str, settings: SamplingSettings, prompt: str) -> str:
    cfg = training.get("train_config", {})
    lines = [
        f"# {name}", "",
        f"{entry['level']}-level {entry['cell'].upper()}, {entry['layers']} x {entry['hidden_size']}, "
        f"{entry['parameters']:,} parameters, trained on `{entry['corpus']}`.", "",
        *(["**Smoke-test model**: trained for seconds so the app and tests have something to load until "
            "the trained zoo lands. Expect poor samples.", ""] if entry.get("smoke") else []),
        "## Data", "",
        f"- Corpus: `{entry['corpus']}.txt` from `../shared/data` ({LICENCES.get(entry['corpus'], 'see data README')}).",
        f"- Split: {'first 90% train / last 10% validation' if entry['corpus'] == 'tinyshakespeare' else 'last 5% held out for validation'}"
        f" ({entry['val_chars']:,} validation characters).", "",
        *quality_lines(entry),
        "", "## Training", "",
        f"- Command: `{training_command(name, training)}`",
        f"- {entry['steps']:,} steps, {entry['tokens_seen']:,} tokens seen, {entry['training_minutes']} minutes "
        f"on {entry['hardware']}.",
        setup_line(training),
        *([f"- Published weights: the moving average of the weights (decay {cfg.get('ema_decay')}) at step "
           f"{training.get('best_step'):,}, which scored better than the current weights."]
          if training.get("best_weights") == "averaged" else []),
        f"- Weights stored as {entry['storage_dtype']}.", "",
        "## Sample", "",
        f"`python -m rnnlm sample --model {name} --prompt {json.dumps(prompt)} --temperature {settings.temperature} "
        f"--max-new-tokens {settings.max_new_tokens} --seed {settings.seed}`", "",
        "```text", prompt + sample, "```", "",
    ]
    return "\n".join(lines)


QUALITY_HEADING = "## Quality (measured by `python -m train.publish`)"


def quality_lines(entry: dict) -> list[str]:
    """The card's Quality section, heading included: every figure from the manifest entry."""
    lines = [
        QUALITY_HEADING, "",
        f"- Validation: **{entry['val_nats_per_char']:.4f} nats/char**, {entry['val_bits_per_char']:.4f} bits/char "
        f"(whole split, full context).",
        f"- First {entry['val_slice_chars']:,} validation characters: {entry['val_slice_nats_per_char']:.4f} nats/char "
        "(the figure the test suite re-scores).",
    ]
    if entry.get("adapt_nats_per_char") is not None:
        lines.append(f"- Adapting while reading (`python -m rnnlm score --adapt --adapt-streams 1`: one exact stream, "
                     f"a step every {adapt_window(entry)} tokens) on the first {entry['adapt_chars']:,} validation "
                     f"characters: {entry['adapt_nats_per_char']:.4f} nats/char, against "
                     f"{entry['adapt_static_nats_per_char']:.4f} without adapting.")
    if entry.get("xz_nats_per_char") is not None:
        lines.append(xz_line(entry))
    if "word_perplexity" in entry:
        lines.append(f"- Word level: perplexity {entry['word_perplexity']} per token, "
                     f"{entry['chars_per_token']} characters per token.")
    return lines


def xz_line(entry: dict) -> str:
    """The card's xz figures: on the whole split, and on the characters the adapted figure read."""
    on_slice = (f" and {entry['xz_adapt_nats_per_char']:.4f} on its first {entry['adapt_chars']:,} characters (the "
                "adapted figure's text)") if entry.get("xz_adapt_nats_per_char") is not None and "adapt_chars" in entry else ""
    return (f"- xz -9e, given the training split first (`python -m train.compression CORPUS`): "
            f"{entry['xz_nats_per_char']:.4f} nats/char on the same split{on_slice}: the general-purpose compressor to beat.")


def check_name(name: str) -> None:
    """A zoo name is one folder inside pretrained/, never a path out of it."""
    if not is_plain_name(name):
        raise RnnlmError(f"model name {name!r}: use letters, digits, '.', '-' or '_' (<corpus>-<char|word>-<lstm|gru>)")


def publish(source: Path, name: str, fp16: bool = False, smoke: bool = False, note: str = "") -> dict:
    check_name(name)
    target = PRETRAINED_DIR / name
    lm = load_model(source)
    training = lm.metadata
    corpus = training.get("facts", {}).get("corpus") or training["train_config"]["corpus"]
    train, val, _ = corpus_texts(corpus)  # before anything is written: an unreadable corpus leaves no half-published model
    save_model(lm.net, lm.tokenizer, target, training, storage_dtype="float16" if fp16 else "float32")
    figures = measure(target, val)
    prompt = SAMPLE_PROMPTS.get(corpus, "")
    settings = SamplingSettings(temperature=0.8, max_new_tokens=300 if lm.level == "char" else 120, seed=1)
    sample = sample_text(load_model(target), prompt, settings)
    entry = {
        "name": name, "corpus": corpus, "level": lm.level, "cell": lm.cell, "layers": lm.config.num_layers,
        "hidden_size": lm.config.hidden_size, "embed_dim": lm.config.embed_dim, "vocab_size": lm.config.vocab_size,
        "parameters": lm.parameter_count(), **figures,
        **xz_figures(train, val, ADAPT_CHARS),  # the compressor to beat: same split, same first characters
        "steps": training.get("steps"), "tokens_seen": training.get("tokens_seen"),
        "training_minutes": training.get("minutes"), "hardware": training.get("hardware"),
        "storage_dtype": "float16" if fp16 else "float32", "smoke": smoke,
        "sample": {"prompt": prompt, **settings.to_dict(), "stop": [], "text": sample},
    }
    card = card_text(name, entry, training, sample, settings, prompt)
    if note:
        card += f"\n## Run notes\n\n{note}\n"
    (target / "card.md").write_text(card, encoding="utf-8")
    write_curve(Path(source).parent, target, training.get("train_config") or {}, entry.get("chars_per_token", 1.0))
    update_manifest(entry)
    if not smoke:  # a smoke model is too untrained to have cells worth reporting
        record_cells(name, val)
        write_excerpts([corpus])  # its held-out text, for servers without the corpora
    return entry


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.publish", description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="a trained model folder (runs/NAME/model)")
    parser.add_argument("name", help="<corpus>-<char|word>-<lstm|gru>")
    parser.add_argument("--fp16", action="store_true", help="store weights as float16")
    parser.add_argument("--smoke", action="store_true", help="label as a smoke-test model")
    parser.add_argument("--note", default="", help="a paragraph for the card's 'Run notes' section")
    args = parser.parse_args(argv)
    configure_threads()
    try:
        entry = publish(args.source, args.name, args.fp16, args.smoke, args.note)
    except RnnlmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: v for k, v in entry.items() if k != "sample"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
