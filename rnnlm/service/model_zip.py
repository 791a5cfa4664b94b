"""A model folder as a zip: a user downloads it from the service and uploads it again later.

    data = model_zip_bytes(folder)                      # bytes for st.download_button
    lm = import_model_zip(data, session_folder / "m1")  # validated LanguageModel, or CheckpointError

The zip is flat: model.safetensors, config.json, tokenizer.json (+ tokenizer.model for
word models) and card.md if present. An upload may hold only those names (no folders,
no other files), every size is bounded before and while writing, and the written folder
must pass rnnlm.checkpoint.load_model (checksums, shapes, dimension limits) before it
replaces the destination. Nothing from the zip is executed or unpickled.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import CONFIG_FILE, MAX_CONFIG_BYTES, WEIGHTS_FILE, atomic_folder, load_model, read_config
from ..errors import CheckpointError
from ..language_model import LanguageModel
from ..tokenizers import SENTENCEPIECE_FILE, TOKENIZER_FILE

CARD_FILE = "card.md"
MB = 1 << 20  # a mebibyte (MiB): every size here and in its messages is in MiB
# Per-file ceilings; the weights' own ceiling is ModelZipLimits.max_weights_bytes.
FILE_LIMITS = {CONFIG_FILE: MAX_CONFIG_BYTES, TOKENIZER_FILE: 16 * MB, SENTENCEPIECE_FILE: 16 * MB,
               CARD_FILE: 1 * MB}
ALLOWED_FILES = (WEIGHTS_FILE, CONFIG_FILE, TOKENIZER_FILE, SENTENCEPIECE_FILE, CARD_FILE)
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the same model always gives the same zip bytes
CHUNK = 1 * MB
HOW_TO_FIX = "upload a model zip downloaded from this playground, unchanged"


@dataclass(frozen=True)
class ModelZipLimits:
    max_weights_bytes: int = 256 * MB  # 64M float32 parameters: far above any model trainable here
    max_zip_bytes: int = 256 * MB  # the uploaded zip itself (FinetuneSettings.model_zip_mb on the page)
    max_ratio: float = 50.0  # float weights barely compress; a zip of zeros is a bomb or a fake


def model_zip_bytes(folder: Path | str) -> bytes:
    """The model folder's files as zip bytes (deterministic: same files, same bytes)."""
    folder = Path(folder)
    config = read_config(folder)
    names = [CONFIG_FILE, *sorted(config["files"])] + ([CARD_FILE] if (folder / CARD_FILE).is_file() else [])
    unexpected = sorted(set(names) - set(ALLOWED_FILES))
    if unexpected:
        raise CheckpointError(f"{folder} lists files {unexpected} that a model zip cannot carry")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            if not (folder / name).is_file():
                raise CheckpointError(f"{folder} is missing {name}; it is not a complete model folder")
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(info, (folder / name).read_bytes())
    return buffer.getvalue()


def _entries(data: bytes) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise CheckpointError(f"the upload is not a zip archive; {HOW_TO_FIX}") from None
    return archive, archive.infolist()


def _check_entries(entries: list[zipfile.ZipInfo], limits: ModelZipLimits) -> None:
    """Names, duplicates, compression and declared sizes, before anything is expanded."""
    names = [e.filename for e in entries]
    unknown = sorted(n for n in names if n not in ALLOWED_FILES)  # folders, '../x', extra files
    if unknown:
        shown = ", ".join(repr(n[:60]) for n in unknown[:5])
        raise CheckpointError(f"the zip holds unexpected entries ({shown}); a model zip holds only "
                              f"{', '.join(ALLOWED_FILES)} at its top level; {HOW_TO_FIX}")
    if len(set(names)) != len(names):
        raise CheckpointError(f"the zip holds the same file twice; {HOW_TO_FIX}")
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if name not in names:
            raise CheckpointError(f"the zip has no {name}; {HOW_TO_FIX}")
    for entry in entries:
        limit = FILE_LIMITS.get(entry.filename, limits.max_weights_bytes)
        if entry.flag_bits & 0x1 or entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(f"{entry.filename} in the zip is encrypted or uses an unsupported compression")
        if entry.file_size > limit:
            raise CheckpointError(f"{entry.filename} in the zip is {entry.file_size / MB:,.1f} MiB; "
                                  f"the limit is {limit / MB:,.1f} MiB")
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > MB and ratio > limits.max_ratio:
            raise CheckpointError(f"{entry.filename} in the zip expands {ratio:,.0f} times: refused (zip bomb?)")


def _extract(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, folder: Path) -> None:
    """Stream one entry to folder/<its allowed name>, never past its declared size."""
    written = 0
    try:
        with archive.open(entry) as source, open(folder / entry.filename, "wb") as target:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > entry.file_size:  # zipfile truncates too; this does not rely on it
                    raise CheckpointError(f"{entry.filename} expands past its declared size: refused")
                target.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:  # zlib.error: a corrupt deflate stream
        raise CheckpointError(f"{entry.filename} in the zip is damaged ({exc}); {HOW_TO_FIX}") from None


def _check_card(folder: Path) -> None:
    card = folder / CARD_FILE
    if card.is_file():
        try:
            card.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CheckpointError(f"{CARD_FILE} in the zip is not UTF-8 text; {HOW_TO_FIX}") from None


def _check_listed(folder: Path, names: list[str]) -> None:
    """Every file besides config.json and the card must be one config.json vouches for (by sha256)."""
    listed = set(read_config(folder)["files"])
    extra = sorted(set(names) - listed - {CONFIG_FILE, CARD_FILE})
    if extra:
        raise CheckpointError(f"the zip holds {extra}, which its {CONFIG_FILE} does not list; {HOW_TO_FIX}")


def import_model_zip(data: bytes, destination: Path | str, name: str | None = None,
                     limits: ModelZipLimits = ModelZipLimits()) -> LanguageModel:
    """Unpack a model zip into destination (replacing it) once it validates; the loaded model."""
    destination = Path(destination)
    if len(data) > limits.max_zip_bytes:
        raise CheckpointError(f"the zip is {len(data) / MB:,.1f} MiB; this server takes model zips up to "
                              f"{limits.max_zip_bytes / MB:,.1f} MiB")
    archive, entries = _entries(bytes(data))
    with archive:
        _check_entries(entries, limits)
        # atomic_folder drops the staging folder if anything below raises: a refused upload
        # leaves nothing behind and never half-replaces an earlier model at destination.
        with atomic_folder(destination) as staging:
            try:
                for entry in entries:
                    _extract(archive, entry, staging)
                _check_listed(staging, [e.filename for e in entries])
                _check_card(staging)
                lm = load_model(staging, name=name or destination.name)  # checksums, shapes, limits
            except CheckpointError as exc:  # server paths mean nothing to the person uploading
                raise CheckpointError(str(exc).replace(f"{staging}/", "").replace(str(staging), "the zip")) from None
    lm.path = destination
    return lm
