"""Every shipped model: loads, matches its manifest entry, samples, and reproduces its figures."""

import json

import pytest
from conftest import ROOT, SHARED_DATA, TEST_MODELS

from rnnlm import SamplingSettings, load, sample_text, score_text
from rnnlm.corpus import split_corpus
from rnnlm.zoo import PRETRAINED_DIR, read_manifest

ENTRIES = read_manifest()
TOTAL_SIZE_LIMIT = 150 << 20


def test_manifest_lists_models():
    assert ENTRIES, "pretrained/manifest.json lists no models"
    assert len({e["name"] for e in ENTRIES}) == len(ENTRIES)


def test_users_see_no_smoke_test_model_and_tests_see_both():
    shipped = read_manifest(ROOT / "pretrained")
    assert shipped and not any(e.get("smoke") for e in shipped)  # the picker shows only trained models
    smoke = read_manifest(TEST_MODELS)
    assert smoke and all(e.get("smoke") for e in smoke)
    assert {e["name"] for e in ENTRIES} == {e["name"] for e in shipped + smoke}  # RNNLM_PRETRAINED in conftest


def test_pretrained_fits_the_size_budget():
    total = sum(p.stat().st_size for p in (ROOT / "pretrained").rglob("*") if p.is_file())
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


CELL_ENTRIES = [e for e in ENTRIES if "cells" in e]


def test_every_trained_model_records_its_cells():
    missing = [e["name"] for e in ENTRIES if not e.get("smoke") and "cells" not in e]
    assert not missing, f"run python -m train.cells {' '.join(missing)}"


@pytest.mark.parametrize("entry", CELL_ENTRIES, ids=[e["name"] for e in CELL_ENTRIES])
def test_card_cells_reproduce_and_an_expected_cell_is_near_the_top(entry):
    from train.cells import CELL_SLICE_CHARS, EXPECTED_FEATURES, find_cells, table_row
    from train.prepare import corpus_split

    if "slices" not in entry["cells"]:
        pytest.skip(f"cells recorded before they were checked on a second slice: python -m train.cells {entry['name']}")
    assert entry["cells"]["slice_chars"] == CELL_SLICE_CHARS
    report = find_cells(entry["name"], corpus_split(entry["corpus"])[1])
    assert [list(s) for s in report.slices] == entry["cells"]["slices"]
    recorded = entry["cells"]["strongest"]
    assert [(m.feature, m.layer, m.quantity, m.unit, m.validated) for m in report.matches] == \
        [(r["feature"], r["layer"], r["quantity"], r["unit"], r["validated"]) for r in recorded]
    assert all(abs(m.correlation - r["r"]) < 0.01 and abs(m.chance - r["chance"]) < 0.01
               for m, r in zip(report.matches, recorded))
    top_three = [m.feature for m in report.validated[:3]]
    assert set(top_three) & set(EXPECTED_FEATURES[entry["corpus"]]), top_three
    card = (PRETRAINED_DIR / entry["name"] / "card.md").read_text(encoding="utf-8")
    assert all(table_row(rank, m) in card for rank, m in enumerate(report.validated, 1))


def test_cells_section_lists_only_validated_cells_with_both_correlations_and_chance():
    from rnnlm.interpret import CellMatch
    from train.cells import CellReport, cells_section, manifest_cells

    held = CellMatch("inside comment", 0, "c", 150, 0.81, 0.82, 0.61)
    lucky = CellMatch("brace depth", 1, "c", 110, 0.85, 0.23, 0.79)
    absent = CellMatch("inside quotes", 0, "h", 3, 0.5, None, 0.4)
    report = CellReport([held, lucky, absent], [(0, 5000), (5012, 10012)],
                        [["inside quotes", "speaker name line"], ["speaker name line"]], 2048)
    section = cells_section(report, "c")
    assert "| 1 | inside comment | 1 | 150 | c | +0.81 | +0.82 | 0.61 |" in section
    assert "| 2 |" not in section  # the lucky brace-depth cell is not in the table...
    assert "Not confirmed (r on slice 1, slice 2): brace depth (layer 2 unit 110 c: +0.85, +0.23; chance 0.79)" in section
    assert "inside quotes (layer 1 unit 3 h: +0.50, absent; chance 0.40)" in section  # ...but said not to hold
    assert "both slices lack speaker name line; slice 1 lacks inside quotes." in section and "2,048 units" in section and "5,012-10,012" in section
    assert "brace depth is not confirmed; inside comment ranks 1 of 1" in section
    recorded = manifest_cells(report)
    assert recorded["slices"] == [[0, 5000], [5012, 10012]]
    assert [(r["validated"], r["r_check"]) for r in recorded["strongest"]] == [(True, 0.82), (False, 0.23), (False, None)]


def test_the_cells_cli_needs_a_name_or_all():
    from train.cells import main

    with pytest.raises(SystemExit):
        main([])


def test_cell_section_replaces_only_itself():
    from train.cells import replace_section

    card = "# m\n\n## Interpretable cells\n\nold\n\n## Run notes\n\nkept\n"
    new = replace_section(card, "## Interpretable cells\n\nnew\n")
    assert "old" not in new and "new" in new and "## Run notes\n\nkept" in new
    assert replace_section("# m\n", "## Interpretable cells\n\nx\n").endswith("## Interpretable cells\n\nx\n")


