"""Find a shipped model's interpretable cells, check them, and write them into its card and manifest entry.

    python -m train.cells shakespeare-char-lstm c-char-lstm ...   # one or more models
    python -m train.cells --all                                   # every shipped, non-smoke model

The Inspect page's search (the best unit for each feature over every layer and the hidden
and cell states) on one CELL_SLICE_CHARS slice of the model's validation split, checked on a
second, disjoint slice (rnnlm.cell_validation): the card lists only the cells that beat the
chance level on both, with both correlations. The slices are the first two that contain as
many features as any slice does (a quote, a comment, an if block...); the card names the
features absent from each. The test suite re-runs the search and checks the card.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

from rnnlm.cell_validation import CHANCE_PERCENTILE, SHIFTS, covering_slices, strongest_checked
from rnnlm.errors import RnnlmError
from rnnlm.interpret import CellMatch, trace_text
from rnnlm.runtime import configure_threads
from rnnlm.zoo import MANIFEST_FILE, PRETRAINED_DIR, load, read_manifest, update_manifest

from .prepare import corpus_split

CELL_SLICE_CHARS = 5_000
# Cells a model of each corpus should grow (the kind Karpathy et al. 2015 found by hand):
# the card says where the search ranks them and the test suite checks one is near the top.
EXPECTED_FEATURES = {
    "tinyshakespeare": ("position in line", "speaker name line"),
    "shakespeare": ("position in line", "speaker name line"),
    # Code: a comment, or a nesting depth (braces, or parentheses: c-word-lstm's strongest cell)
    "c": ("brace depth", "inside comment", "parenthesis depth"),
    "c-libs": ("brace depth", "inside comment", "parenthesis depth"),
    "linux": ("brace depth", "inside comment", "parenthesis depth"),
}
SECTION = "## Interpretable cells"


@dataclass
class CellReport:
    matches: list[CellMatch]  # the best unit per feature, validated ones first (CellMatch.validated)
    slices: list[tuple[int, int]]  # [start, end) in the validation split: found on the first, checked on the second
    absent: list[list[str]]  # per slice, the features that never change there (not searched or not checked)
    units: int  # units searched per feature

    @property
    def validated(self) -> list[CellMatch]:
        return [m for m in self.matches if m.validated]


def find_cells(name: str, val: str) -> CellReport:
    lm = load(name)
    slices, absent = covering_slices(val, CELL_SLICE_CHARS)
    found, check = (trace_text(lm, val[start:end]) for start, end in slices)
    units = lm.config.num_layers * lm.config.hidden_size * len({"h", "c"} & set(lm.quantities))
    return CellReport(strongest_checked(found, check), slices, absent, units)


def table_row(rank: int, m: CellMatch) -> str:
    return (f"| {rank} | {m.feature} | {m.layer + 1} | {m.unit} | {m.quantity} | {m.correlation:+.2f} | "
            f"{m.check_correlation:+.2f} | {m.chance:.2f} |")


def unconfirmed(m: CellMatch) -> str:
    check = "absent" if m.check_correlation is None else f"{m.check_correlation:+.2f}"
    return f"{m.feature} (layer {m.layer + 1} unit {m.unit} {m.quantity}: {m.correlation:+.2f}, {check}; chance {m.chance:.2f})"


def cells_section(report: CellReport, corpus: str) -> str:
    (a_start, a_end), (b_start, b_end) = report.slices
    lines = [SECTION, "",
             (f"Found by `python -m train.cells` (the Inspect page's cell search) on validation characters "
             f"{a_start:,}-{a_end:,} (slice 1) and checked on characters {b_start:,}-{b_end:,} (slice 2): for each "
             f"feature, the unit that follows it best over all {report.units:,} units (every layer, hidden h and "
             "cell c states). Layers count from 1; r is the unit's correlation with the feature on each slice "
             "(negative: the unit falls as the feature rises). Chance is what that search finds in noise: the "
             f"{CHANCE_PERCENTILE}th percentile, over {SHIFTS} circular shifts of the feature, of the best |r| over "
             "all units (the higher of the two slices'). Only cells whose r beats chance on both slices, with "
             "the same sign, are listed."), ""]
    if report.validated:
        lines += ["| # | feature | layer | unit | state | r, slice 1 | r, slice 2 | chance |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [table_row(rank, m) for rank, m in enumerate(report.validated, 1)]
    else:
        lines += ["No cell beats chance on both slices."]
    rejected = [m for m in report.matches if not m.validated]
    if rejected:
        lines += ["", "Not confirmed (r on slice 1, slice 2): " + "; ".join(unconfirmed(m) for m in rejected) + "."]
    both = [f for f in report.absent[0] if f in report.absent[1]]
    absent = ([f"both slices lack {', '.join(both)}"] if both else []) + [
        f"slice {i} lacks {', '.join(f for f in names if f not in both)}"
        for i, names in enumerate(report.absent, 1) if set(names) - set(both)]
    if absent:
        lines += ["", f"Features that never change in a slice cannot be searched or checked there: {'; '.join(absent)}."]
    ranks = {m.feature: rank for rank, m in enumerate(report.validated, 1)}
    expected = [f"{f} ranks {ranks[f]} of {len(ranks)}" if f in ranks else f"{f} is not confirmed"
                for f in EXPECTED_FEATURES.get(corpus, ())]
    if expected:
        lines += ["", f"Cells expected for this corpus: {'; '.join(expected)}."]
    return "\n".join(lines) + "\n"


def manifest_cells(report: CellReport) -> dict:
    return {"slice_chars": CELL_SLICE_CHARS, "slices": [list(s) for s in report.slices], "absent": report.absent,
            "shifts": SHIFTS, "chance_percentile": CHANCE_PERCENTILE, "strongest": [
                {"feature": m.feature, "layer": m.layer, "quantity": m.quantity, "unit": m.unit,
                 "r": round(m.correlation, 4),
                 "r_check": None if m.check_correlation is None else round(m.check_correlation, 4),
                 "chance": round(m.chance, 4), "validated": m.validated} for m in report.matches]}


def replace_section(card: str, section: str, heading: str = SECTION) -> str:
    """Swap the card's section under heading for a new one (or append it), keeping every other section."""
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(card):
        return pattern.sub(lambda _: section + "\n", card, count=1).rstrip("\n") + "\n"
    return card.rstrip("\n") + "\n\n" + section


