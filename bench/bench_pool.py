"""Server-side half of the load bench: N generations at once, on their own threads vs the sampling pool.

    python bench/bench_pool.py [--sessions 8] [--tokens 2000] [--job-seconds 0] [--skip-threads]
                               [--switch-interval 0.005]

No browser: each "session" is a thread that samples one Request from shakespeare-char-lstm and
redraws its streaming HTML as the page does (the text so far, rendered). Two ways:
  threads  each session samples on its own thread, redrawing every 0.06 s (the playground
           before the sampling pool: every Streamlit script thread sampled for itself);
  pool     playground.widgets.generation.run: sampling in rnnlm.service.sampling_pool, the
           session thread waits and redraws at most every 0.25 s.
Prints per way: each session's first-token and completion times (p50/p95/max), one session
alone (idle), and the target 1.5 x (N / cores) x idle; with --job-seconds, a fine-tune of the
same model runs in rnnlm.service.jobs.JobManager meanwhile, as on the Fine-tune page.
The texts are checked to be identical both ways. Then:
  arrivals  N sessions arriving at once on the shipped defaults (300 tokens), each sampling for
            itself vs shared=True (sampled once, rnnlm.service.arrival_cache): completion times
            and CPU-seconds of the process; the texts are checked to be identical;
  render    what a finished result costs the page's script thread (GIL-bound): the coloured
            tokens HTML, the chart's figure and its JSON, for one of the N texts.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from bench_train import gemm_peak_flops

import rnnlm
from playground.request import Request
from playground.resources import configure_threads_once
from playground.widgets import charts, generation
from playground.widgets import token_html as render
from rnnlm.sampling import generate
from rnnlm.service import arrival_cache

ROOT = Path(__file__).resolve().parent.parent
MODEL = "shakespeare-char-lstm"
OLD_REFRESH_SECONDS = 0.06


def on_own_thread(lm, request: Request, redraw) -> list:
    """How a script thread sampled before the pool: the generator on this thread, redrawing
    at the first token and then every OLD_REFRESH_SECONDS."""
    steps, last, first = [], time.perf_counter(), True
    for step in generate(lm, request.prompt, request.settings()):
        steps.append(step)
        now = time.perf_counter()
        if not step.from_prompt and (first or now - last >= OLD_REFRESH_SECONDS):
            redraw(steps)
            last, first = now, False
    return steps


def in_pool(lm, request: Request, redraw) -> list:
    return generation.run(lm, request, redraw).steps


def session(way, lm, request: Request, barrier: threading.Barrier, out: dict, name) -> None:
    times = {"redraws": 0}

    def redraw(steps):
        render.streaming_html(request.prompt, "".join(s.text for s in steps if not s.from_prompt))
        times.setdefault("first", time.perf_counter() - start)
        times["redraws"] += 1

    barrier.wait()
    start = time.perf_counter()
    steps = way(lm, request, redraw)
    times["done"] = time.perf_counter() - start
    out[name] = (times.get("first", times["done"]), times["done"], "".join(s.text for s in steps), times["redraws"])


def run_sessions(way, lm, requests: list[Request], by_index: bool = False) -> dict:
    """Each request's (first token, done, text, redraws), by seed (by_index: by position, for equal requests)."""
    out, barrier = {}, threading.Barrier(len(requests))
    threads = [threading.Thread(target=session, args=(way, lm, r, barrier, out, i if by_index else r.seed))
               for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def start_job(lm, seconds: float):
    from rnnlm.service.job_spec import JobSpec
    from rnnlm.service.jobs import JobManager
    from rnnlm.service.uploads import read_uploads

    text = (ROOT / "pretrained" / "heldout" / "tinyshakespeare.txt").read_bytes()
    manager = JobManager()
    job = manager.submit("bench", JobSpec(read_uploads([("shakespeare.txt", text)]).text, base=lm,
                                          minutes=seconds / 60, prompt="\n", seed=1))
    while manager.snapshot(job).phase != "training":
        time.sleep(0.1)
    return manager, job


def arrivals(lm, count: int) -> None:
    """count sessions arriving at once on the defaults, unshared then shared (a fresh cache)."""
    request = Request(MODEL, "ROMEO:", 0.8, 0, 1.0, 1, 300)
    texts = {}
    for shared in (False, True):
        arrival_cache._shared[:] = [arrival_cache.ArrivalCache()]
        way = functools.partial(generation.run, shared=shared)
        cpu = time.process_time()
        out = run_sessions(lambda lm, r, redraw, way=way: way(lm, r, redraw).steps, lm, [request] * count, by_index=True)
        texts[shared] = {text for _, _, text, _ in out.values()}
        print(f"arrivals {'shared' if shared else 'each   '} N={count}: completion "
              f"{quantiles([d for _, d, _, _ in out.values()])}; {time.process_time() - cpu:.1f} CPU-s")
    print("arrival texts identical, shared or not:", len(texts[False]) == 1 and texts[False] == texts[True])


def render_costs(lm, request: Request) -> None:
    """Seconds of the script thread for one finished result (the best of 3: the GIL-bound work itself)."""
    steps = generation.run(lm, request).steps
    text = request.prompt + "".join(step.text for step in steps if not step.from_prompt)
    labels = render.readable_tokens([step.text for step in steps], text)
    costs = {"tokens HTML": lambda: render.tokens_html(steps, request.prompt),
             "chart spec": lambda: charts.probability_entropy_spec(steps, labels),
             "chart sent": lambda: sent_chart(spec)}
    spec = charts.probability_entropy_spec(steps, labels)
    for name, build in costs.items():
        best = min(timed(build) for _ in range(3))
        print(f"render {name:13} {best:.3f} s for {len(steps):,} steps")
    print(f"render sizes: tokens HTML {len(costs['tokens HTML']()) / 1e3:.0f} kB, chart as sent "
          f"{sent_chart(spec) / 1e3:.0f} kB")


def sent_chart(spec: dict) -> int:
    """What Streamlit does with the spec on the script thread: each dataset to Arrow, the rest to JSON."""
    from streamlit import dataframe_util

    arrow = [dataframe_util.convert_anything_to_arrow_bytes(rows) for rows in spec["datasets"].values()]
    rest = json.dumps({key: value for key, value in spec.items() if key != "datasets"})
    return sum(map(len, arrow)) + len(rest)


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def quantiles(values: list[float]) -> str:
    p95 = statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]
    return f"p50 {statistics.median(values):6.2f}  p95 {p95:6.2f}  max {max(values):6.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--job-seconds", type=float, default=0.0, help="fine-tune meanwhile (0: no job)")
    parser.add_argument("--skip-threads", action="store_true", help="only the pool (not sampling on own threads)")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval: how long a thread may hold the GIL while another waits "
                             "(Python's default 0.005 s)")
    args = parser.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    print(f"GIL switch interval {sys.getswitchinterval() * 1e3:g} ms")
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} usable cores of {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; "
          f"GEMM peak {gemm_peak_flops() / 1e9:.0f} GFLOP/s")
    configure_threads_once()
    lm = rnnlm.load(MODEL).warm_up()
    requests = [Request(MODEL, "ROMEO:", 0.8, 0, 1.0, 101 + i, args.tokens) for i in range(args.sessions)]
    texts = {}
    ways = (("threads", on_own_thread), ("pool", in_pool))
    for name, way in ways[1:] if args.skip_threads else ways:
        idle = min(run_sessions(way, lm, requests[:1])[requests[0].seed][1] for _ in range(2))
        job = start_job(lm, args.job_seconds) if args.job_seconds else None
        out = run_sessions(way, lm, requests)
        if job is not None:
            job[0].cancel(job[1])
            job[0].wait(job[1])
        texts[name] = {seed: text for seed, (_, _, text, _) in out.items()}
        target = 1.5 * args.sessions / cores * idle
        done = [d for _, d, _, _ in out.values()]
        redraws = sum(r for *_, r in out.values()) / len(out)
        print(f"{name:8} N={args.sessions}{' + job' if job else ''}: first token "
              f"{quantiles([f for f, *_ in out.values()])}; {redraws:.0f} redraws per session")
        print(f"{'':8} completion {quantiles(done)}; alone {idle:.2f} s; target {target:.2f} s: "
              f"{sum(d <= target for d in done)}/{len(done)} within")
    if not args.skip_threads:
        print("texts identical both ways:", texts["threads"] == texts["pool"])
    arrivals(lm, args.sessions)
    render_costs(lm, requests[0])


if __name__ == "__main__":
    main()
