"""Upload validation: what is used, what is skipped and why, and every input that is refused."""

import io
import struct
import tracemalloc
import zipfile

import pytest

import rnnlm
from rnnlm.errors import CorpusError
from rnnlm.service.uploads import UploadLimits, label, read_uploads
from rnnlm.service.vocabulary_fit import vocabulary_fit
from rnnlm.training.warm_start import unknown_rate

PROSE = "To be, or not to be: that is the question.\nWhether 'tis nobler in the mind to suffer\n"
CODE = "int main(void) {\n    return 0;\n}\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


def make_zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_files_and_pasted_text_are_joined_and_described():
    report = read_uploads([("play.txt", PROSE.encode()), ("notes.md", b"# Notes\r\nsecond line")],
                          pasted="pasted words")
    assert report.files_used == ["play.txt", "notes.md", "pasted text"]
    assert report.text == PROSE + "\n# Notes\nsecond line\n\npasted words\n"  # CRLF cleaned, blank line between
    assert report.chars == len(report.text) and report.lines == report.text.count("\n") == 7
    assert report.charset == "".join(sorted(set(report.text))) and not report.skipped


def test_unusable_files_are_skipped_with_a_reason_next_to_good_ones():
    report = read_uploads([
        ("good.c", CODE.encode()), ("image.png", PNG), ("picture.txt", PNG), ("latin1.txt", "café".encode("latin-1")),
        ("wide.txt", "hello".encode("utf-16")), ("empty.txt", b" \n"), ("program.exe", b"MZ text"),
        (".DS_Store", b"x"),
    ])
    reasons = {s.name: s.reason for s in report.skipped}
    assert report.files_used == ["good.c"] and report.text == CODE
    assert reasons == {"image.png": "not a text file type", "picture.txt": "binary", "latin1.txt": "not UTF-8",
                       "wide.txt": "UTF-16 (save it as UTF-8)", "empty.txt": "empty",
                       "program.exe": "not a text file type", ".DS_Store": "hidden or system file"}
    assert "1 binary" in report.summary() and "7 skipped" in report.summary()


@pytest.mark.parametrize("files, pasted, words", [
    ([], "", "nothing was uploaded"),
    ([], "   \n ", "nothing was uploaded"),
    ([("empty.txt", b"")], "", "1 empty"),
    ([("data.txt", PNG)], "", "1 binary"),
    ([("old.txt", "naïve café".encode("cp1252"))], "", "1 not UTF-8"),
    ([("photo.jpg", b"\xff\xd8\xff")], "", "not a text file type"),
])
def test_an_upload_with_nothing_usable_is_refused_with_what_to_do(files, pasted, words):
    with pytest.raises(CorpusError, match=words) as caught:
        read_uploads(files, pasted)
    assert "UTF-8" in str(caught.value) or "paste" in str(caught.value)


def test_text_over_the_limit_is_skipped_as_too_large_and_alone_is_refused():
    limits = UploadLimits(max_text_bytes=100)
    report = read_uploads([("small.txt", b"a" * 60 + b"\n"), ("second.txt", b"b" * 60 + b"\n")], limits=limits)
    assert report.files_used == ["small.txt"] and report.skipped[0].reason.startswith("too large")
    with pytest.raises(CorpusError, match="too large"):
        read_uploads([("big.txt", b"x" * 101)], limits=limits)
    with pytest.raises(CorpusError, match="too large"):
        read_uploads(pasted="y" * 101, limits=limits)


def test_a_zip_of_text_files_is_read_and_its_other_members_skipped():
    inner = make_zip({"a.txt": b"inner"})
    data = make_zip({"src/main.c": CODE.encode(), "docs/readme.md": PROSE.encode(), "logo.png": PNG,
                     "nested.zip": inner, "__MACOSX/._main.c": b"\x00\x05", "../../etc/passwd.txt": b"root:x:0\n"})
    report = read_uploads([("project.zip", data)])
    assert report.files_used == ["project.zip: src/main.c", "project.zip: docs/readme.md"]
    reasons = {s.name.split(": ")[1]: s.reason for s in report.skipped}
    assert reasons == {"logo.png": "not a text file type", "nested.zip": "zip inside a zip (not opened)",
                       "__MACOSX/._main.c": "hidden or system file", "../../etc/passwd.txt": "unsafe path"}
    assert report.text == CODE + "\n" + PROSE


