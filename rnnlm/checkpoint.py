"""A model is a folder: model.safetensors + config.json + tokenizer files. No pickle.

Loading checks everything before allocating: config fields and bounds, every file's
size and sha256 (recorded at save time, so truncation and tampering are caught), and the
safetensors header's tensor names, dtypes and shapes against what the config implies.
Any failure is a CheckpointError saying what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .errors import CheckpointError
from .language_model import LanguageModel
from .model import RNNLM, ModelConfig
from .tokenizers import load_tokenizer

FORMAT = "rnnlm-model"
VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
MAX_CONFIG_BYTES = 1 << 20
MAX_FILE_BYTES = 2 << 30
TOP_LEVEL_FIELDS = {"format", "version", "model", "tokenizer", "files", "training"}
STORAGE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SAFETENSORS_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _weights_to_store(net: RNNLM, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    tensors = {name: t.detach().to(dtype).contiguous() for name, t in net.state_dict().items()}
    if net.config.tie_weights:
        del tensors["head.weight"]  # the same tensor as embedding.weight; stored once
    return tensors


@contextmanager
def atomic_folder(folder: Path | str):
    """Yield a staging folder; on success it replaces `folder` in one rename, so a crash
    (even SIGKILL) leaves either the old folder or the new one, never half of each."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging.", dir=folder.parent))
    try:
        yield staging
        # mkdtemp makes a private (0700) folder; a model folder is meant to be shared.
        os.chmod(staging, 0o755)
        for path in staging.iterdir():
            os.chmod(path, 0o644)
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_stale_staging(parent: Path | str) -> list[str]:
    """Delete the staging folders atomic_folder left in `parent` when its process was killed
    mid-write (its own finally never ran); the names removed. Call it only while nothing is
    writing into `parent`: a run at its start and its end, say."""
    removed = []
    for path in Path(parent).glob(".*.staging.*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return sorted(removed)


def write_model_files(net: RNNLM, tokenizer, folder: Path, training: dict | None = None,
                      storage_dtype: str = "float32") -> None:
    """Weights, tokenizer and config.json (with every file's sha256) into an existing folder."""
    save_file(_weights_to_store(net, STORAGE_DTYPES[storage_dtype]), str(folder / WEIGHTS_FILE))
    written = [WEIGHTS_FILE] + tokenizer.save(folder)
    config = {
        "format": FORMAT, "version": VERSION,
        "model": net.config.to_dict(),
        "tokenizer": {"kind": tokenizer.kind},
        "files": {name: sha256_of(folder / name) for name in written},
        "training": training or {},
    }
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def save_model(net: RNNLM, tokenizer, folder: Path | str, training: dict | None = None,
               storage_dtype: str = "float32") -> Path:
    """Write a model folder atomically."""
    with atomic_folder(folder) as staging:
        write_model_files(net, tokenizer, staging, training, storage_dtype)
    return Path(folder)


def read_config(folder: Path) -> dict:
    path = folder / CONFIG_FILE
    if not folder.is_dir():
        raise CheckpointError(f"{folder} is not a model folder (no such directory)")
    if not path.is_file():
        raise CheckpointError(f"{folder} has no {CONFIG_FILE}: not a model folder")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{path} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested 1000s deep
        raise CheckpointError(f"{path} is not valid JSON ({exc}); the folder may be truncated") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} must hold a JSON object")
    unknown = sorted(set(config) - TOP_LEVEL_FIELDS)
    missing = sorted(TOP_LEVEL_FIELDS - set(config))
    if unknown or missing:
        raise CheckpointError(f"{path}: unknown fields {unknown}, missing fields {missing}")
    if config["format"] != FORMAT or config["version"] != VERSION:
        raise CheckpointError(f"{path}: format {config['format']!r} v{config['version']!r} is not {FORMAT!r} v{VERSION}")
    not_objects = [field for field in ("model", "tokenizer", "training", "files") if not isinstance(config[field], dict)]
    if not_objects:
        raise CheckpointError(f"{path}: {', '.join(map(repr, not_objects))} must be JSON objects")
    return config


