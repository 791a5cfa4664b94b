"""The zoo as one markdown table, written to pretrained/README.md: every shipped model's
validation figures side by side, so char and word models of a corpus compare directly.

    python -m train.zoo_table

Word models are scored per character on the same validation text as the char models
(total nats over characters), and also per token (word-level perplexity).
"""

from __future__ import annotations

import sys

from rnnlm.zoo import PRETRAINED_DIR, read_manifest

HEADER = ("| model | val nats/char | xz nats/char | adapted (static) on the first 100k | xz on the first 100k | bits/char | "
          "word perplexity | chars/token | parameters | steps | tokens seen | minutes | weights |")


def _figure(value) -> str:
    return "–" if value is None else f"{value:.4f}"


def _adapted(entry: dict) -> str:
    if entry.get("adapt_nats_per_char") is None:
        return "–"
    return f"{entry['adapt_nats_per_char']:.4f} ({entry['adapt_static_nats_per_char']:.4f})"


def row(entry: dict) -> str:
    perplexity = entry.get("word_perplexity")
    cells = [f"`{entry['name']}`" + (" (smoke)" if entry.get("smoke") else ""),
             f"{entry['val_nats_per_char']:.4f}", _figure(entry.get("xz_nats_per_char")), _adapted(entry),
             _figure(entry.get("xz_adapt_nats_per_char")),
             f"{entry.get('val_bits_per_char', float('nan')):.4f}",
             f"{perplexity:.1f}" if perplexity else "–", str(entry.get("chars_per_token", 1.0)),
             f"{entry['parameters']:,}", f"{entry.get('steps') or 0:,}", f"{entry.get('tokens_seen') or 0:,}",
             str(entry.get("training_minutes", "?")), entry.get("storage_dtype", "float32")]
    return "| " + " | ".join(cells) + " |"


def table(entries: list[dict]) -> str:
    by_corpus: dict[str, list[dict]] = {}
    for entry in entries:
        by_corpus.setdefault(entry["corpus"], []).append(entry)
    lines = ["# Shipped models", "",
             "Validation figures measured by `python -m train.publish` on each corpus's held-out split "
             "(Tiny Shakespeare: last 10%; the others: last 5%), whole split, full context. xz: xz -9e "
             "given the training split first (`python -m train.compression CORPUS`), the compressor to beat; "
             "adapted: `score --adapt` on the split's first 100,000 characters, static on the same in brackets, "
             "and xz on the same characters beside it (`python -m train.refresh_figures`). "
             "Regenerate this file with `python -m train.zoo_table`; each model's card has its sample, "
             "training command and interpretable cells.", ""]
    for corpus, group in sorted(by_corpus.items()):
        lines += [f"## {corpus}", "", HEADER, "|" + "|".join(" --- " for _ in range(HEADER.count("|") - 1)) + "|"]
        lines += [row(e) for e in sorted(group, key=lambda e: (e.get("smoke", False), e["val_nats_per_char"]))]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    text = table(read_manifest())
    (PRETRAINED_DIR / "README.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