def test_a_zip_with_no_text_is_refused():
    with pytest.raises(CorpusError, match="no usable text files.*1 binary"):
        read_uploads([("stuff.zip", make_zip({"a.txt": PNG, "b.bin": b"\x00"}))])
    with pytest.raises(CorpusError, match="no usable text files"):
        read_uploads([("empty.zip", make_zip({}))])


def test_a_damaged_or_fake_zip_is_refused():
    with pytest.raises(CorpusError, match="not a valid zip"):
        read_uploads([("fake.zip", b"PK\x03\x04 this is not really a zip")])


def test_a_zip_bomb_is_refused_without_expanding_it():
    bomb = make_zip({"zeros.txt": b"0" * (30 << 20)})  # 30 MB of one byte: about 30 KB compressed
    assert len(bomb) < 100_000
    tracemalloc.start()
    with pytest.raises(CorpusError, match="zip bomb"):
        read_uploads([("bomb.zip", bomb)])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 << 20  # the 30 MB were never produced


def test_zips_past_the_entry_and_expanded_size_limits_are_refused():
    many = make_zip({f"f{i}.txt": b"text\n" for i in range(30)})
    with pytest.raises(CorpusError, match="30 entries; the limit is 20"):
        read_uploads([("many.zip", many)], limits=UploadLimits(max_zip_entries=20))
    big = make_zip({"a.txt": PROSE.encode() * 200})
    with pytest.raises(CorpusError, match="would expand to"):
        read_uploads([("big.zip", big)], limits=UploadLimits(max_zip_expanded_bytes=1000))


def lying_zip(real: bytes, declared: int) -> bytes:
    """A zip whose central directory claims its one member is `declared` bytes long."""
    data = bytearray(make_zip({"story.txt": real}))
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)  # uncompressed size field
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)
    return bytes(data)


def test_a_member_that_expands_past_its_declared_size_is_not_read_past_it():
    data = lying_zip(PROSE.encode() * 3000, declared=100)  # 260 KB claiming 100 bytes
    with pytest.raises(CorpusError, match="no usable text files.*damaged"):
        read_uploads([("liar.zip", data)])


def test_members_with_unbounded_decompressors_are_skipped():
    data = make_zip({"a.txt": PROSE.encode()}, compression=zipfile.ZIP_BZIP2)
    with pytest.raises(CorpusError, match="unsupported compression"):
        read_uploads([("bz.zip", data)])


def test_names_are_labels_with_control_and_bidi_characters_replaced():
    assert label("evil\u202etxt.exe\n<b>") == "evil?txt.exe?<b>"
    assert len(label("x" * 500)) == 120
    report = read_uploads([("a\x1b[31m.txt", b"ok text\n")])
    assert report.files_used == ["a?[31m.txt"]


def test_vocabulary_fit_of_a_char_model_counts_unseen_characters():
    base = rnnlm.load("smoke-char-lstm")
    text = "ROMEO: thé café {x}\n" * 10
    fit = vocabulary_fit(text, base)
    assert fit.level == "char" and fit.unit == "characters" and fit.unseen_chars == "{}é"
    assert fit.unknown_share == pytest.approx(40 / len(text)) and "adds these 3 characters" in fit.note


def test_vocabulary_fit_of_a_word_model_is_its_unknown_token_rate():
    base = rnnlm.load("smoke-word-gru")
    text = "ROMEO: what light through yonder window {breaks} €\n" * 5
    fit = vocabulary_fit(text, base)
    assert fit.level == "word" and fit.unit == "tokens" and fit.unknown_share > 0
    assert fit.unknown_share == pytest.approx(unknown_rate(base.tokenizer, text)) and "€" in fit.unseen_chars
