"""Model folders: round trip, fp16 storage, and refusal of broken or hostile folders."""

import json

import numpy as np
import pytest
import torch
from conftest import tiny_model
from safetensors.torch import save_file

from rnnlm import CheckpointError, SamplingSettings, load_model, sample_text, save_model
from rnnlm.checkpoint import sha256_of


@pytest.fixture
def saved(tmp_path, char_tokenizer):
    lm = tiny_model(char_tokenizer, cell="gru")
    folder = save_model(lm.net, lm.tokenizer, tmp_path / "model", training={"note": "test"})
    return lm, folder


def test_round_trip_gives_identical_samples(any_model, tmp_path):
    folder = save_model(any_model.net, any_model.tokenizer, tmp_path / "m")
    again = load_model(folder)
    settings = SamplingSettings(max_new_tokens=40, seed=5)
    assert sample_text(again, "ab", settings) == sample_text(any_model, "ab", settings)
    assert again.config == any_model.config and again.level == any_model.level


def test_fp16_storage_is_close(tmp_path, char_tokenizer):
    lm = tiny_model(char_tokenizer)
    folder = save_model(lm.net, lm.tokenizer, tmp_path / "half", storage_dtype="float16")
    again = load_model(folder)
    for (name, a), (_, b) in zip(lm.net.state_dict().items(), again.net.state_dict().items()):
        assert b.dtype == torch.float32
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-3, err_msg=name)


def test_no_pickle_files_written(saved):
    _, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]


def test_truncated_weights_are_refused(saved):
    _, folder = saved
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or was modified"):
        load_model(folder)


def test_tampered_tokenizer_is_refused(saved):
    _, folder = saved
    spec = json.loads((folder / "tokenizer.json").read_text())
    spec["chars"][0], spec["chars"][1] = spec["chars"][1], spec["chars"][0]
    (folder / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(CheckpointError, match="checksum"):
        load_model(folder)


def _rewrite_config(folder, change):
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(extra=1), "unknown fields"),
    (lambda c: c["model"].update(hidden_size=4096, num_layers=8, vocab_size=200000), "parameters is over the limit"),
    (lambda c: c["model"].update(hidden_size=10**7), "hidden_size must be"),
    (lambda c: c["model"].update(activation="relu"), "unknown fields"),
    (lambda c: c.update(format="pickle"), "format"),
    (lambda c: c["model"].update(hidden_size=25), "shape"),
    (lambda c: c["model"].update(vocab_size=70), "tokenizer has"),
    (lambda c: c["files"].update({"../evil.py": "0"}), "not allowed"),
    (lambda c: c.update(tokenizer="char"), "'tokenizer' must be JSON objects"),
    (lambda c: c.update(model=[1, 2]), "'model' must be JSON objects"),
])
def test_mismatched_config_is_refused(saved, change, message):
    _, folder = saved
    _rewrite_config(folder, change)
    with pytest.raises(CheckpointError, match=message):
        load_model(folder)


def test_weights_with_wrong_shapes_are_refused_even_with_valid_checksums(saved):
    lm, folder = saved
    tensors = {k: v.clone() for k, v in lm.net.state_dict().items()}
    tensors["head.bias"] = torch.zeros(3)
    save_file(tensors, str(folder / "model.safetensors"))
    _rewrite_config(folder, lambda c: c["files"].update({"model.safetensors": sha256_of(folder / "model.safetensors")}))
    with pytest.raises(CheckpointError, match="head.bias has shape"):
        load_model(folder)


def test_not_json_and_missing_folder(saved, tmp_path):
    _, folder = saved
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_model(folder)
    with pytest.raises(CheckpointError, match="not a model folder"):
        load_model(tmp_path / "nowhere")


def test_saving_over_an_existing_folder_replaces_it(saved, char_tokenizer):
    lm, folder = saved
    other = tiny_model(char_tokenizer, cell="lstm", seed=3)
    save_model(other.net, other.tokenizer, folder)
    assert load_model(folder).cell == "lstm"
    assert not any(p.name.startswith(".") for p in folder.parent.iterdir())


@pytest.mark.parametrize("value, words", [(float("nan"), "NaN or infinite"), (float("inf"), "NaN or infinite"),
                                          (1e30, "beyond 10000 in magnitude")])
def test_non_finite_or_overflowing_weights_are_refused_at_load(tmp_path, char_tokenizer, value, words):
    lm = tiny_model(char_tokenizer)
    with torch.no_grad():
        next(lm.net.parameters())[0, 0] = value
    folder = save_model(lm.net, lm.tokenizer, tmp_path / "broken", {})
    with pytest.raises(CheckpointError, match=words) as refused:
        load_model(folder)
    assert "earlier checkpoint" in str(refused.value) and "Traceback" not in str(refused.value)
