"""Ship an excerpt of each corpus's validation split with the models: `python -m train.heldout`.

Inspect and Learn read held-out text (text no model trained on). A deployed server has the
models but not the corpora, so pretrained/heldout/<corpus>.txt keeps the first EXCERPT_CHARS
characters of each validation split that a shipped model was trained on, cut at a line end.
Their sources and licences are in pretrained/heldout/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlm.corpus import corpus_file, split_corpus
from rnnlm.zoo import HELDOUT_DIR, PRETRAINED_DIR, read_manifest

EXCERPT_CHARS = 30_000


FILE_HEADER = "// ---- file: "  # code corpora name each source file before it


def excerpt(validation: str, chars: int = EXCERPT_CHARS) -> str:
    """chars characters from the split's first whole file (code: its header names the source and
    so its licence) or first paragraph (prose), ending at a line end when one is in the last tenth."""
    header = validation.find("\n" + FILE_HEADER)
    paragraph = validation.find("\n\n")
    start = header + 1 if header != -1 else (paragraph + 2 if paragraph != -1 else 0)
    validation = validation[start:]
    cut = validation[:chars]
    end = cut.rfind("\n", int(chars * 0.9))
    return cut[:end + 1] if end != -1 and len(validation) > chars else cut


def write_excerpts(corpora: list[str], pretrained_dir: Path | None = None) -> list[str]:
    folder = Path(pretrained_dir or PRETRAINED_DIR) / HELDOUT_DIR
    folder.mkdir(exist_ok=True)
    written = []
    for corpus in corpora:
        path = corpus_file(corpus)
        if path is None:
            print(f"skipped {corpus}: its corpus file is not here (python -m train.prepare {corpus})", file=sys.stderr)
            continue
        validation = split_corpus(path.read_text(encoding="utf-8"), corpus)[1]
        (folder / f"{corpus}.txt").write_text(excerpt(validation), encoding="utf-8")
        written.append(corpus)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="*", help="default: every corpus a shipped model was trained on")
    args = parser.parse_args(argv)
    corpora = args.corpus or sorted({entry["corpus"] for entry in read_manifest() if not entry.get("smoke")})
    for corpus in write_excerpts(corpora):
        print(f"wrote {PRETRAINED_DIR / HELDOUT_DIR / (corpus + '.txt')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
