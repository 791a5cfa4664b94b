"""Command line: sample from, score with, and list models.

    python -m rnnlm models
    python -m rnnlm sample --model shakespeare-char-lstm --prompt "ROMEO:" --seed 1 [--json]
    python -m rnnlm score --model shakespeare-char-lstm FILE [--json] [--precision auto|float32|bfloat16]
    python -m rnnlm score --model shakespeare-char-lstm FILE --adapt [--adapt-streams 32 --adapt-lr 1e-4 ...]
    python -m rnnlm learn gradient-flow|memory|clipping|handset ...   (see rnnlm/lessons/cli.py)

User mistakes print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from .adapt_settings import MIN_STREAM_TOKENS, WINDOW_BY_LEVEL
from .batched_adapt import what_runs
from .branching import parse_forced
from .clamp import parse_clamps
from .cli_progress import PhasedProgress, Progress
from .corpus import clean_text
from .dynamic_eval import ADAPT_PRECISIONS, RULES, AdaptSettings, adapt_text
from .errors import RnnlmError, SettingsError
from .lessons.cli import add_learn_command, run_learn
from .runtime import configure_threads
from .sampling import SamplingSettings, generate, validate_prompt
from .score_file import score_file
from .scoring import PRECISIONS
from .zoo import load, read_manifest


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the whole usage block
        command = self.prog.split()[1:]  # "rnnlm sample" for a subcommand's parser, "rnnlm" for the top one
        raise RnnlmError(f"{message} (see {' '.join(['python -m rnnlm', *command, '--help'])})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnnlm", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sample = commands.add_parser("sample", help="generate text")
    sample.add_argument("--model", required=True, help="shipped model name or model folder path")
    sample.add_argument("--prompt", default="", help="text the model reads before sampling")
    defaults = SamplingSettings()
    sample.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens)
    sample.add_argument("--temperature", type=float, default=defaults.temperature, help="0 means greedy")
    sample.add_argument("--top-k", type=int, default=defaults.top_k, help="0 means off")
    sample.add_argument("--top-p", type=float, default=defaults.top_p, help="1 means off")
    sample.add_argument("--seed", type=int, default=defaults.seed)
    sample.add_argument("--stop", action="append", default=[], help="stop after this string (repeatable)")
    sample.add_argument("--clamp", action="append", default=[], metavar="L:U=VALUE",
                        help="hold layer L (from 1) unit U's hidden state at VALUE at every step; L:U:c=VALUE for an "
                             "LSTM's cell state (repeatable; 0 ablates the unit)")
    sample.add_argument("--force", action="append", default=[], metavar="POS:TOKEN_ID",
                        help="make new token POS (from 1) the token with this id and sample on from it (repeatable; "
                             "ids are in --json output)")
    sample.add_argument("--json", action="store_true", help="one JSON object per generated token")
    score = commands.add_parser("score", help="nats and bits per character of a text file")
    score.add_argument("--model", required=True)
    score.add_argument("file", help="UTF-8 text file ('-' for stdin)")
    score.add_argument("--json", action="store_true")
    score.add_argument("--precision", choices=PRECISIONS, default="auto",
                       help="matrix products in bfloat16 where the CPU has it natively (auto), or always float32")
    _add_adapt_arguments(score)
    commands.add_parser("models", help="list the shipped models")
    add_learn_command(commands)
    return parser


# Each --adapt-X flag and the AdaptSettings field it sets. Their defaults are None, so that a flag
# given without --adapt can be told apart from one left out (it is refused: it would do nothing).
ADAPT_FLAGS = {"rule": "--adapt-rule", "lr": "--adapt-lr", "window": "--adapt-window", "decay": "--adapt-decay",
               "clip": "--adapt-clip", "precision": "--adapt-precision", "streams": "--adapt-streams",
               "stream_lr": "--adapt-stream-lr"}


def _add_adapt_arguments(score: argparse.ArgumentParser) -> None:
    d = AdaptSettings()
    score.add_argument("--adapt", action="store_true",
                       help="dynamic evaluation: a copy of the model learns from each window after scoring it "
                            "(see docs/ADAPT.md); also prints the static figure")
    score.add_argument("--adapt-rule", choices=RULES, help=f"update rule (default {d.rule})")
    score.add_argument("--adapt-lr", type=float,
                       help=f"step size of one stream (default {d.lr:g}; B streams step lr x sqrt(B); "
                            "0 with --adapt-streams 1 = static)")
    score.add_argument("--adapt-window", type=int,
                       help="tokens scored between updates (default: " + ", ".join(
                           f"{tokens} for a {level} model" for level, tokens in WINDOW_BY_LEVEL.items()) + ")")
    score.add_argument("--adapt-decay", type=float,
                       help=f"pull toward the trained weights after each step, 0-1 (default {d.decay:g})")
    score.add_argument("--adapt-clip", type=float, help=f"largest gradient norm, 0 = off (default {d.clip:g})")
    score.add_argument("--adapt-precision", choices=ADAPT_PRECISIONS,
                       help=f"precision of the adapting pass (default {d.precision})")
    score.add_argument("--adapt-streams", type=int,
                       help=f"segments of the text read side by side, one shared step for all (default {d.streams}, "
                            f"each at least {MIN_STREAM_TOKENS:,} tokens: a short text uses fewer; "
                            "1 = one exact stream: 0.02-0.04 nats/char better, about 5x slower)")
    score.add_argument("--adapt-stream-lr", type=float,
                       help=f"batched: step of each stream's own output layer, as a logit change "
                            f"(default {d.stream_lr:g}; 0 = off)")


def adapt_settings(args) -> AdaptSettings | None:
    """The --adapt-X flags as AdaptSettings (None without --adapt), checked before any model loads."""
    given = {field: getattr(args, f"adapt_{field}") for field in ADAPT_FLAGS}
    given = {field: value for field, value in given.items() if value is not None}
    if not args.adapt:
        if given:
            raise RnnlmError(f"{ADAPT_FLAGS[next(iter(given))]} needs --adapt")
        return None
    try:
        return AdaptSettings(**given).validate()
    except SettingsError as exc:
        raise SettingsError(f"--adapt settings: {exc}") from None


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and new line


def terminal_safe(text: str) -> str:
    """On a terminal, a crafted vocabulary's escape sequences would be obeyed (colours, cursor
    moves, a changed title): show them as U+FFFD. Pipes and files get the exact bytes."""
    return CONTROL.sub("\ufffd", text)


def run_sample(args) -> None:
    validate_prompt(args.prompt)  # before the prompt is echoed: a refused prompt prints nothing
    lm = load(args.model)
    settings = SamplingSettings(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                                max_new_tokens=args.max_new_tokens, seed=args.seed, stop=tuple(args.stop),
                                clamps=parse_clamps(",".join(args.clamp)),
                                forced=parse_forced(",".join(args.force))).validate()
    shown = terminal_safe if sys.stdout.isatty() else str
    if not args.json:
        sys.stdout.write(shown(args.prompt))
    for step in generate(lm, args.prompt, settings):
        if step.from_prompt:
            continue
        if args.json:
            sys.stdout.write(json.dumps(step.to_json(), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(shown(step.text))
        sys.stdout.flush()
    if not args.json:
        sys.stdout.write("\n")


def _read_text(path: str) -> str:
    """The file cleaned as the Score page cleans an upload (BOM dropped, CRLF -> LF), so the
    CLI and the page give the same figure for the same file."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise RnnlmError(f"no such file: {path}") from None
    except OSError as exc:
        raise RnnlmError(f"cannot read {path}: {exc.strerror}") from None
    return clean_text(data, "stdin" if path == "-" else path)


