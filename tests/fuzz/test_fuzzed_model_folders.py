"""Hostile model folders: each one is refused by rnnlm.load_model with a CheckpointError (an
RnnlmError) that says what is wrong, never a traceback from JSON, safetensors or torch.

Each case rewrites one file and, unless the case is about checksums, records the new file's
sha256 in config.json, so the check under test is the one that must catch it (not the
checksum). NaN/inf/1e30 weights at one fixed place and one wrong shape are in
tests/core/test_checkpoint.py; here they are fuzzed over every tensor and position.
"""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from conftest import tiny_model
from fuzz_util import fuzz
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import save_file

from rnnlm import CheckpointError, load_model, save_model
from rnnlm.checkpoint import sha256_of
from rnnlm.errors import RnnlmError

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)


@pytest.fixture(scope="module")
def template(char_tokenizer, tmp_path_factory) -> Path:
    lm = tiny_model(char_tokenizer, cell="lstm", layers=1, hidden=8, embed=4)
    return save_model(lm.net, lm.tokenizer, tmp_path_factory.mktemp("fuzzed") / "model")


def rewrite(folder: Path, name: str, data: bytes | str, recheck: bool = True) -> None:
    """Replace one file; with recheck, config.json vouches for the new bytes (a crafted folder)."""
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    if recheck and name != "config.json":
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        config["files"][name] = sha256_of(path)
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")


def refused(template: Path, change, words: str | None = None) -> str:
    """Apply change to a copy of the template; the CheckpointError's message."""
    with tempfile.TemporaryDirectory(prefix="rnnlm-fuzz-folder-") as sandbox:
        folder = Path(shutil.copytree(template, Path(sandbox) / "model"))
        change(folder)
        with pytest.raises(CheckpointError, match=words) as caught:
            load_model(folder)
    message = str(caught.value)
    assert "Traceback" not in message and len(message) < 2000
    return message


def config_with(**fields):
    def change(folder):
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        config.update(fields)
        rewrite(folder, "config.json", json.dumps(config))
    return change


@pytest.mark.parametrize("change, words", [
    *[(lambda f, text=text: rewrite(f, "config.json", text), "must hold a JSON object")
      for text in ("[]", '"model"', "null", "42", "true")],
    (lambda f: rewrite(f, "config.json", "[" * 150_000 + "]" * 150_000), "not valid JSON"),  # under the 1 MiB cap
    (lambda f: rewrite(f, "config.json", '{"model": ' + "[" * 100_000 + "]" * 100_000 + "}"), "not valid JSON"),
    (lambda f: rewrite(f, "config.json", " " * (2 << 20) + "{}"), "larger than"),
    (lambda f: rewrite(f, "config.json", b"\xff\xfe{}"), "not valid JSON"),
    (config_with(model={"vocab_size": float("nan")}), "vocab_size must be an integer"),
    (config_with(model={"vocab_size": 66, "cell": ["lstm"]}), "cell must be one of"),
    (config_with(files={"model.safetensors": None, "tokenizer.json": 5}), "does not match the checksum"),
    (config_with(files={"a\x00b": "0", "model.safetensors": "0"}), "missing|not allowed"),
])
def test_a_hostile_config_json_is_refused(template, change, words):
    refused(template, change, words)


@pytest.mark.parametrize("text, words", [
    ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ('[{"kind": "char"}]', "unknown tokenizer kind"),
    ('{"kind": "char", "chars": ["a", "<b>", "</b>"]}', "distinct single characters"),
    ('{"kind": "char", "chars": ["a", "a"]}', "distinct single characters"),
    ('{"kind": "char", "chars": "abc"}', "must be a list"),
    ('{"kind": "char", "chars": ["a", 1]}', "must be a list"),
    ('{"kind": "char", "chars": ["a", "\x1b"]}', "not valid JSON"),  # a raw control character in a JSON string
    ('{"kind": "word"}', "not a SentencePiece model|missing"),
    ('{"kind": "<script>alert(1)</script>"}', "unknown tokenizer kind"),
])
def test_a_hostile_tokenizer_json_is_refused(template, text, words):
    refused(template, lambda f: rewrite(f, "tokenizer.json", text), words)


