"""Prepare the training corpora into data/ (git-ignored).

    python -m train.prepare [tinyshakespeare|shakespeare|c|linux|all]
    python -m train.prepare --from PATH --name NAME   any text file or folder of sources

Uses ../shared/data when present (checking sha256).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

from rnnlm.errors import CorpusError, RnnlmError

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"
SHA256 = {
    "tinyshakespeare": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    "shakespeare": "a3c30380677c25ce52624eced0e9b98e7d0e4ea4bbff27a0ad4bdec3e1f7532e",
    "linux": "19c0c2bcabad12532e7f281c37ac27078e908b45532f9afc5101e305f282011f",
    "c": "a2c1523d07097c92ff062bf1e9b93a5f0a4070e7a364b0c564ff4959ec7fb460",
}
CORPORA = tuple(SHA256)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare(name: str) -> Path:
    """data/<name>.txt, verified; copied from ../shared/data."""
    if name not in SHA256:
        raise CorpusError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)} (or use --from PATH)")
    target = DATA_DIR / f"{name}.txt"
    if target.is_file() and sha256_file(target) == SHA256[name]:
        return target
    source = SHARED_DATA / f"{name}.txt"
    if not source.is_file():
        raise CorpusError(f"{source} is missing; point --from at a local copy of the corpus")
    if sha256_file(source) != SHA256[name]:
        raise CorpusError(f"{source} does not match its published sha256")
    DATA_DIR.mkdir(exist_ok=True)
    shutil.copyfile(source, target)
    return target


def corpus_text(name: str) -> str:
    return prepare(name).read_text(encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.prepare", description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", default="all", choices=CORPORA + ("all",))
    args = parser.parse_args(argv)
    try:
        for name in CORPORA if args.corpus == "all" else (args.corpus,):
            print(f"{name}: {prepare(name)}")
    except RnnlmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