@contextmanager
def _opened(path: str):
    """The file as a regular file open for reading; stdin, a pipe or a FIFO is first copied to a
    temporary file (the scorer reads each segment from where it starts, in bounded memory)."""
    with ExitStack() as stack:
        try:
            handle = sys.stdin.buffer if path == "-" else stack.enter_context(open(path, "rb"))
        except FileNotFoundError:
            raise RnnlmError(f"no such file: {path}") from None
        except OSError as exc:
            raise RnnlmError(f"cannot read {path}: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            spooled = stack.enter_context(tempfile.TemporaryFile(prefix="rnnlm-score-"))
            shutil.copyfileobj(handle, spooled, 1 << 20)
            spooled.flush()
            handle = spooled
        yield handle


def _whole_text(handle, name: str) -> str:
    """All of the (regular) file's text, cleaned: dynamic evaluation reads the text in memory."""
    handle.seek(0)
    return clean_text(handle.read(), name)


def run_score(args) -> None:
    settings = adapt_settings(args)
    lm = load(args.model)
    name = "stdin" if args.file == "-" else args.file
    with _opened(args.file) as handle:
        progress = PhasedProgress()
        try:
            result = score_file(lm, handle, precision=args.precision, on_progress=progress, source=name)
        finally:
            progress.close()
        if not result.tokens:
            raise RnnlmError(f"{args.file} is empty: nothing to score")
        text = "" if settings is None else _whole_text(handle, name)
    if settings is None:
        if args.json:
            print(json.dumps(result.summary()))
        else:
            print(f"{result.nats_per_char:.4f} nats/char  {result.bits_per_char:.4f} bits/char  "
                  f"({result.chars:,} chars, {result.tokens:,} tokens, model {lm.name})")
        return
    settings = settings.for_level(lm.level)  # reported as it ran
    progress = Progress("adapting", "chars")
    try:
        adapted = adapt_text(lm, text, settings, on_window=progress)
    finally:
        progress.close()
    seconds = time.perf_counter() - progress.start
    ran = what_runs(lm.net, adapted.tokens, settings)
    if args.json:
        print(json.dumps({**adapted.summary(), "static_nats_per_char": result.nats_per_char,
                          "static_bits_per_char": result.bits_per_char, "adapt": settings.to_dict(),
                          "adapt_mode": ran["mode"], "adapt_streams": ran["streams"],
                          "adapt_shared_lr": ran["shared_lr"], "adapt_precision_used": ran["precision"],
                          "adapt_own_output_layers": ran["own_output_layers"], "adapt_seconds": round(seconds, 3)}))
    else:
        print(f"{adapted.nats_per_char:.4f} nats/char  {adapted.bits_per_char:.4f} bits/char adapted; "
              f"static {result.nats_per_char:.4f} nats/char ({adapted.nats_per_char - result.nats_per_char:+.4f})  "
              f"({adapted.chars:,} chars, {adapted.tokens:,} tokens, model {lm.name}, "
              f"{adapted.chars / max(seconds, 1e-9):,.0f} chars/s adapting; {_settings_text(settings, ran)})")


def _settings_text(s: AdaptSettings, ran: dict) -> str:
    streams = f"{ran['mode']}, {ran['streams']} stream{'s' if ran['streams'] > 1 else ''}"
    own = f", own output layers {s.stream_lr:g}" if ran["own_output_layers"] else ""
    return (f"{streams}; {s.rule} lr {ran['shared_lr']:.3g} window {s.window} decay {s.decay:g} clip {s.clip:g} "
            f"{ran['precision']}{own}")


def run_models(_args) -> None:
    entries = read_manifest()
    if not entries:
        print("no models are shipped in pretrained/")
        return
    print(f"{'name':28} {'params':>10} {'val nats/char':>14}  corpus")
    for e in entries:
        print(f"{e['name']:28} {e['parameters']:>10,} {e['val_nats_per_char']:>14.4f}  {e['corpus']}")


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        configure_threads()
        if args.command == "learn":
            run_learn(args, _read_text)
        else:
            {"sample": run_sample, "score": run_score, "models": run_models}[args.command](args)
    except RnnlmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
