"""The model-zip reader on hostile bytes: arbitrary data and mutated copies of a real model
zip (flipped bytes, truncation, renamed entries, path-traversal names, false declared
sizes). Every outcome is a loaded model or a CheckpointError (an RnnlmError), and nothing
is ever written outside the destination's own folder."""

import io
import random
import struct
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
from fuzz_util import fuzz
from hypothesis import example, given
from hypothesis import strategies as st

import rnnlm
from rnnlm.errors import RnnlmError
from rnnlm.service.model_zip import ALLOWED_FILES, ModelZipLimits, import_model_zip, model_zip_bytes

SMALL = ModelZipLimits(max_weights_bytes=4 << 20, max_zip_bytes=4 << 20)  # far above the smoke model
CENTRAL_HEADER = b"PK\x01\x02"
LOCAL_HEADER = b"PK\x03\x04"


@pytest.fixture(scope="module")
def real_zip() -> bytes:
    return model_zip_bytes(rnnlm.resolve("smoke-char-lstm"))


def files_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": a duplicate is one of the cases
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def import_in_a_sandbox(data: bytes, limits: ModelZipLimits = SMALL) -> bool:
    """Import into sandbox/parent/dest; True when it loaded. Fails the test on any other
    exception type, or on any file left anywhere in the sandbox but inside dest."""
    with tempfile.TemporaryDirectory(prefix="rnnlm-fuzz-zip-") as sandbox:
        sandbox = Path(sandbox)
        destination = sandbox / "parent" / "dest"
        try:
            lm = import_model_zip(data, destination, limits=limits)
        except RnnlmError as refused:
            assert str(refused) and str(sandbox) not in str(refused)  # names files in the zip, not server paths
            loaded = False
        else:
            assert lm.path == destination and lm.tokenizer.vocab_size == lm.config.vocab_size
            loaded = True
        everything = sorted(p.relative_to(sandbox).as_posix() for p in sandbox.rglob("*"))
        inside = [p for p in everything if p.startswith("parent/dest/")]
        expected_outside = ["parent", "parent/dest"] if loaded else ["parent"]
        assert sorted(set(everything) - set(inside)) in (expected_outside, []), everything
        assert all(Path(p).name in ALLOWED_FILES for p in inside)
        return loaded


@fuzz(150)
@given(st.binary(max_size=2048))
@example(b"")
@example(b"PK\x05\x06" + bytes(18))  # an empty zip
@example(LOCAL_HEADER + bytes(26))
def test_arbitrary_bytes_are_refused_cleanly(data):
    assert not import_in_a_sandbox(data)


@fuzz(200)
@given(st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), min_size=1, max_size=8))
def test_flipped_bytes_load_the_same_model_or_are_refused(real_zip, flips):
    data = bytearray(real_zip)
    for position, mask in flips:
        data[position % len(data)] ^= mask or 1
    import_in_a_sandbox(bytes(data))


@fuzz(40)
@given(st.floats(0, 1, exclude_max=True))
def test_a_truncated_zip_is_refused(real_zip, fraction):
    assert not import_in_a_sandbox(real_zip[: int(len(real_zip) * fraction)])


HOSTILE_NAMES = st.sampled_from(["../x", "../../etc/passwd", "/tmp/evil", "..", ".", "", "dest/../../x",
                                 "model.safetensors/", "config.json\x00.txt", "C:\\x", "..\\x", "parent/x",
                                 "./config.json", "CONFIG.JSON", "card.md ", "\u202econfig.json"]) | st.text(max_size=12)


@fuzz(150)
@given(st.lists(st.tuples(st.integers(0, 4), st.one_of(HOSTILE_NAMES, st.sampled_from(ALLOWED_FILES))),
                max_size=4), st.booleans())
@example([(0, "../x")], False)
@example([(1, "../../x")], True)
def test_renamed_or_added_entries_never_escape_the_destination(real_zip, renames, add):
    entries = list(files_of(real_zip).items())
    for index, name in renames:
        if add:
            entries.append((name, entries[index % len(entries)][1]))
        else:
            entries[index % len(entries)] = (name, entries[index % len(entries)][1])
    try:
        data = rezip(entries)
    except (ValueError, UnicodeEncodeError):  # zipfile itself refuses to write some names
        return
    import_in_a_sandbox(data)


def with_declared_sizes(data: bytes, sizes: list[int], local: bool) -> bytes:
    """The zip with its entries' declared (uncompressed, compressed) sizes replaced, in the
    central directory and, when local, in the local headers too."""
    patched = bytearray(data)
    rng = random.Random(len(sizes))
    for signature, offset in [(CENTRAL_HEADER, 20)] + ([(LOCAL_HEADER, 18)] if local else []):
        start = 0
        for size in sizes:
            start = patched.find(signature, start)
            if start < 0:
                break
            which = rng.choice([0, 4])  # compressed or uncompressed size
            struct.pack_into("<I", patched, start + offset + which, size)
            start += 4
    return bytes(patched)


@fuzz(150)
@given(st.lists(st.sampled_from([0, 1, 2**31, 2**32 - 1, 10**9, 256 << 20, 3 << 20]) | st.integers(0, 2**32 - 1),
                min_size=1, max_size=5), st.booleans())
def test_false_declared_sizes_are_refused(real_zip, sizes, local):
    import_in_a_sandbox(with_declared_sizes(real_zip, sizes, local))


@pytest.mark.parametrize("declared", [2**32 - 1, 2**31, 300 << 20])
def test_a_huge_declared_size_is_refused_before_anything_is_expanded(real_zip, declared, tmp_path):
    patched = bytearray(real_zip)
    first = patched.find(CENTRAL_HEADER)  # config.json: at most 1 MiB
    struct.pack_into("<I", patched, first + 24, declared)
    with pytest.raises(RnnlmError, match="config.json in the zip is .* the limit is"):
        import_model_zip(bytes(patched), tmp_path / "parent" / "dest")
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_deflate_stream_is_refused_as_damaged(real_zip, tmp_path):
    damaged = bytearray(real_zip)
    damaged[42] ^= 1  # inside config.json's deflate stream: once a raw zlib.error
    with pytest.raises(RnnlmError, match="damaged"):
        import_model_zip(bytes(damaged), tmp_path / "dest")
    assert list(tmp_path.iterdir()) == []


def test_a_mutated_zip_that_still_validates_is_the_same_model(real_zip):
    assert import_in_a_sandbox(real_zip)  # the unmutated zip loads: the sandbox check sees a real model
    assert import_in_a_sandbox(rezip(list(reversed(files_of(real_zip).items()))))  # order does not matter