def test_zoo_table_puts_every_model_beside_the_others_of_its_corpus():
    from train.zoo_table import table

    text = table(ENTRIES)
    for entry in ENTRIES:
        assert f"`{entry['name']}`" in text and f"{entry['val_nats_per_char']:.4f}" in text
    for corpus in {e["corpus"] for e in ENTRIES}:
        assert f"## {corpus}\n" in text


def test_update_manifest_adds_replaces_and_keeps_names_sorted(tmp_path):
    from rnnlm.zoo import update_manifest

    fields = {"corpus": "c", "level": "char", "cell": "lstm", "layers": 1, "hidden_size": 8, "parameters": 1}
    update_manifest({"name": "b", **fields, "val_nats_per_char": 2.0}, tmp_path)
    update_manifest({"name": "a", **fields, "val_nats_per_char": 3.0}, tmp_path)
    update_manifest({"name": "b", **fields, "val_nats_per_char": 1.5}, tmp_path)
    assert [(e["name"], e["val_nats_per_char"]) for e in read_manifest(tmp_path)] == [("a", 3.0), ("b", 1.5)]


def test_card_command_names_the_settings_a_run_changed_from_its_config():
    from dataclasses import asdict

    from rnnlm.training.config import TrainConfig, load_train_config
    from train.publish import CONFIG_DIR, training_command

    as_planned = asdict(load_train_config(CONFIG_DIR / "shakespeare-char-gru.toml"))
    plain = "python -m train --config train/configs/shakespeare-char-gru.toml"
    assert training_command("shakespeare-char-gru", {"train_config": as_planned}) == plain
    shortened = {**as_planned, "max_minutes": 24.0}
    assert training_command("shakespeare-char-gru", {"train_config": shortened}) == plain + " max_minutes=24.0"
    # A run recorded before a setting existed ran with its default (batch_size 32; the file says 16).
    older = {k: v for k, v in as_planned.items() if k != "batch_size"}
    assert as_planned["batch_size"] != TrainConfig().batch_size
    assert training_command("shakespeare-char-gru", {"train_config": older}) == plain + f" batch_size={TrainConfig().batch_size}"
    # Two DDP processes: the same config under torchrun
    assert training_command("shakespeare-char-gru", {"train_config": as_planned, "world_size": 2}) == plain.replace(
        "python -m train", "torchrun --nproc_per_node 2 -m train")


def training_record_and_card(entry: dict) -> tuple[dict, str]:
    folder = PRETRAINED_DIR / entry["name"]
    return json.loads((folder / "config.json").read_text())["training"], (folder / "card.md").read_text(encoding="utf-8")


def test_every_card_gives_the_command_its_run_used():
    from train.publish import training_command

    for entry in ENTRIES:
        trained, card = training_record_and_card(entry)
        assert f"- Command: `{training_command(entry['name'], trained)}`" in card, entry["name"]


def test_every_card_gives_the_settings_its_run_used_weight_decay_included():
    from train.publish import setup_line

    for entry in ENTRIES:
        trained, card = training_record_and_card(entry)
        assert setup_line(trained) in card.split("\n"), entry["name"]
        assert f"weight decay {trained['train_config']['weight_decay']}," in card, entry["name"]


@pytest.mark.parametrize("weight_drop", [0.0, 0.25])
def test_the_settings_line_names_the_recurrent_weights_dropout_when_the_run_used_it(weight_drop):
    from train.publish import setup_line

    line = setup_line({"train_config": {"dropout": 0.4, "weight_drop": weight_drop}})
    assert ("dropout 0.4 (0.25 on the recurrent weights)," if weight_drop else "dropout 0.4, AdamW") in line
    # a run recorded before the setting existed had none: its line is the plain one
    assert setup_line({"train_config": {"dropout": 0.4}}) == setup_line({"train_config": {"dropout": 0.4,
                                                                                          "weight_drop": 0.0}})


@pytest.mark.parametrize("name, corpus, message", [
    ("../escaped", "tinyshakespeare", "model name '../escaped'"),
    ("mine-char-lstm", "/no/such/corpus.txt", "no such file or folder: /no/such/corpus.txt"),
])
def test_publish_refuses_before_writing_anything(tmp_path, monkeypatch, char_tokenizer, name, corpus, message):
    from conftest import tiny_model

    import train.publish
    from rnnlm import save_model
    from rnnlm.errors import RnnlmError

    lm = tiny_model(char_tokenizer)
    source = save_model(lm.net, lm.tokenizer, tmp_path / "run" / "model", {"facts": {"corpus": corpus}})
    zoo = tmp_path / "zoo" / "pretrained"
    zoo.mkdir(parents=True)
    monkeypatch.setattr(train.publish, "PRETRAINED_DIR", zoo)
    with pytest.raises(RnnlmError, match=message):
        train.publish.publish(source, name)
    assert not any((tmp_path / "zoo").rglob("*.*"))  # no model folder, card or manifest, inside or outside
