"""Command line: sample from, score with, and list models.

    python -m rnnlm models
    python -m rnnlm sample --model shakespeare-char-lstm --prompt "ROMEO:" --seed 1 [--json]
    python -m rnnlm score --model shakespeare-char-lstm FILE [--json] [--precision auto|float32|bfloat16]

User mistakes print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .corpus import clean_text
from .errors import RnnlmError
from .runtime import configure_threads
from .sampling import SamplingSettings, generate
from .scoring import PRECISIONS, score_text
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
    sample.add_argument("--json", action="store_true", help="one JSON object per generated token")
    score = commands.add_parser("score", help="nats and bits per character of a text file")
    score.add_argument("--model", required=True)
    score.add_argument("file", help="UTF-8 text file ('-' for stdin)")
    score.add_argument("--json", action="store_true")
    score.add_argument("--precision", choices=PRECISIONS, default="auto",
                       help="matrix products in bfloat16 where the CPU has it natively (auto), or always float32")
    commands.add_parser("models", help="list the shipped models")
    return parser


def run_sample(args) -> None:
    lm = load(args.model)
    settings = SamplingSettings(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                                max_new_tokens=args.max_new_tokens, seed=args.seed, stop=tuple(args.stop)).validate()
    if not args.json:
        sys.stdout.write(args.prompt)
    for step in generate(lm, args.prompt, settings):
        if step.from_prompt:
            continue
        if args.json:
            sys.stdout.write(json.dumps(step.to_json(), ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(step.text)
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


def run_score(args) -> None:
    lm = load(args.model)
    text = _read_text(args.file)
    if not text:
        raise RnnlmError(f"{args.file} is empty: nothing to score")
    result = score_text(lm, text, precision=args.precision)
    if args.json:
        print(json.dumps(result.summary()))
    else:
        print(f"{result.nats_per_char:.4f} nats/char  {result.bits_per_char:.4f} bits/char  "
              f"({result.chars:,} chars, {result.tokens:,} tokens, model {lm.name})")


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
        {"sample": run_sample, "score": run_score, "models": run_models}[args.command](args)
    except RnnlmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
