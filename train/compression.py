"""What a general-purpose compressor achieves on a validation split: the bar a model must beat.

xz -9e is given the training text first and then the validation text, so it may copy from
everything the model was trained on; its cost for the validation text is the extra size of
the compressed stream: (size(train + val) - size(train)) bytes, in nats per validation
character (bytes x 8 x ln 2 / characters). Python's lzma with preset 9 | PRESET_EXTREME is
xz -9e (64 MiB dictionary: every corpus's training split fits in it).

    python -m train.compression CORPUS        # xz's nats/char on CORPUS's validation split (and its first 100k)
"""

from __future__ import annotations

import lzma
import sys

from rnnlm.units import LN2

XZ_PRESET = 9 | lzma.PRESET_EXTREME


def compressed_bytes(text: str) -> int:
    return len(lzma.compress(text.encode("utf-8"), format=lzma.FORMAT_XZ, preset=XZ_PRESET))


def xz_nats_per_char(train: str, val: str, train_bytes: int | None = None) -> float:
    """xz's cost of the validation text after it has read the training text, in nats/char.
    train_bytes: compressed_bytes(train), when the caller has it already (it is most of the time)."""
    if not val:
        raise ValueError("the validation text is empty")
    base = compressed_bytes(train) if train_bytes is None else train_bytes
    extra_bytes = compressed_bytes(train + val) - base
    return extra_bytes * 8 * LN2 / len(val)  # bits to nats


def xz_figures(train: str, val: str, first_chars: int) -> dict:
    """xz on the whole split, and on its first first_chars characters (the text a card's adapted
    figure reads, so the two compare on the same characters)."""
    base = compressed_bytes(train)
    return {"xz_nats_per_char": round(xz_nats_per_char(train, val, base), 4),
            "xz_adapt_nats_per_char": round(xz_nats_per_char(train, val[:first_chars], base), 4)}


def main(argv=None) -> int:
    from .prepare import corpus_split
    from .publish import ADAPT_CHARS

    for corpus in argv if argv is not None else sys.argv[1:]:
        train, val = corpus_split(corpus)
        figures = xz_figures(train, val, ADAPT_CHARS)
        print(f"{corpus}: xz -9e given the training split: {figures['xz_nats_per_char']:.4f} nats/char "
              f"on {len(val):,} validation characters, {figures['xz_adapt_nats_per_char']:.4f} on the first "
              f"{min(ADAPT_CHARS, len(val)):,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
