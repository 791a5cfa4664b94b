"""Corpus text: cleaning rules, validation and held-out splits.

Shared by the corpus preparation CLI (train/prepare.py), the trainer and the playground's
upload page, so a corpus is judged the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorpusError

# Extensions read when a folder is given as a corpus; anything else is skipped and counted.
TEXT_SUFFIXES = {".txt", ".md", ".rst", ".c", ".h", ".cc", ".cpp", ".hpp", ".py", ".js", ".ts", ".java", ".go",
                 ".rs", ".rb", ".sh", ".tex", ".html", ".css", ".json", ".toml", ".yaml", ".yml", ".csv", ".lua", ""}
SPLIT_FRACTIONS = {"tinyshakespeare": 0.10}  # nanoGPT's split; every other corpus holds out 5%
DEFAULT_HOLDOUT = 0.05


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KB: not text."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return len(head) > 0 and controls / len(head) > 0.1


def clean_text(data: bytes, source: str = "text") -> str:
    """UTF-8 (a BOM is dropped), LF line endings; refuses binary or non-UTF-8 input."""
    if looks_binary(data):
        raise CorpusError(f"{source} looks binary (NUL or control bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{source} is not UTF-8 (bad byte at offset {exc.start}); convert it to UTF-8 first") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class CorpusReport:
    text: str
    files_used: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # file -> reason

    @property
    def chars(self) -> int:
        return len(self.text)


def read_corpus(path: Path, max_bytes: int = 200 << 20) -> CorpusReport:
    """A text file, or a folder of text/source files joined in path order with file headers."""
    path = Path(path)
    if path.is_file():
        data = path.read_bytes()
        if len(data) > max_bytes:
            raise CorpusError(f"{path} is {len(data):,} bytes; the limit is {max_bytes:,}")
        return CorpusReport(clean_text(data, str(path)), [str(path)])
    if not path.is_dir():
        raise CorpusError(f"{path} does not exist; give a text file or a folder of text files")
    report, parts, total = CorpusReport(""), [], 0
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        name = str(file.relative_to(path))
        if file.suffix.lower() not in TEXT_SUFFIXES or any(part.startswith(".") for part in file.parts):
            report.skipped[name] = "not a text file type"
            continue
        data = file.read_bytes()
        total += len(data)
        if total > max_bytes:
            raise CorpusError(f"{path} holds more than {max_bytes:,} bytes of text; use a smaller folder")
        try:
            parts.append(f"// ---- file: {name} ----\n" + clean_text(data, name))
            report.files_used.append(name)
        except CorpusError as exc:
            report.skipped[name] = str(exc)
    if not parts:
        raise CorpusError(f"{path} has no usable text files ({len(report.skipped)} skipped)")
    report.text = "\n".join(parts)
    return report


def split_corpus(text: str, corpus_name: str = "") -> tuple[str, str]:
    """The standard split: last 10% of Tiny Shakespeare, last 5% of everything else held out."""
    fraction = SPLIT_FRACTIONS.get(corpus_name, DEFAULT_HOLDOUT)
    cut = int(len(text) * (1 - fraction))
    return text[:cut], text[cut:]


def check_trainable(train_text: str, val_text: str, window: int) -> None:
    """Refuse corpora the trainer cannot use, before any work starts."""
    if not train_text.strip():
        raise CorpusError("the corpus is empty (or only whitespace): nothing to train on")
    if len(train_text) < 2 * (window + 1):
        raise CorpusError(f"the training text has {len(train_text):,} characters; it needs at least "
                          f"{2 * (window + 1):,} (two windows of {window}); add text or lower the window")
    if not val_text:
        raise CorpusError("the held-out split is empty; add more text")
