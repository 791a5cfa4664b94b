"""xz's figure on a validation split: the compressor a model is compared with on its card."""

import lzma
import math
import random

import pytest

from train.compression import compressed_bytes, xz_figures, xz_nats_per_char


def random_text(chars: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz \n") for _ in range(chars))


def test_the_figure_is_the_extra_compressed_size_per_validation_character():
    train, val = random_text(20_000, 1), random_text(5_000, 2)
    extra = compressed_bytes(train + val) - compressed_bytes(train)
    assert xz_nats_per_char(train, val) == pytest.approx(extra * 8 * math.log(2) / len(val))
    assert compressed_bytes(train) == len(lzma.compress(train.encode(), preset=9 | lzma.PRESET_EXTREME))


def test_text_seen_in_training_costs_almost_nothing_and_fresh_random_text_costs_its_entropy():
    train = random_text(20_000, 1)
    seen = xz_nats_per_char(train, train[5_000:10_000])  # xz copies it from the training text
    fresh = xz_nats_per_char(train, random_text(5_000, 3))
    assert seen < 0.05 and 0.8 * math.log(28) < fresh < 1.3 * math.log(28)  # 28 equally likely characters


def test_an_empty_validation_text_is_refused():
    with pytest.raises(ValueError, match="empty"):
        xz_nats_per_char("abc", "")


def test_the_figures_cover_the_whole_split_and_its_first_characters():
    train, val = random_text(20_000, 1), train_then_fresh(random_text(20_000, 1))
    figures = xz_figures(train, val, 4_000)
    assert figures == {"xz_nats_per_char": round(xz_nats_per_char(train, val), 4),
                       "xz_adapt_nats_per_char": round(xz_nats_per_char(train, val[:4_000]), 4)}
    assert figures["xz_adapt_nats_per_char"] < figures["xz_nats_per_char"] / 2  # its start was seen in training


def train_then_fresh(train: str) -> str:
    """4,000 characters copied from the training text, then 8,000 fresh ones."""
    return train[1_000:5_000] + random_text(8_000, 9)
