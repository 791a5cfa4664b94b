"""The held-out excerpts shipped with the models, for servers without the corpora."""

from conftest import SHARED_DATA

from rnnlm.corpus import split_corpus
from rnnlm.zoo import heldout_excerpt, read_manifest
from train.heldout import FILE_HEADER, excerpt, write_excerpts


def test_a_code_excerpt_starts_at_a_file_header_and_ends_at_a_line_end():
    validation = "tail of a file;\n" + "".join(f"{FILE_HEADER}p/f{i}.c ----\nint x{i};\n" for i in range(5000))
    text = excerpt(validation, 1000)
    assert text.startswith(FILE_HEADER + "p/f0.c") and text.endswith("\n") and 900 <= len(text) <= 1000


def test_a_prose_excerpt_starts_at_a_paragraph():
    text = excerpt("ng of a speech.\n\nGREMIO:\nGood morrow.\n" * 100, 200)
    assert text.startswith("GREMIO:\n")


def test_every_shipped_corpus_has_its_excerpt_of_the_validation_split():
    for corpus in {entry["corpus"] for entry in read_manifest() if not entry.get("smoke")}:
        shipped = heldout_excerpt(corpus)
        assert shipped and len(shipped) > 20_000, corpus
        validation = split_corpus((SHARED_DATA / f"{corpus}.txt").read_text(encoding="utf-8"), corpus)[1]
        assert shipped in validation  # held-out text only: no model trained on it


def test_write_excerpts_skips_a_corpus_it_cannot_find(tmp_path):
    assert write_excerpts(["tinyshakespeare", "no-such-corpus"], tmp_path) == ["tinyshakespeare"]
    assert heldout_excerpt("tinyshakespeare", tmp_path) == heldout_excerpt("tinyshakespeare")
    assert heldout_excerpt("no-such-corpus", tmp_path) is None
