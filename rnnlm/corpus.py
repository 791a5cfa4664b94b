"""Corpus text: cleaning rules, validation and held-out splits.

Shared by the corpus preparation CLI (python -m train.prepare), the trainer and the
playground's upload page, so a corpus is judged the same way everywhere:

    from rnnlm.corpus import read_corpus, split_corpus
    report = read_corpus("some/folder")      # text + files used + files skipped (and why)
    train, val = split_corpus(report.text)
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorpusError
from .units import is_plain_name

# Extensions read when a folder is given as a corpus; anything else is skipped and counted.
TEXT_SUFFIXES = {".txt", ".md", ".rst", ".c", ".h", ".cc", ".cpp", ".hpp", ".py", ".js", ".ts", ".java", ".go",
                 ".rs", ".rb", ".sh", ".tex", ".html", ".css", ".json", ".toml", ".yaml", ".yml", ".csv", ".lua", ""}
SPLIT_FRACTIONS = {"tinyshakespeare": 0.10}  # nanoGPT's split; every other corpus holds out 5%
DEFAULT_HOLDOUT = 0.05
# CRC tables, font bitmaps, dictionaries: a model learns nothing from them but digits, so
# source files whose characters are more than this share digits, commas or 'x' are dropped.
MAX_TABLE_SHARE = 0.30
SNIFF_BYTES = 8192
# Where the standard corpora live: prepared copies in the project's data/ (python -m
# train.prepare writes them), else the shared folder beside the project that they come from.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PREPARED_DIR = PROJECT_ROOT / "data"
SHARED_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def corpus_file(corpus: str, folders: tuple[Path, ...] = (PREPARED_DIR, SHARED_DATA_DIR)) -> Path | None:
    """The first folder's <corpus>.txt that exists; None when none does, or when the name is
    not a plain name (a session model's corpus is user-given, and must never become a path)."""
    if not is_plain_name(corpus):
        return None
    return next((folder / f"{corpus}.txt" for folder in folders if (folder / f"{corpus}.txt").is_file()), None)


def binary_reason(data: bytes) -> str | None:
    """Why data is not text (any NUL byte, or many control bytes in the first 8 KB), or None."""
    if b"\x00" in data:  # text never holds NUL; a fast scan even for a large file
        return f"NUL bytes ({data.count(0):,}, the first at offset {data.index(0):,})"
    head = data[:SNIFF_BYTES]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if head and controls / len(head) > 0.1:
        return f"control bytes ({controls} in the first {len(head):,} bytes)"
    return None


def clean_text(data: bytes, source: str = "text") -> str:
    """UTF-8 (a BOM is dropped), LF line endings; refuses binary or non-UTF-8 input."""
    if data[:2] in UTF16_BOMS:  # checked first: UTF-16 is full of NULs
        raise CorpusError(f"{source} is UTF-16 text; save it as UTF-8 first")
    reason = binary_reason(data)
    if reason:
        raise CorpusError(f"{source} looks binary ({reason}), not text")
    return utf8_lines(data, source)


def utf8_lines(data: bytes, source: str = "text", offset: int = 0) -> str:
    """data, found at this byte offset of a file, as text with LF line endings (a BOM dropped
    at offset 0); CorpusError naming the file offset of a byte that is not UTF-8."""
    try:
        text = data.decode("utf-8-sig" if offset == 0 else "utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{source} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {offset + exc.start:,}; "
                          "Latin-1 or Windows-1252?); convert it to UTF-8 first") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_source(raw: bytes) -> str:
    """UTF-8, else Latin-1 (which never fails): the registry rebuild keeps every source file."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def table_share(text: str) -> float:
    """Share of characters that are digits, commas or 'x' (numeric and hex tables)."""
    if not text:
        return 0.0
    return sum(c.isdigit() or c in ",x" for c in text) / len(text)


def file_block(path: str, text: str) -> str:
    """One source file in a code corpus: a header line naming it, its text, one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    return f"// ---- file: {path} ----\n{text}\n"


@dataclass
class CorpusReport:
    text: str
    files_used: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # file -> short reason ("binary", "not UTF-8", ...)

    @property
    def chars(self) -> int:
        return len(self.text)

    def skipped_counts(self) -> str:
        """'1 binary, 2 not UTF-8'."""
        return ", ".join(f"{n} {why}" for why, n in sorted(Counter(self.skipped.values()).items()))

    def summary(self) -> str:
        """'3 files used, 3 skipped (1 binary, 2 not UTF-8)'."""
        used = len(self.files_used)
        text = f"{used} file{'s' * (used != 1)} used, {len(self.skipped)} skipped"
        return f"{text} ({self.skipped_counts()})" if self.skipped else text


def read_corpus(path: Path, max_bytes: int = 200 << 20) -> CorpusReport:
    """A text file, or a folder of text/source files joined in path order with file headers."""
    path = Path(path)
    if path.is_file():
        return _read_file(path, max_bytes)
    if not path.is_dir():
        raise CorpusError(f"{path} does not exist; give a text file or a folder of text files")
    return _read_folder(path, max_bytes)


def _read_file(path: Path, max_bytes: int) -> CorpusReport:
    size = path.stat().st_size
    if size > max_bytes:
        raise CorpusError(f"{path} is {size:,} bytes; the limit is {max_bytes:,}")
    text = clean_text(path.read_bytes(), str(path))
    if not text.strip():
        raise CorpusError(f"{path} is empty ({size:,} bytes, no visible characters): nothing to train on")
    return CorpusReport(text, [str(path)])


def _folder_files(folder: Path, report: CorpusReport) -> list[str]:
    """Relative paths of the non-hidden files, sorted; hidden entries (.git, ...) are skipped whole."""
    found = []
    for here, dirs, files in os.walk(folder):
        rel = Path(here).relative_to(folder)
        for name in [d for d in dirs if d.startswith(".")]:
            report.skipped[(rel / name).as_posix() + "/"] = "hidden"
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # never walk into .git
        for name in files:
            key = (rel / name).as_posix()
            if name.startswith("."):
                report.skipped[key] = "hidden"
            else:
                found.append(key)
    return sorted(found)


def _sniff(folder: Path, name: str) -> str | None:
    """Why one file of a folder stays out before it is read whole (binary, wrong type), or None."""
    with open(folder / name, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head[:2] in UTF16_BOMS:
        return "UTF-16"
    if binary_reason(head):
        return "binary"
    if Path(name).suffix.lower() not in TEXT_SUFFIXES:
        return "not a text file type"
    return None


def text_reason(data: bytes, name: str) -> tuple[str | None, str]:
    """(why the file is skipped or None, its cleaned text)."""
    if binary_reason(data):  # a NUL past the first 8 KB that the sniff saw
        return "binary", ""
    try:
        text = clean_text(data, name)
    except CorpusError:
        return "not UTF-8", ""
    if not text.strip():
        return "empty", text
    if table_share(text) > MAX_TABLE_SHARE:
        return "numeric table", text
    return None, text


def _read_folder(folder: Path, max_bytes: int) -> CorpusReport:
    report, blocks, total = CorpusReport(""), [], 0
    for name in _folder_files(folder, report):
        reason = _sniff(folder, name)
        if reason is None:
            total += (folder / name).stat().st_size
            if total > max_bytes:
                raise CorpusError(f"{folder} holds more than {max_bytes:,} bytes of text; use a smaller folder")
            reason, text = text_reason((folder / name).read_bytes(), name)
        if reason:
            report.skipped[name] = reason
        else:
            blocks.append(file_block(name, text))
            report.files_used.append(name)
    if not blocks:
        found = f"found {len(report.skipped)}: {report.skipped_counts()}" if report.skipped else "it is empty"
        raise CorpusError(f"{folder} has no usable text files ({found}); give UTF-8 text or source files")
    report.text = "".join(blocks)
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
