"""What a general-purpose compressor achieves on a validation split: the bar a model must beat.

xz -9e is given the training text first and then the validation text, so it may copy from
everything the model was trained on; its cost for the validation text is the extra size of
the compressed stream: (size(train + val) - size(train)) bytes, in nats per validation
character (bytes x 8 x ln 2 / characters). Python's lzma with preset 9 | PRESET_EXTREME is
xz -9e (64 MiB dictionary: every corpus's training split fits in it).

    python -m train.compression CORPUS        # prints xz's nats/char on CORPUS's validation split
"""

from __future__ import annotations

import lzma
import sys

from rnnlm.units import LN2

XZ_PRESET = 9 | lzma.PRESET_EXTREME


def compressed_bytes(text: str) -> int:
    return len(lzma.compress(text.encode("utf-8"), format=lzma.FORMAT_XZ, preset=XZ_PRESET))


def xz_nats_per_char(train: str, val: str) -> float:
    """xz's cost of the validation text after it has read the training text, in nats/char."""
    if not val:
        raise ValueError("the validation text is empty")
    extra_bytes = compressed_bytes(train + val) - compressed_bytes(train)
    return extra_bytes * 8 * LN2 / len(val)  # bits to nats


def main(argv=None) -> int:
    from .prepare import corpus_split

    for corpus in argv if argv is not None else sys.argv[1:]:
        train, val = corpus_split(corpus)
        print(f"{corpus}: xz -9e given the training split: {xz_nats_per_char(train, val):.4f} nats/char "
              f"on {len(val):,} validation characters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