def record(name: str, val: str | None = None) -> CellReport:
    """Search and check the cells and write them in; val saves re-reading the corpus when the caller has it."""
    entry = next((m for m in read_manifest() if m["name"] == name), None)
    if entry is None:
        raise RnnlmError(f"{name} is not in {PRETRAINED_DIR / MANIFEST_FILE}; publish it first "
                         "(python -m train.publish)")
    report = find_cells(name, val if val is not None else corpus_split(entry["corpus"])[1])
    entry["cells"] = manifest_cells(report)
    card_path = PRETRAINED_DIR / name / "card.md"
    card_path.write_text(replace_section(card_path.read_text(encoding="utf-8"),
                                         cells_section(report, entry["corpus"])), encoding="utf-8")
    update_manifest(entry)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.cells", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="shipped model names")
    parser.add_argument("--all", action="store_true", help="every shipped model that is not a smoke test")
    args = parser.parse_args(argv)
    names = args.names + [e["name"] for e in read_manifest() if args.all and not e.get("smoke")]
    if not names:
        parser.error("name a model, or use --all")
    configure_threads()
    try:
        for name in dict.fromkeys(names):
            report = record(name)
            top = report.validated[:3]
            print(f"{name}: {len(report.validated)} of {len(report.matches)} cells confirmed; " +
                  "; ".join(f"{m.feature} r={m.correlation:+.2f}/{m.check_correlation:+.2f}" for m in top))
    except RnnlmError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
