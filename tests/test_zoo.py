"""Every shipped model: loads, matches its manifest entry, samples, and reproduces its figures."""

import pytest

from conftest import ROOT, SHARED_DATA
from rnnlm import SamplingSettings, load, sample_text, score_text
from rnnlm.corpus import split_corpus
from rnnlm.zoo import PRETRAINED_DIR, read_manifest

ENTRIES = read_manifest()
TOTAL_SIZE_LIMIT = 150 << 20


def test_manifest_lists_models():
    assert ENTRIES, "pretrained/manifest.json lists no models"
    assert len({e["name"] for e in ENTRIES}) == len(ENTRIES)


def test_pretrained_fits_the_size_budget():
    total = sum(p.stat().st_size for p in PRETRAINED_DIR.rglob("*") if p.is_file())
    assert total <= TOTAL_SIZE_LIMIT


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_entry_matches_its_weights(entry):
    lm = load(entry["name"])
    assert (lm.level, lm.cell) == (entry["level"], entry["cell"])
    assert (lm.config.num_layers, lm.config.hidden_size) == (entry["layers"], entry["hidden_size"])
    assert lm.parameter_count() == entry["parameters"]
    assert (PRETRAINED_DIR / entry["name"] / "card.md").is_file()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_validation_slice_reproduces(entry):
    text = (SHARED_DATA / f"{entry['corpus']}.txt").read_text(encoding="utf-8")
    _, val = split_corpus(text, entry["corpus"])
    result = score_text(load(entry["name"]), val[:entry["val_slice_chars"]])
    assert abs(result.nats_per_char - entry["val_slice_nats_per_char"]) < 0.01


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_card_sample_reproduces_byte_for_byte(entry):
    recorded = entry["sample"]
    settings = SamplingSettings(temperature=recorded["temperature"], top_k=recorded["top_k"], top_p=recorded["top_p"],
                                max_new_tokens=recorded["max_new_tokens"], seed=recorded["seed"])
    text = sample_text(load(entry["name"]), recorded["prompt"], settings)
    assert text == recorded["text"]
    card = (PRETRAINED_DIR / entry["name"] / "card.md").read_text(encoding="utf-8")
    assert recorded["prompt"] + text in card
