"""Core engine speed: traced and untraced sampling per token, scoring chars/s.

    python bench/bench_core.py [--model NAME]   (default: a random 2x512 char LSTM)

Prints figures; asserts nothing (targets: traced <= 0.4 ms/token, untraced <= 0.3 ms,
scoring >= 30k chars/s on 2 cores, at the default precision: bfloat16 products where the CPU
has them natively, float32 elsewhere; float32 is printed too).
"""

import argparse
import time
from pathlib import Path

import torch
from bench_train import gemm_peak_flops, training_flops_per_token

from rnnlm import RNNLM, CharTokenizer, LanguageModel, ModelConfig, SamplingSettings, generate, load, score_text
from rnnlm.runtime import configure_threads
from rnnlm.scoring import uses_bfloat16

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"


def random_model() -> LanguageModel:
    text = CORPUS.read_text(encoding="utf-8") if CORPUS.exists() else "".join(chr(32 + i) for i in range(64))
    tokenizer = CharTokenizer.build(text)
    torch.manual_seed(0)
    net = RNNLM(ModelConfig(vocab_size=tokenizer.vocab_size, cell="lstm", embed_dim=128, hidden_size=512, num_layers=2))
    return LanguageModel("random-2x512-char-lstm", net, tokenizer)


def per_token_ms(lm: LanguageModel, trace: bool, tokens: int = 2000) -> float:
    settings = SamplingSettings(temperature=1.0, max_new_tokens=tokens, seed=0)
    list(generate(lm, "", SamplingSettings(max_new_tokens=50), trace=trace))  # warm up
    start = time.perf_counter()
    count = sum(1 for _ in generate(lm, "", settings, trace=trace))
    return (time.perf_counter() - start) / count * 1000


def scoring_chars_per_second(lm: LanguageModel, precision: str, chars: int = 200_000) -> float:
    text = CORPUS.read_text(encoding="utf-8")[:chars] if CORPUS.exists() else "abc " * (chars // 4)
    score_text(lm, text[:20000], precision=precision)
    start = time.perf_counter()
    score_text(lm, text, precision=precision)
    return len(text) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="shipped model name or folder (default: random 2x512 char LSTM)")
    args = parser.parse_args()
    threads = configure_threads()
    lm = load(args.model) if args.model else random_model()
    print(f"model {lm.name}: {lm.parameter_count():,} parameters, {threads} threads")
    print(f"untraced sampling: {per_token_ms(lm, trace=False):.3f} ms/token (target <= 0.3)")
    print(f"traced sampling:   {per_token_ms(lm, trace=True):.3f} ms/token (target <= 0.4)")
    auto = "bfloat16 products" if uses_bfloat16("auto") else "float32: no native bfloat16 on this CPU"
    print(f"scoring (default): {scoring_chars_per_second(lm, 'auto'):,.0f} chars/s ({auto}; target >= 30,000)")
    print(f"scoring (float32): {scoring_chars_per_second(lm, 'float32'):,.0f} chars/s")
    # The machine's own bound, measured now: shared cloud cores vary by 30% over a day.
    peak = gemm_peak_flops()
    forward = training_flops_per_token(lm.config) / 3
    print(f"machine now:       fp32 GEMM peak {peak / 1e9:.0f} GFLOP/s; at {forward / 1e6:.1f} MFLOP per character "
          f"forward, float32 scoring cannot beat ~{peak / forward:,.0f} chars/s")


if __name__ == "__main__":
    main()
