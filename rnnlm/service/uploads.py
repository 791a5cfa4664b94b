"""Uploaded training text: files (text, source, or a .zip of them) and pasted text, validated.

The fine-tune page hands over what the browser sent and shows the report:

    from .uploads import read_uploads, read_files, with_pasted
    report = read_uploads([("novel.txt", data), ("code.zip", more)], pasted="")
    report.text, report.chars, report.lines, report.files_used, report.skipped, report.charset
    files = read_files(uploaded)             # the files' text once (their bytes can then go) ...
    report = with_pasted(files, pasted)      # ... joined with pasted text that may change later

How much of it a base model has never seen: rnnlm.service.vocabulary_fit.

Files that cannot be used are skipped with a reason; an upload with nothing usable, a
zip bomb, a corrupt zip or a zip with no text raises CorpusError saying what to do.
File names come from the browser: they are labels only (never paths), shortened and
with control and bidi characters replaced; the page still escapes them.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..corpus import TEXT_SUFFIXES, UTF16_BOMS, text_reason
from ..errors import CorpusError

MB = 1 << 20  # a mebibyte: sizes here, their messages ("MiB") and the settings use it
MAX_LABEL_CHARS = 120
READ_CHUNK = 64 << 10
# Entries this small cannot make a bomb whatever their ratio (a file of one repeated
# character compresses 1000x); above it, text compresses at most ~10-50x.
RATIO_FLOOR_BYTES = 1 * MB
# bzip2 and LZMA members are decompressed by zipfile without an output bound, so a few KB
# could expand to gigabytes before a byte count could stop them: only these are read.
SAFE_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


@dataclass(frozen=True)
class UploadLimits:
    max_text_bytes: int = 20 * MB  # text kept from all files and pasted text together
    max_zip_entries: int = 2000
    max_zip_expanded_bytes: int = 100 * MB  # declared and actually read, all entries of one zip
    max_zip_ratio: float = 100.0  # expanded / compressed size of one entry (above RATIO_FLOOR_BYTES)


@dataclass(frozen=True)
class SkippedFile:
    name: str  # a label for display, never a path
    reason: str  # "binary", "not UTF-8", "too large", "not a text file type", ...


@dataclass
class UploadReport:
    text: str
    files_used: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    charset: str = ""  # every distinct character of text, sorted
    used_bytes: int = 0  # UTF-8 bytes of the sources text was made of: what counts against the budget

    @property
    def chars(self) -> int:
        return len(self.text)

    @property
    def lines(self) -> int:
        return self.text.count("\n") + (1 if self.text and not self.text.endswith("\n") else 0)

    def skipped_counts(self) -> str:
        """'1 binary, 2 not UTF-8'."""
        return ", ".join(f"{n} {why}" for why, n in sorted(Counter(s.reason for s in self.skipped).items()))

    def summary(self) -> str:
        used = len(self.files_used)
        text = f"{self.chars:,} characters, {self.lines:,} lines from {used} source{'s' * (used != 1)}"
        return f"{text}; {len(self.skipped)} skipped ({self.skipped_counts()})" if self.skipped else text


def label(name: object) -> str:
    """A browser-supplied name made safe to show: no control or bidi-override characters, short."""
    text = "".join("?" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in str(name))
    return text if len(text) <= MAX_LABEL_CHARS else text[:MAX_LABEL_CHARS - 1] + "…"


def text_or_reason(data: bytes, label_text: str) -> tuple[str | None, str]:
    """(why the file stays out, or None; its cleaned text). Same rules as corpus folders."""
    if data[:2] in UTF16_BOMS:  # before the binary check: UTF-16 is full of NULs
        return "UTF-16 (save it as UTF-8)", ""
    return text_reason(data, label_text)


def _suffix_reason(name: str) -> str | None:
    """Why a file is not read at all, judged by its name alone."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts or name.startswith(("/", "\\")):  # never used as a path, but no honest zip has one
        return "unsafe path"
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return "hidden or system file"
    suffix = PurePosixPath(parts[-1] if parts else "").suffix.lower()
    if suffix == ".zip":
        return "zip inside a zip (not opened)"
    if suffix not in TEXT_SUFFIXES:
        return "not a text file type"
    return None


class _Collector:
    """Accumulates texts under the byte budget, and the report."""

    def __init__(self, limits: UploadLimits):
        self.limits, self.texts, self.used_bytes = limits, [], 0
        self.report = UploadReport("")

    def room(self) -> int:
        return self.limits.max_text_bytes - self.used_bytes

    def skip(self, name: str, reason: str) -> None:
        self.report.skipped.append(SkippedFile(name, reason))

    def too_large(self, name: str) -> None:
        self.skip(name, f"too large (over the {self.limits.max_text_bytes / MB:g} MiB limit for all text)")

    def add(self, name: str, data: bytes) -> bool:
        """Keep the file's text if it is usable; True if it was."""
        if len(data) > self.room():
            self.too_large(name)
            return False
        reason, text = text_or_reason(data, name)
        if reason:
            self.skip(name, reason)
            return False
        self.texts.append(text)
        self.used_bytes += len(data)
        self.report.files_used.append(name)
        return True


