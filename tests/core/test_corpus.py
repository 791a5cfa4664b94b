"""rnnlm.corpus: cleaning rules, what a folder corpus keeps and skips, bad corpora, standard splits.

    python -m pytest -q tests/core/test_corpus.py
"""

from pathlib import Path

import pytest

from rnnlm.corpus import (
    CorpusReport,
    check_trainable,
    clean_text,
    decode_source,
    file_block,
    read_corpus,
    split_corpus,
    table_share,
)
from rnnlm.errors import CorpusError

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

C_SOURCE = "int add(int a, int b)\n{\n\treturn a + b;\n}\n"
HEX_TABLE = "static const unsigned t[] = {\n" + "0x00, 0x77, 0x07, 0x30,\n" * 50 + "};\n"


def make_folder(root, files: dict):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_clean_text_gives_lf_utf8_without_bom():
    assert clean_text(b"\xef\xbb\xbfa\r\nb\rc\n") == "a\nb\nc\n"
    assert clean_text("caf\u00e9\n".encode()) == "caf\u00e9\n"


@pytest.mark.parametrize("data, found", [
    (b"ELF\x00\x01\x02", "NUL bytes"),
    (bytes(range(1, 9)) * 20, "control bytes"),
    ("caf\u00e9".encode("latin-1"), "byte 0xe9 at offset 3"),
    ("hello".encode("utf-16"), "UTF-16"),
])
def test_clean_text_refuses_non_text_saying_what_it_found(data, found):
    with pytest.raises(CorpusError, match=found):
        clean_text(data, "x.txt")


def test_decode_source_falls_back_to_latin1():
    assert decode_source("caf\u00e9".encode()) == "caf\u00e9"
    assert decode_source(b"caf\xe9") == "caf\u00e9"


def test_file_block_is_header_text_and_one_blank_line():
    assert file_block("lib/a.c", "x;\r\ny;") == "// ---- file: lib/a.c ----\nx;\ny;\n\n"
    assert file_block("a.h", "z\n") == "// ---- file: a.h ----\nz\n\n"


def test_table_share_separates_tables_from_code():
    assert table_share(HEX_TABLE) > 0.30 > table_share(C_SOURCE)
    assert table_share("") == 0.0
    assert table_share("1,x") == 1.0


def test_single_file_is_its_cleaned_text(tmp_path):
    path = tmp_path / "novel.txt"
    path.write_bytes(b"It was a dark night.\r\nThe end.\r\n")
    report = read_corpus(path)
    assert report.text == "It was a dark night.\nThe end.\n"
    assert report.files_used == [str(path)] and report.skipped == {}


def test_folder_keeps_text_and_counts_what_it_skips(tmp_path):
    folder = make_folder(tmp_path / "src", {
        "b.c": C_SOURCE.encode(),
        "a/notes.txt": b"first line\r\n",
        "crc.h": HEX_TABLE.encode(),
        "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "data.txt": b"a" * 9000 + b"\x00",  # NUL past the first 8 KB
        "latin.txt": "na\u00efve".encode("latin-1"),
        "empty.md": b"  \n",
        "notes.docx": b"PK just a zip, as text",
        ".git/HEAD": b"ref: refs/heads/main\n",
        ".env": b"SECRET=1\n",
    })
    report = read_corpus(folder)
    assert report.files_used == ["a/notes.txt", "b.c"]  # path order
    assert report.text == ("// ---- file: a/notes.txt ----\nfirst line\n\n"
                           f"// ---- file: b.c ----\n{C_SOURCE}\n")
    assert report.skipped == {"crc.h": "numeric table", "logo.png": "binary", "data.txt": "binary",
                              "latin.txt": "not UTF-8", "empty.md": "empty", "notes.docx": "not a text file type",
                              ".git/": "hidden", ".env": "hidden"}
    assert report.summary() == ("2 files used, 8 skipped (2 binary, 1 empty, 2 hidden, 1 not UTF-8, "
                                "1 not a text file type, 1 numeric table)")


@pytest.mark.parametrize("files, found", [
    ({}, "it is empty"),
    ({"a.bin": b"\x00\x01", "b.txt": b"\xff\xfe\x00a"}, r"found 2: 1 UTF-16, 1 binary"),
    ({"a.txt": b"\xe9t\xe9", "b.txt": b"\n\n"}, r"found 2: 1 empty, 1 not UTF-8"),
])
def test_folder_without_text_is_refused_saying_what_it_holds(tmp_path, files, found):
    folder = make_folder(tmp_path / "f", files)
    folder.mkdir(exist_ok=True)
    with pytest.raises(CorpusError, match=f"no usable text files \\({found}\\)"):
        read_corpus(folder)


@pytest.mark.parametrize("data, found", [
    (b"", r"empty \(0 bytes"),
    (b" \n\t\n", r"empty \(4 bytes"),
    (b"\x00\x00abc", r"looks binary \(NUL bytes \(2, the first at offset 0\)"),
    (b"a" * 9000 + b"\x00", "NUL bytes .1, the first at offset 9,000"),
    (b"\xe9t\xe9", "not UTF-8"),
])
def test_bad_single_file_is_refused(tmp_path, data, found):
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    with pytest.raises(CorpusError, match=found):
        read_corpus(path)


def test_missing_path_and_size_limit_are_refused(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nope")
    (tmp_path / "big.txt").write_text("a" * 100)
    with pytest.raises(CorpusError, match="the limit is 10"):
        read_corpus(tmp_path / "big.txt", max_bytes=10)
    with pytest.raises(CorpusError, match="more than 10 bytes"):
        read_corpus(tmp_path, max_bytes=10)


def test_report_summary_without_skips():
    assert CorpusReport("x", ["a"]).summary() == "1 file used, 0 skipped"


@pytest.mark.skipif(not (SHARED_DATA / "tinyshakespeare.txt").is_file(), reason="no ../shared/data here")
def test_tinyshakespeare_split_is_nanogpts():
    text = (SHARED_DATA / "tinyshakespeare.txt").read_text(encoding="utf-8")
    train, val = split_corpus(text, "tinyshakespeare")
    assert train + val == text
    assert len(val) == 111_540  # the figure the data README publishes


def test_other_corpora_hold_out_the_last_5_percent():
    text = "abcdefghij" * 100
    train, val = split_corpus(text, "linux")
    assert (len(train), len(val)) == (950, 50) and val == text[-50:]
    assert split_corpus(text) == (train, val)


def test_check_trainable_refuses_unusable_splits():
    with pytest.raises(CorpusError, match="empty"):
        check_trainable(" \n", "x", window=4)
    with pytest.raises(CorpusError, match="at least 10"):
        check_trainable("abcdefgh", "x", window=4)
    with pytest.raises(CorpusError, match="held-out split is empty"):
        check_trainable("a" * 20, "", window=4)
    check_trainable("a" * 20, "b", window=4)