def test_a_vocabulary_edited_to_hold_control_or_markup_characters_is_refused_by_checksum(template):
    def change(folder):
        spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        spec["chars"][:3] = ["\x1b", "<", "\u202e"]
        rewrite(folder, "tokenizer.json", json.dumps(spec), recheck=False)
    refused(template, change, "does not match the checksum")


def test_a_consistent_vocabulary_with_control_and_markup_characters_loads_as_data(template):
    """A crafted but self-consistent vocabulary is a model, not an attack on the loader: its
    characters are data, escaped where they are shown (tests/core/test_cli.py on a terminal,
    tests/app/test_app_render.py in the page and the CSV export)."""
    with tempfile.TemporaryDirectory() as sandbox:
        folder = Path(shutil.copytree(template, Path(sandbox) / "model"))
        spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        spec["chars"][:4] = ["\x1b", "<", "\u202e", "="]
        rewrite(folder, "tokenizer.json", json.dumps(spec))
        lm = load_model(folder)
        assert [lm.tokenizer.token_text(i) for i in (1, 2, 3, 4)] == ["\x1b", "<", "\u202e", "="]


@fuzz(40)
@given(section=st.sampled_from(["top", "model", "tokenizer", "files", "training"]),
       key=st.sampled_from(["format", "version", "model", "tokenizer", "files", "training", "vocab_size", "cell",
                            "embed_dim", "hidden_size", "num_layers", "dropout", "tie_weights", "kind",
                            "model.safetensors", "tokenizer.json", "x"]),
       value=JSON)
def test_any_config_value_loads_or_is_refused_cleanly(template, section, key, value):
    with tempfile.TemporaryDirectory() as sandbox:
        folder = Path(shutil.copytree(template, Path(sandbox) / "model"))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        target = config if section == "top" else config[section]
        target[key] = value
        rewrite(folder, "config.json", json.dumps(config))
        try:
            load_model(folder)
        except RnnlmError as exc:
            assert str(exc) and "Traceback" not in str(exc)


BAD_VALUES = st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e30, -1e30, 1.01e4, -3.4e38])


@fuzz(30)
@given(data=st.data(), value=BAD_VALUES, storage=st.sampled_from(["float32", "float16", "bfloat16"]))
def test_non_finite_or_huge_weights_anywhere_are_refused(template, data, value, storage):
    lm = load_model(template)
    names = sorted(lm.net.state_dict())
    name = data.draw(st.sampled_from(names))
    tensor = lm.net.state_dict()[name]
    index = data.draw(st.integers(0, tensor.numel() - 1))
    with torch.no_grad():
        tensor.view(-1)[index] = value
    with tempfile.TemporaryDirectory() as sandbox:
        folder = save_model(lm.net, lm.tokenizer, Path(sandbox) / "m", storage_dtype=storage)
        with pytest.raises(CheckpointError, match="NaN or infinite|beyond") as caught:
            load_model(folder)
    assert name in str(caught.value)


@fuzz(30)
@given(data=st.data(), kind=st.sampled_from(["shape", "dtype", "extra", "missing", "bytes"]))
def test_weights_of_the_wrong_shape_dtype_or_set_are_refused(template, data, kind):
    tensors = {name: t.clone() for name, t in load_model(template).net.state_dict().items()}
    name = data.draw(st.sampled_from(sorted(tensors)))

    def change(folder):
        if kind == "bytes":
            rewrite(folder, "model.safetensors", data.draw(st.binary(max_size=64)) + b"{" * data.draw(st.integers(0, 9)))
            return
        if kind == "shape":
            shape = data.draw(st.lists(st.integers(0, 5), min_size=1, max_size=3).filter(
                lambda s: tuple(s) != tuple(tensors[name].shape)))
            tensors[name] = torch.zeros(shape)
        elif kind == "dtype":
            tensors[name] = tensors[name].to(data.draw(st.sampled_from([torch.float64, torch.int32, torch.int8])))
        elif kind == "extra":
            tensors["evil.weight"] = torch.zeros(2)
        else:
            del tensors[name]
        save_file(tensors, str(folder / "model.safetensors"))
        rewrite(folder, "model.safetensors", (folder / "model.safetensors").read_bytes())
    refused(template, change, "shape|dtype|do not match|not a valid safetensors")
