"""Wall-clock marks of script runs, of where they start sampling and of their first tokens, for
bench/bench_load.py to split a click's wait for its first token into the server's part and the
browser's part.

Off (a no-op) unless the server was started with RNNLM_TIMING_TRACE naming a file: each mark is
then one JSON line appended to it, {"event", "t" (time.time()), ...}. The bench's browsers run on
the server's machine, so their Date.now() and these times share one clock.
"""

from __future__ import annotations

import json
import os
import threading
import time

_LOCK = threading.Lock()  # sessions' script threads mark at once: whole lines, never interleaved


def mark(event: str, **fields) -> None:
    path = os.environ.get("RNNLM_TIMING_TRACE")
    if not path:
        return
    line = json.dumps({"event": event, "t": time.time(), **fields})
    with _LOCK, open(path, "a", encoding="utf-8") as sink:
        sink.write(line + "\n")


def read(path: str) -> list[dict]:
    """The marks in a trace file, in the order they were made."""
    try:
        with open(path, encoding="utf-8") as source:
            return [json.loads(line) for line in source if line.strip()]
    except FileNotFoundError:
        return []
