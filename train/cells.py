"""Find a shipped model's interpretable cells; write them into its card and manifest entry.

    python -m train.cells shakespeare-char-lstm c-char-lstm ...

The same search the Inspect page runs (rnnlm.interpret.strongest_cells over the hidden
and cell states), on the first CELL_SLICE_CHARS characters of the model's validation
split, so the test suite can re-run it and check the card.
"""

from __future__ import annotations

import argparse
import re
import sys

from rnnlm.errors import RnnlmError
from rnnlm.interpret import CellMatch, strongest_cells, trace_text
from rnnlm.runtime import configure_threads
from rnnlm.zoo import MANIFEST_FILE, PRETRAINED_DIR, load, read_manifest, update_manifest

from .prepare import corpus_split

CELL_SLICE_CHARS = 5_000
# Cells a model of each corpus should grow (the kind Karpathy et al. 2015 found by hand):
# the card says where the search ranks them and the test suite checks one is near the top.
EXPECTED_FEATURES = {
    "tinyshakespeare": ("position in line", "speaker name line"),
    "shakespeare": ("position in line", "speaker name line"),
    "c": ("brace depth", "inside comment"),
    "c-libs": ("brace depth", "inside comment"),
    "linux": ("brace depth", "inside comment"),
}
SECTION = "## Interpretable cells"


def find_cells(name: str, val: str) -> list[CellMatch]:
    return strongest_cells(trace_text(load(name), val[:CELL_SLICE_CHARS]))


def cells_section(matches: list[CellMatch], corpus: str) -> str:
    lines = [SECTION, "",
             f"Found by `python -m train.cells` (the Inspect page's cell search) on the first "
             f"{CELL_SLICE_CHARS:,} validation characters: the best unit for each feature, over both layers "
             "and the hidden (h) and cell (c) states, strongest first. Layers count from 1; r is the "
             "correlation of the unit with the feature (negative: the unit falls as the feature rises).", ""]
    lines += [f"{rank}. {m.feature}: layer {m.layer + 1} unit {m.unit} ({m.quantity}), r = {m.correlation:+.2f}"
              for rank, m in enumerate(matches, 1)]
    ranks = {m.feature: rank for rank, m in enumerate(matches, 1)}
    found = [f"{f} ranks {ranks[f]} of {len(matches)}" for f in EXPECTED_FEATURES.get(corpus, ()) if f in ranks]
    if found:
        lines += ["", f"Cells expected for this corpus: {'; '.join(found)}."]
    return "\n".join(lines) + "\n"


def replace_section(card: str, section: str, heading: str = SECTION) -> str:
    """Swap the card's section under heading for a new one (or append it), keeping every other section."""
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(card):
        return pattern.sub(lambda _: section + "\n", card, count=1).rstrip("\n") + "\n"
    return card.rstrip("\n") + "\n\n" + section


def record(name: str, val: str | None = None) -> list[CellMatch]:
    """Search the cells and write them in; val saves re-reading the corpus when the caller has it."""
    entry = next((m for m in read_manifest() if m["name"] == name), None)
    if entry is None:
        raise RnnlmError(f"{name} is not in {PRETRAINED_DIR / MANIFEST_FILE}; publish it first "
                         "(python -m train.publish)")
    matches = find_cells(name, val if val is not None else corpus_split(entry["corpus"])[1])
    entry["cells"] = {"slice_chars": CELL_SLICE_CHARS, "strongest": [
        {"feature": m.feature, "layer": m.layer, "quantity": m.quantity, "unit": m.unit,
         "r": round(m.correlation, 4)} for m in matches]}
    card_path = PRETRAINED_DIR / name / "card.md"
    card_path.write_text(replace_section(card_path.read_text(encoding="utf-8"),
                                         cells_section(matches, entry["corpus"])), encoding="utf-8")
    update_manifest(entry)
    return matches


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.cells", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="+", help="shipped model names")
    args = parser.parse_args(argv)
    configure_threads()
    try:
        for name in args.names:
            top = record(name)[:3]
            print(f"{name}: " + "; ".join(f"{m.feature} r={m.correlation:+.2f}" for m in top))
    except RnnlmError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
