"""python -m train.refresh_figures: figures added to published entries and cards, nothing else changed."""

import json
import random

import rnnlm.zoo as zoo
import train.refresh_figures as refresh_figures
from rnnlm.adapt_settings import AdaptSettings
from train.compression import xz_nats_per_char
from train.publish import QUALITY_HEADING

TRAINING = "## Training\n\n- Command: `python -m train --config x.toml`\n"
NOTES = "## Run notes\n\nTrained for a while; keep this paragraph.\n"
ADAPTED = {"adapt_chars": 1_000, "adapt_static_nats_per_char": 1.5, "adapt_nats_per_char": 1.2}
CHAR_WINDOW, WORD_WINDOW = (AdaptSettings().for_level(level).window for level in ("char", "word"))


def text(chars: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("abcdef \n") for _ in range(chars))


def published(folder, name: str, corpus: str, adapted: bool = True, level: str = "char", heading: str = QUALITY_HEADING,
              **recorded) -> dict:
    entry = {key: value for key, value in zoo.read_manifest()[0].items() if not key.startswith(("adapt", "xz"))}
    entry.update(name=name, corpus=corpus, level=level, xz_nats_per_char=9.9, **(ADAPTED if adapted else {}), **recorded)
    (folder / name).mkdir(parents=True)
    card = f"# {name}\n\n{heading}\n\n- xz -9e: 9.9900 nats/char, an old line.\n\n{TRAINING}\n{NOTES}"
    (folder / name / "card.md").write_text(card, encoding="utf-8")
    zoo.update_manifest(entry, folder)
    return entry


def manifest(folder) -> dict:
    return {e["name"]: e for e in json.loads((folder / zoo.MANIFEST_FILE).read_text())["models"]}


def test_each_model_of_the_corpus_gets_xz_on_both_texts_and_keeps_the_rest_of_its_card(tmp_path, monkeypatch):
    train, val = text(6_000, 1), text(3_000, 2)
    monkeypatch.setattr(refresh_figures, "corpus_texts", lambda corpus: (train, val, None))
    for name, corpus in (("c-char-lstm", "c"), ("c-word-gru", "c"), ("linux-char-lstm", "linux")):
        published(tmp_path, name, corpus, adapt_window=CHAR_WINDOW)
    assert refresh_figures.refresh("c", tmp_path) == ["c-char-lstm", "c-word-gru"]
    expected = {"xz_nats_per_char": round(xz_nats_per_char(train, val), 4),
                "xz_adapt_nats_per_char": round(xz_nats_per_char(train, val[:1_000]), 4)}  # the adapted figure's text
    entries = manifest(tmp_path)
    for name in ("c-char-lstm", "c-word-gru"):
        assert {key: entries[name][key] for key in expected} == expected
        card = (tmp_path / name / "card.md").read_text(encoding="utf-8")
        assert "9.9900" not in card and f"{expected['xz_nats_per_char']:.4f} nats/char on the same split" in card
        assert f"{expected['xz_adapt_nats_per_char']:.4f} on its first 1,000 characters" in card
        assert "1.2000 nats/char, against 1.5000 without adapting" in card  # the adapted figure beside it
        assert card.endswith(f"{TRAINING}\n{NOTES}") and card.count("## ") == 3
    assert entries["linux-char-lstm"]["xz_nats_per_char"] == 9.9  # another corpus: untouched
    assert "xz_adapt_nats_per_char" not in entries["linux-char-lstm"]


def test_only_models_without_a_current_adapted_figure_are_adapted(tmp_path, monkeypatch):
    monkeypatch.setattr(refresh_figures, "corpus_texts", lambda corpus: (text(6_000, 1), text(3_000, 2), None))
    monkeypatch.setattr(refresh_figures, "load_model", lambda folder: folder.name)
    measured = []
    monkeypatch.setattr(refresh_figures, "adapt_figures",
                        lambda lm, val: measured.append(lm) or {**ADAPTED, "adapt_nats_per_char": 0.5})
    published(tmp_path, "c-char-lstm", "c")  # measured before windows were recorded: with 50, still a char's
    published(tmp_path, "c-char-gru", "c", adapted=False)
    published(tmp_path, "c-word-lstm", "c", level="word")  # with 50 too, no longer a word model's window
    published(tmp_path, "c-word-gru", "c", level="word", adapt_window=WORD_WINDOW)
    refresh_figures.refresh("c", tmp_path)
    entries = manifest(tmp_path)
    assert CHAR_WINDOW == 50 != WORD_WINDOW and measured == ["c-char-gru", "c-word-lstm"]
    assert entries["c-char-gru"]["adapt_nats_per_char"] == 0.5 and entries["c-char-lstm"]["adapt_nats_per_char"] == 1.2
    assert "0.5000 nats/char, against 1.5000" in (tmp_path / "c-char-gru" / "card.md").read_text(encoding="utf-8")


def test_a_corpus_without_published_models_reads_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(refresh_figures, "corpus_texts", lambda corpus: (_ for _ in ()).throw(AssertionError(corpus)))
    published(tmp_path, "linux-char-lstm", "linux")
    assert refresh_figures.refresh("c", tmp_path) == []


def test_a_card_without_its_quality_section_is_left_alone_and_named(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(refresh_figures, "corpus_texts", lambda corpus: (text(6_000, 1), text(3_000, 2), None))
    published(tmp_path, "c-char-lstm", "c", heading="## Quality, edited by hand")
    before = (tmp_path / "c-char-lstm" / "card.md").read_text(encoding="utf-8")
    assert refresh_figures.refresh("c", tmp_path) == []
    assert (tmp_path / "c-char-lstm" / "card.md").read_text(encoding="utf-8") == before
    assert "c-char-lstm: card.md has no" in capsys.readouterr().err
