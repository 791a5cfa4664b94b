"""Add the figures a card gained since it was published, without republishing the model.

    python -m train.refresh_figures [CORPUS ...]        # default: every corpus in the manifest

For each corpus: xz's figures (on the whole split, and on the first characters the adapted
figure reads; they depend only on the corpus, so one measurement serves all its models: about
a minute and a half on one core, as xz -9e reads the training split twice), and the adapted
figure for a model published before cards had one (one exact stream on the split's first
100,000 characters: a minute or two per model). Each entry is updated in the manifest and its
card's Quality section rewritten from it; the rest of the card (training, sample, run notes)
stays as it is. Then regenerate pretrained/README.md with `python -m train.zoo_table`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rnnlm.checkpoint import load_model
from rnnlm.runtime import configure_threads
from rnnlm.zoo import PRETRAINED_DIR, read_manifest, update_manifest

from .compression import xz_figures
from .publish import ADAPT_CHARS, QUALITY_HEADING, adapt_figures, quality_lines
from .texts import corpus_texts


def with_quality(card: str, entry: dict) -> str:
    """The card with its Quality section (up to the next heading) made from the entry."""
    lines = card.split("\n")
    if QUALITY_HEADING not in lines:
        return card
    start = lines.index(QUALITY_HEADING)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join([*lines[:start], *quality_lines(entry), "", *lines[end:]])


def refresh(corpus: str, pretrained_dir: Path = PRETRAINED_DIR) -> list[str]:
    """Measure what corpus's published models lack and write it into their entries and cards."""
    entries = [e for e in read_manifest(pretrained_dir) if e["corpus"] == corpus and not e.get("smoke")]
    if not entries:
        return []
    train, val, _ = corpus_texts(corpus)
    figures = xz_figures(train, val, ADAPT_CHARS)
    for entry in entries:
        folder = Path(pretrained_dir) / entry["name"]
        if entry.get("adapt_nats_per_char") is None:
            entry.update(adapt_figures(load_model(folder), val))
        entry.update(figures)
        update_manifest(entry, pretrained_dir)
        card = folder / "card.md"
        card.write_text(with_quality(card.read_text(encoding="utf-8"), entry), encoding="utf-8")
    return [entry["name"] for entry in entries]


def main(argv=None) -> int:
    configure_threads()
    corpora = (argv if argv is not None else sys.argv[1:]) or sorted({e["corpus"] for e in read_manifest()})
    for corpus in corpora:
        names = refresh(corpus)
        print(f"{corpus}: {', '.join(names) or 'no published models'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
