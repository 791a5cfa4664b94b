"""Add the figures a card gained since it was published, without republishing the model.

    python -m train.refresh_figures [CORPUS ...]        # default: every corpus in the manifest

For each corpus: xz's figures (on the whole split, and on the first characters the adapted
figure reads; they depend only on the corpus, so one measurement serves all its models: about
a minute and a half on one core, as xz -9e reads the training split twice), and the adapted
figure where a model has none or it was measured with another window than its level's default
(one exact stream on the split's first 100,000 characters: a minute or two per model). Each
entry is updated in the manifest and its card's Quality section rewritten from it; the rest of
the card (training, sample, run notes) stays as it is. Then regenerate pretrained/README.md
with `python -m train.zoo_table`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rnnlm.checkpoint import load_model
from rnnlm.runtime import configure_threads
from rnnlm.zoo import PRETRAINED_DIR, read_manifest, update_manifest

from .compression import xz_figures
from .publish import ONE_STREAM, QUALITY_HEADING, adapt_figures, adapt_window, quality_lines
from .texts import corpus_texts


def with_quality(card: str, entry: dict) -> str | None:
    """The card with its Quality section (up to the next heading) made from the entry; None when
    the card has no such section (edited by hand?), so that nothing is written into it blindly."""
    lines = card.split("\n")
    if QUALITY_HEADING not in lines:
        return None
    start = lines.index(QUALITY_HEADING)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join([*lines[:start], *quality_lines(entry), "", *lines[end:]])


def adapted_is_current(entry: dict) -> bool:
    """The entry has an adapted figure, measured with the window its level now gets by default."""
    return (entry.get("adapt_nats_per_char") is not None
            and adapt_window(entry) == ONE_STREAM.for_level(entry["level"]).window)


def refresh(corpus: str, pretrained_dir: Path = PRETRAINED_DIR) -> list[str]:
    """Measure what corpus's published models lack and write it into their entries and cards;
    the names of the models whose cards were rewritten."""
    entries = [e for e in read_manifest(pretrained_dir) if e["corpus"] == corpus and not e.get("smoke")]
    if not entries:
        return []
    train, val, _ = corpus_texts(corpus)
    for entry in entries:
        if not adapted_is_current(entry):
            entry.update(adapt_figures(load_model(Path(pretrained_dir) / entry["name"]), val))
    # xz on the very characters each adapted figure read (one length in practice: one pass of xz)
    xz = {length: xz_figures(train, val, length) for length in {entry["adapt_chars"] for entry in entries}}
    done = []
    for entry in entries:
        folder = Path(pretrained_dir) / entry["name"]
        entry.update(xz[entry["adapt_chars"]])
        update_manifest(entry, pretrained_dir)
        card = with_quality((folder / "card.md").read_text(encoding="utf-8"), entry)
        if card is None:
            print(f"{entry['name']}: card.md has no '{QUALITY_HEADING}' line; its manifest entry was updated, "
                  "the card was not", file=sys.stderr)
            continue
        (folder / "card.md").write_text(card, encoding="utf-8")
        done.append(entry["name"])
    return done


def main(argv=None) -> int:
    configure_threads()
    corpora = (argv if argv is not None else sys.argv[1:]) or sorted({e["corpus"] for e in read_manifest()})
    for corpus in corpora:
        names = refresh(corpus)
        print(f"{corpus}: {', '.join(names) or 'no cards rewritten'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
