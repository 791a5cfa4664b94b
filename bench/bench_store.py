"""Time the shared model store: publish a model (copy, fsync, validate, rename) and open it (validate
and load), in a temporary store. Prints the figures docs/DEPLOY.md quotes.

    python bench/bench_store.py                    # the largest shipped model
    python bench/bench_store.py --model c-char-gru --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import rnnlm
from rnnlm.service.model_store import ModelStore
from rnnlm.service.store_files import folder_bytes
from rnnlm.service.store_meta import PublishFacts


def largest_model() -> str:
    return max(rnnlm.read_manifest(), key=lambda entry: entry["parameters"])["name"]


def timed(call, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = call(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a shipped model's name (default: the largest)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    name = args.model or largest_model()
    folder = rnnlm.resolve(name)
    publish_times, again_times, open_times = [], [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as root:
            store = ModelStore(Path(root) / "store")
            facts = PublishFacts(base=name)
            seconds, model_id = timed(store.publish, folder, facts, "bench")
            publish_times.append(seconds)
            again_times.append(timed(store.publish, folder, facts, "bench")[0])
            open_times.append(timed(store.open, model_id)[0])
            size = folder_bytes(store.folder(model_id))
    print(f"model {name}: {size / (1 << 20):.1f} MiB stored, median of {args.repeats}")
    print(f"publish (copy, fsync, validate, rename): {statistics.median(publish_times):.3f} s")
    print(f"publish the same model again (hashes config.json, no copy): {statistics.median(again_times):.3f} s")
    print(f"open (checks, checksums, load): {statistics.median(open_times):.3f} s")


if __name__ == "__main__":
    main()