def _check_files(folder: Path, recorded: dict) -> None:
    if WEIGHTS_FILE not in recorded:
        raise CheckpointError(f"{folder}/{CONFIG_FILE} does not list {WEIGHTS_FILE}")
    for name, expected in recorded.items():
        path = folder / name
        if "/" in name or "\\" in name or name.startswith("."):
            raise CheckpointError(f"{folder}: file name {name!r} is not allowed")
        if not path.is_file():
            raise CheckpointError(f"{folder} is missing {name}")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CheckpointError(f"{path} is larger than {MAX_FILE_BYTES >> 30} GiB")
        if sha256_of(path) != expected:
            raise CheckpointError(f"{path} does not match the checksum in {CONFIG_FILE}: "
                                  "the file is truncated or was modified; restore or re-download the model")


def _read_weights(path: Path, config: ModelConfig) -> dict[str, torch.Tensor]:
    expected = config.parameter_shapes()
    try:
        with safe_open(str(path), framework="pt") as handle:
            names = set(handle.keys())
            if names != set(expected):
                raise CheckpointError(f"{path}: tensors {sorted(names ^ set(expected))} do not match the config")
            for name in names:
                sliced = handle.get_slice(name)
                shape, dtype = tuple(sliced.get_shape()), sliced.get_dtype()
                if shape != expected[name]:
                    raise CheckpointError(f"{path}: {name} has shape {shape}, the config implies {expected[name]}")
                if dtype not in SAFETENSORS_DTYPES:
                    raise CheckpointError(f"{path}: {name} has dtype {dtype}; allowed: {sorted(SAFETENSORS_DTYPES)}")
            weights = {name: handle.get_tensor(name).to(torch.float32) for name in names}
    except SafetensorError as exc:
        raise CheckpointError(f"{path} is not a valid safetensors file ({exc})") from None
    _check_finite(path, weights)
    return weights


# The shipped models' weights stay under 6 in magnitude; a weight beyond this is not a trained
# model, and it overflows: 1e30 makes the forward pass infinite and then NaN, which reaches the
# user as "nan" figures, a crashed page or "zzzz" samples. Refused at load, everywhere.
MAX_ABS_WEIGHT = 1e4


def _check_finite(path: Path, weights: dict[str, torch.Tensor]) -> None:
    not_finite = sorted(name for name, tensor in weights.items() if not torch.isfinite(tensor).all())
    huge = sorted(name for name, tensor in weights.items()
                  if name not in not_finite and tensor.numel() and tensor.abs().max().item() > MAX_ABS_WEIGHT)
    if not_finite or huge:
        what = (f"{', '.join(not_finite)} hold NaN or infinite values" if not_finite else
                f"{', '.join(huge)} hold values beyond {MAX_ABS_WEIGHT:g} in magnitude")
        raise CheckpointError(f"{path}: {what}, so the model cannot give real probabilities (a run that diverged, "
                              "or a damaged file); use an earlier checkpoint of the run, or retrain it")


def load_model(folder: Path | str, name: str | None = None) -> LanguageModel:
    """Load and validate a model folder; runs no code from it."""
    folder = Path(folder)
    config = read_config(folder)
    model_config = ModelConfig.from_dict(config["model"])
    _check_files(folder, config["files"])
    tokenizer = load_tokenizer(folder)
    if tokenizer.kind != config["tokenizer"].get("kind"):
        raise CheckpointError(f"{folder}: tokenizer files are {tokenizer.kind!r}, config says {config['tokenizer']!r}")
    if tokenizer.vocab_size != model_config.vocab_size:
        raise CheckpointError(f"{folder}: tokenizer has {tokenizer.vocab_size} tokens, "
                              f"the model config has vocab_size {model_config.vocab_size}")
    weights = _read_weights(folder / WEIGHTS_FILE, model_config)
    net = RNNLM(model_config)
    if model_config.tie_weights:
        weights["head.weight"] = weights["embedding.weight"]
    net.load_state_dict(weights, strict=True)
    if model_config.tie_weights:
        net.head.weight = net.embedding.weight
    return LanguageModel(name=name or folder.name, net=net, tokenizer=tokenizer, metadata=config["training"], path=folder)
