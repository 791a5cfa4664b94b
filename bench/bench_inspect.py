"""Inspector speed: trace of 2000 tokens (all states and gates) and the cell search.

    python bench/bench_inspect.py [--model NAME]   (default: a random 2x512 char LSTM)

Prints figures; asserts nothing (targets: trace <= 1.5 s, search over 20k chars <= 3 s).
"""

import argparse
import time

from bench_core import CORPUS, random_model

from rnnlm import load
from rnnlm.interpret import gate_saturation, search_cells, trace_text
from rnnlm.runtime import configure_threads


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    args = parser.parse_args()
    configure_threads()
    lm = load(args.model) if args.model else random_model()
    text = CORPUS.read_text(encoding="utf-8")
    trace_text(lm, text[:200])  # warm up
    trace, seconds = timed(trace_text, lm, text[:2000] if lm.level == "char" else text[:6000])
    print(f"{lm.name}: trace of {len(trace.token_ids)} tokens (all states and gates): {seconds:.2f} s (target <= 1.5)")
    long_trace, _ = timed(trace_text, lm, text[:20000])
    matches, seconds = timed(search_cells, long_trace)
    print(f"cell search over 20,000 chars ({len(long_trace.token_ids)} tokens, every layer and feature): "
          f"{seconds:.2f} s (target <= 3)")
    _, seconds = timed(gate_saturation, long_trace)
    print(f"gate saturation over the same trace: {seconds:.3f} s")
    for m in matches[:5]:
        print(f"  layer {m.layer} unit {m.unit:4d} r={m.correlation:+.2f}  {m.feature}")


if __name__ == "__main__":
    main()
