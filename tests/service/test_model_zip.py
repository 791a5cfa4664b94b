"""Model zips: download then upload gives the same model; every tampered or hostile zip is refused."""

import io
import json
import zipfile

import pytest

import rnnlm
from rnnlm.errors import CheckpointError
from rnnlm.sampling import SamplingSettings, sample_text
from rnnlm.service.model_zip import ModelZipLimits, import_model_zip, model_zip_bytes

SETTINGS = SamplingSettings(max_new_tokens=60, seed=7)


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def char_zip() -> bytes:
    return model_zip_bytes(rnnlm.resolve("smoke-char-lstm"))


@pytest.mark.parametrize("name", ["smoke-char-lstm", "smoke-word-gru"])
def test_download_then_upload_gives_identical_samples(name, tmp_path):
    folder = rnnlm.resolve(name)
    data = model_zip_bytes(folder)
    assert data == model_zip_bytes(folder)  # deterministic: the same model, the same bytes
    assert set(members(data)) == {p.name for p in folder.iterdir()}  # card.md and tokenizer files included
    uploaded = import_model_zip(data, tmp_path / "mine", name="mine")
    assert uploaded.path == tmp_path / "mine" and uploaded.name == "mine"
    original = rnnlm.load(name)
    assert sample_text(uploaded, "ROMEO:", SETTINGS) == sample_text(original, "ROMEO:", SETTINGS)
    assert rnnlm.load_model(tmp_path / "mine").metadata == original.metadata
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no staging folder left behind


def tampered(char_zip: bytes, change) -> bytes:
    files = members(char_zip)
    change(files)
    return rezip(files)


def flip_weight_byte(files):
    weights = bytearray(files["model.safetensors"])
    weights[-10] ^= 0xFF
    files["model.safetensors"] = bytes(weights)


def set_model_field(key, value):
    def change(files):
        config = json.loads(files["config.json"])
        config["model"][key] = value
        files["config.json"] = json.dumps(config).encode()
    return change


@pytest.mark.parametrize("change, words", [
    (flip_weight_byte, "checksum"),
    (set_model_field("hidden_size", 100_000), "hidden_size must be an integer in"),
    (set_model_field("num_layers", 2), "do not match the config|shape"),
    (lambda f: f.update({"extra.py": b"import os"}), "unexpected entries"),
    (lambda f: f.update({"../../evil.txt": b"x"}), "unexpected entries"),
    (lambda f: f.update({"model/config.json": f["config.json"]}), "unexpected entries"),
    (lambda f: f.pop("model.safetensors"), "no model.safetensors"),
    (lambda f: f.update({"tokenizer.model": b"not listed"}), "does not list"),
    (lambda f: f.update({"config.json": b"{not json"}), "not valid JSON"),
    (lambda f: f.update({"card.md": b"\xff\xfe\x00bad"}), "card.md in the zip is not UTF-8"),
])
def test_a_tampered_model_zip_is_refused(char_zip, tmp_path, change, words):
    with pytest.raises(CheckpointError, match=words) as caught:
        import_model_zip(tampered(char_zip, change), tmp_path / "upload")
    assert str(tmp_path) not in str(caught.value)  # the message names files in the zip, not server paths
    assert not (tmp_path / "upload").exists() and list(tmp_path.iterdir()) == []


def test_a_refused_upload_leaves_an_earlier_model_in_place(char_zip, tmp_path):
    import_model_zip(char_zip, tmp_path / "m")
    before = (tmp_path / "m" / "model.safetensors").read_bytes()
    with pytest.raises(CheckpointError):
        import_model_zip(tampered(char_zip, flip_weight_byte), tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == before
    rnnlm.load_model(tmp_path / "m")


def test_not_a_zip_duplicates_and_oversize_are_refused(char_zip, tmp_path):
    with pytest.raises(CheckpointError, match="not a zip archive"):
        import_model_zip(b"safetensors, honest", tmp_path / "a")
    twice = io.BytesIO(char_zip)
    with zipfile.ZipFile(twice, "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("card.md", b"second card")
    with pytest.raises(CheckpointError, match="same file twice"):
        import_model_zip(twice.getvalue(), tmp_path / "b")
    with pytest.raises(CheckpointError, match="model.safetensors in the zip is .* the limit is"):
        import_model_zip(char_zip, tmp_path / "c", limits=ModelZipLimits(max_weights_bytes=1000))
    bomb = tampered(char_zip, lambda f: f.update({"model.safetensors": bytes(20 << 20)}))
    with pytest.raises(CheckpointError, match="zip bomb"):
        import_model_zip(bomb, tmp_path / "d")
