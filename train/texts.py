"""Where a run's text comes from: a standard corpus, one prepared earlier with
`python -m train.prepare --from PATH --name NAME`, or a file or folder given as a path.
Training and publishing both resolve a recorded corpus here, so they read the same text."""

from __future__ import annotations

from pathlib import Path

from rnnlm.corpus import read_corpus, split_corpus
from rnnlm.errors import RnnlmError
from rnnlm.units import is_plain_name

from . import prepare
from .prepare import CORPORA, corpus_split


def is_prepared_name(corpus: str) -> bool:
    """A standard corpus, or a data/NAME.txt written by prepare --from (a plain name, not a path)."""
    if corpus in CORPORA:
        return True
    return is_plain_name(corpus) and (prepare.DATA_DIR / f"{corpus}.txt").is_file()


def corpus_texts(corpus: str) -> tuple[str, str, dict]:
    """(train, held-out, facts) of a prepared corpus name or a file/folder path."""
    if not corpus.strip():
        raise RnnlmError("corpus is empty: give a corpus name or --from PATH")
    if is_prepared_name(corpus):
        train, val = corpus_split(corpus)
        return train, val, {"corpus": corpus}
    if not Path(corpus).exists():
        if "/" in corpus or "\\" in corpus:  # a path, not a name
            raise RnnlmError(f"no such file or folder: {corpus}")
        raise RnnlmError(f"unknown corpus {corpus!r}: use one of {', '.join(CORPORA)}, a name prepared with "
                         "python -m train.prepare --from PATH --name NAME, or --from PATH")
    report = read_corpus(Path(corpus))
    train, val = split_corpus(report.text)
    return train, val, {"corpus": corpus, "files_used": len(report.files_used), "files_skipped": len(report.skipped)}