def _open_zip(data: bytes, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise CorpusError(f"{name} is not a valid zip archive (damaged or incomplete download?); "
                          "upload it again or upload the text files themselves") from None


def _check_zip_declared(archive: zipfile.ZipFile, name: str, limits: UploadLimits) -> None:
    """Refuse a zip bomb from its directory alone, before anything is decompressed."""
    entries = archive.infolist()
    if len(entries) > limits.max_zip_entries:
        raise CorpusError(f"{name} holds {len(entries):,} entries; the limit is {limits.max_zip_entries:,}: "
                          "zip fewer files")
    declared = sum(e.file_size for e in entries)
    if declared > limits.max_zip_expanded_bytes:
        raise CorpusError(f"{name} would expand to {declared / MB:,.0f} MiB; the limit is "
                          f"{limits.max_zip_expanded_bytes / MB:,.0f} MiB: refused (zip bomb?); zip less text")
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_zip_ratio:
            raise CorpusError(f"{name}: an entry expands {ratio:,.0f} times (the limit is "
                              f"{limits.max_zip_ratio:,.0f}): refused as a zip bomb")


def _read_member(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int, name: str) -> bytes:
    """The entry's bytes, counted while reading so a header that lies about the size cannot
    make us hold more than it declared or more than the zip's remaining budget."""
    cap = min(entry.file_size, budget)
    chunks, total = [], 0
    with archive.open(entry) as handle:
        while chunk := handle.read(READ_CHUNK):
            total += len(chunk)
            if total > cap:
                raise CorpusError(f"{name} expands to more than it declares or than the limit allows: "
                                  "refused (zip bomb?)")
            chunks.append(chunk)
    return b"".join(chunks)


def _member_reason(entry: zipfile.ZipInfo) -> str | None:
    if entry.flag_bits & 0x1:
        return "encrypted"
    if entry.compress_type not in SAFE_COMPRESSION:
        return "unsupported compression (re-zip with the default 'deflate')"
    return _suffix_reason(entry.filename)


def _add_zip(collector: _Collector, data: bytes, zip_name: str) -> None:
    limits = collector.limits
    archive = _open_zip(data, zip_name)
    with archive:
        _check_zip_declared(archive, zip_name, limits)
        expanded, used, skipped_before = 0, 0, len(collector.report.skipped)
        for entry in archive.infolist():
            if entry.is_dir():
                continue
            name = label(f"{zip_name}: {entry.filename}")
            reason = _member_reason(entry)
            if reason is None and entry.file_size > collector.room():
                collector.too_large(name)
                continue
            if reason:
                collector.skip(name, reason)
                continue
            try:
                member = _read_member(archive, entry, limits.max_zip_expanded_bytes - expanded, zip_name)
            except (zipfile.BadZipFile, EOFError, OSError, ValueError):
                collector.skip(name, "damaged in the zip (CRC error)")
                continue
            expanded += len(member)
            used += collector.add(name, member)
    if not used:
        mine = UploadReport("", skipped=collector.report.skipped[skipped_before:])
        raise CorpusError(f"{zip_name} holds no usable text files ({mine.skipped_counts() or 'no files'}); "
                          "zip UTF-8 .txt, .md or source files")


def _joined(texts: list[str]) -> str:
    """One document per file, separated by a blank line; a single text is kept as it is."""
    if len(texts) <= 1:
        return texts[0] if texts else ""
    return "\n".join(t if t.endswith("\n") else t + "\n" for t in texts)


def read_files(files: Iterable[tuple[str, bytes]] = (), limits: UploadLimits = UploadLimits()) -> UploadReport:
    """The files' cleaned text (maybe "": all skipped) and report; the bytes are not kept."""
    collector = _Collector(limits)
    for raw_name, data in files:
        name = label(raw_name)
        if PurePosixPath(name).suffix.lower() == ".zip":
            _add_zip(collector, bytes(data), name)
            continue
        reason = _suffix_reason(name)
        if reason:
            collector.skip(name, reason)
        else:
            collector.add(name, bytes(data))
    collector.report.text, collector.report.used_bytes = _joined(collector.texts), collector.used_bytes
    return collector.report


def with_pasted(files: UploadReport, pasted: str = "", limits: UploadLimits = UploadLimits()) -> UploadReport:
    """One training text: read_files' text, then the pasted text, within the one budget."""
    collector = _Collector(limits)
    collector.report.files_used, collector.report.skipped = list(files.files_used), list(files.skipped)
    if files.text:
        collector.texts, collector.used_bytes = [files.text], files.used_bytes
    if pasted and pasted.strip():
        collector.add("pasted text", pasted.encode("utf-8"))
    return _finish(collector)


def read_uploads(files: Iterable[tuple[str, bytes]] = (), pasted: str = "",
                 limits: UploadLimits = UploadLimits()) -> UploadReport:
    """Validate and clean uploaded files and pasted text into one training text."""
    return with_pasted(read_files(files, limits), pasted, limits)


def _finish(collector: _Collector) -> UploadReport:
    report = collector.report
    if not collector.texts:
        if not report.skipped:
            raise CorpusError("nothing was uploaded: choose .txt, .md or source files, a .zip of them, "
                              "or paste some text")
        raise CorpusError(f"none of the uploaded text can be used ({report.skipped_counts()}); upload "
                          "UTF-8 text files (.txt, .md, source code) or paste text")
    report.text, report.used_bytes = _joined(collector.texts), collector.used_bytes
    report.charset = "".join(sorted(set(report.text)))
    return report
