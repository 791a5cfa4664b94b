"""Progress lines on stderr for the command line's long passes (scoring a big file, adapting).

One self-rewriting line on a terminal; in a log file, a plain line every LOG_SECONDS (as
python -m train does), since carriage returns make one huge line. A pass that ends within
quiet_seconds prints nothing, so scoring a short file stays a one-line answer.
"""

from __future__ import annotations

import sys
import time


def duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class Progress:
    LOG_SECONDS = 30.0

    def __init__(self, label: str = "adapting", unit: str = "chars", stream=None, width: int = 30,
                 quiet_seconds: float = 0.0):
        self.label, self.unit, self.quiet_seconds = label, unit, quiet_seconds
        self.stream, self.width = stream or sys.stderr, width
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.last_logged = -float("inf")  # a log file gets the first line at once (after the quiet time), and the last
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self.start < self.quiet_seconds:
            return
        if not self.terminal and now - self.last_logged < self.LOG_SECONDS and done < total:
            return
        self.last_logged, self.shown = now, True
        fraction = done / max(total, 1)
        filled = int(self.width * fraction)
        rate = done / max(now - self.start, 1e-9)
        eta = (total - done) / rate if rate > 0 else float("inf")
        line = (f"{self.label} [{'#' * filled}{'-' * (self.width - filled)}] {fraction:4.0%} {done:,}/{total:,} "
                f"{self.unit} {rate:,.0f} {self.unit}/s eta {duration(eta)}")
        self.stream.write(f"\r{line}   " if self.terminal else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.terminal and self.shown:
            self.stream.write("\n")
            self.stream.flush()
        self.shown = False


UNITS = {"reading": "bytes", "scoring": "tokens"}  # what each phase of rnnlm.score_file counts


class PhasedProgress:
    """rnnlm.score_file's on_progress(phase, done, total): one Progress per phase, in turn."""

    def __init__(self, stream=None, quiet_seconds: float = 2.0):
        self.stream, self.quiet_seconds = stream, quiet_seconds
        self.phase, self.current = None, None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase = phase
            self.current = Progress(phase, UNITS.get(phase, "items"), self.stream, quiet_seconds=self.quiet_seconds)
        self.current(done, total)

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
