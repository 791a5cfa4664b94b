"""`python -m rnnlm learn ...`: the Learn page's measurements from the command line.

    python -m rnnlm learn gradient-flow --model shakespeare-char-lstm --model shakespeare-char-rnn FILE
    python -m rnnlm learn memory --model shakespeare-char-lstm FILE
    python -m rnnlm learn clipping FILE [--steps 300 --lr 3 --threshold 1 --seed 0]
    python -m rnnlm learn handset [--cell gru] [--inputs "3,1,0 4,1,0 2,0,0"]

Each prints a table, or one JSON object with --json.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict

from ..errors import RnnlmError
from ..zoo import load
from .clipping import ClippingSettings, clipping_experiment
from .gradient_flow import gradient_flow
from .handset import GRU_INPUTS, LECTURE_INPUTS, HandSetGRU, HandSetLSTM
from .memory import DEFAULT_CONTEXTS, effective_memory


def add_learn_command(commands) -> None:
    learn = commands.add_parser("learn", help="the Learn page's lessons: gradient flow, memory, clipping, hand-set cells")
    lessons = learn.add_subparsers(dest="lesson", required=True, parser_class=type(learn))
    flow = lessons.add_parser("gradient-flow", help="gradient norm of log p(token) against steps back")
    flow.add_argument("--model", action="append", required=True, help="repeatable: one curve per model")
    flow.add_argument("file", help="UTF-8 text file ('-' for stdin)")
    flow.add_argument("--max-lag", type=int, default=100)
    flow.add_argument("--positions", type=int, default=64)
    memory = lessons.add_parser("memory", help="loss when the context is cut to k tokens")
    memory.add_argument("--model", action="append", required=True)
    memory.add_argument("file")
    memory.add_argument("--contexts", default=",".join(map(str, DEFAULT_CONTEXTS)), help="comma-separated k")
    memory.add_argument("--positions", type=int, default=128)
    clip = lessons.add_parser("clipping", help="train a small plain RNN with and without gradient clipping")
    clip.add_argument("file")
    defaults = ClippingSettings()
    for name in ("steps", "hidden", "window", "batch", "seed"):
        clip.add_argument(f"--{name}", type=int, default=getattr(defaults, name))
    for name in ("lr", "recurrent_scale", "threshold"):
        clip.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name))
    handset = lessons.add_parser("handset", help="the lecture's hand-set LSTM (or a GRU) stepped through inputs")
    handset.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    handset.add_argument("--inputs", help='steps as "x1,x2,x3 x1,x2,x3 ..." (default: the lecture\'s)')
    for parser in (flow, memory, clip, handset):
        parser.add_argument("--json", action="store_true")


def run_learn(args, read_text: Callable[[str], str]) -> None:
    {"gradient-flow": _run_flow, "memory": _run_memory, "clipping": _run_clipping,
     "handset": _run_handset}[args.lesson](args, read_text)


def _run_flow(args, read_text) -> None:
    text = read_text(args.file)
    curves = {}
    for name in args.model:
        lm = load(name)
        curves[lm.name] = gradient_flow(lm.net, lm.tokenizer.encode(text), args.max_lag, args.positions)
    if args.json:
        print(json.dumps({name: asdict(c) | {"reach_1_percent": c.reach()} for name, c in curves.items()}))
        return
    lags = [k for k in (0, 1, 2, 5, 10, 20, 50, 100, 200, 400) if k <= args.max_lag]
    print("gradient norm relative to k = 0, by steps back k")
    print(f"{'model':28}" + "".join(f"{'k=' + str(k):>10}" for k in lags) + f"{'1% at':>8}")
    for name, curve in curves.items():
        relative = curve.relative()
        reach = curve.reach()
        print(f"{name:28}" + "".join(f"{relative[k]:>10.2e}" for k in lags) + f"{reach if reach is not None else '-':>8}")


def _run_memory(args, read_text) -> None:
    text = read_text(args.file)
    try:
        contexts = [int(k) for k in args.contexts.split(",")]
    except ValueError:
        raise RnnlmError(f"--contexts takes whole numbers separated by commas, not {args.contexts!r}") from None
    curves = {}
    for name in args.model:
        lm = load(name)
        curves[lm.name] = effective_memory(lm.net, lm.tokenizer.encode(text), contexts, args.positions)
    if args.json:
        print(json.dumps({name: asdict(c) for name, c in curves.items()}))
        return
    print("nats per token when the model reads only the last k tokens (full: the whole text before)")
    first = next(iter(curves.values()))
    print(f"{'model':28}" + "".join(f"{'k=' + str(k):>9}" for k in first.contexts) + f"{'full':>9}")
    for name, curve in curves.items():
        print(f"{name:28}" + "".join(f"{v:>9.3f}" for v in curve.nats_per_token) + f"{curve.full_nats_per_token:>9.3f}")


def _run_clipping(args, read_text) -> None:
    settings = ClippingSettings(steps=args.steps, hidden=args.hidden, window=args.window, batch=args.batch,
                                seed=args.seed, lr=args.lr, recurrent_scale=args.recurrent_scale,
                                threshold=args.threshold)
    plain, clipped = clipping_experiment(read_text(args.file), settings)
    if args.json:
        print(json.dumps({"settings": asdict(settings), "without_clipping": asdict(plain),
                          "with_clipping": asdict(clipped)}))
        return
    for run in (plain, clipped):
        label = f"clipped at {settings.threshold:g}" if run.clipped else "not clipped"
        ending = f"diverged at step {run.diverged_at}" if run.diverged_at is not None else \
            f"last 20 steps {run.final_loss:.3f} nats/char"
        print(f"{label:18} largest gradient norm {max(run.grad_norms):.3g}, {len(run.spikes())} spikes, {ending}")


def _run_handset(args, _read_text) -> None:
    cell = HandSetLSTM() if args.cell == "lstm" else HandSetGRU()
    inputs = _parse_inputs(args.inputs) if args.inputs else (LECTURE_INPUTS if args.cell == "lstm" else GRU_INPUTS)
    rows = cell.run(inputs)
    if args.json:
        print(json.dumps(rows))
        return
    columns = list(rows[0])
    print("".join(f"{c:>14}" for c in columns))
    for row in rows:
        print("".join(f"{row[c]:>14.4f}" for c in columns))


def _parse_inputs(text: str) -> list[tuple[float, ...]]:
    try:
        return [tuple(float(v) for v in step.split(",")) for step in text.split()]
    except ValueError:
        raise RnnlmError(f'--inputs takes steps like "3,1,0 4,1,0", not {text!r}') from None

