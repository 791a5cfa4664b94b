"""Scoring a file in bounded memory (issue 19 #9): the in-memory figure, without the in-memory cost."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT, tiny_model

from rnnlm import save_model, score_text
from rnnlm.cli_progress import PhasedProgress
from rnnlm.corpus import clean_text
from rnnlm.errors import CorpusError
from rnnlm.score_file import score_file


def _big_text(seed_text: str, chars: int) -> str:
    """Seed text repeated (numbered, so no two copies are identical) to about `chars` characters."""
    copies, parts, total = 0, [], 0
    while total < chars:
        part = f"== copy {copies} ==\n{seed_text}"
        parts.append(part)
        total, copies = total + len(part), copies + 1
    return "".join(parts)


def test_a_multi_mb_file_scores_as_the_whole_text_does(char_tokenizer, shakespeare_text, tmp_path):
    lm = tiny_model(char_tokenizer, layers=1, hidden=16)
    text = _big_text(shakespeare_text, 2_000_000)
    path = tmp_path / "big.txt"
    path.write_bytes(("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8"))  # BOM and CRLF, cleaned on the way
    in_memory = score_text(lm, clean_text(path.read_bytes()), precision="float32")
    streamed = score_file(lm, path, precision="float32", chunk_bytes=100_000)  # ~40 chunks, 16 segments
    assert (streamed.chars, streamed.tokens) == (in_memory.chars, in_memory.tokens) == (len(text), len(text))
    assert streamed.nats_per_char == pytest.approx(in_memory.nats_per_char, abs=1e-6)
    assert streamed.summary().keys() == in_memory.summary().keys()


@pytest.mark.parametrize("streams", [1, 16])
def test_word_models_stream_too(word_tokenizer, shakespeare_text, tmp_path, streams):
    lm = tiny_model(word_tokenizer, cell="gru")
    text = shakespeare_text[:120_000] + "a line with no end é"
    path = tmp_path / "w.txt"
    path.write_text(text, encoding="utf-8")
    in_memory = score_text(lm, text, streams=streams, precision="float32")
    streamed = score_file(lm, path, streams=streams, precision="float32", chunk_bytes=7_000)
    assert streamed.tokens == in_memory.tokens and streamed.chars == len(text)
    assert streamed.nats_per_char == pytest.approx(in_memory.nats_per_char, abs=1e-6)


def test_bad_files_are_refused_as_clean_text_refuses_them(char_tokenizer, tmp_path):
    lm = tiny_model(char_tokenizer, layers=1, hidden=8)
    latin1, nul = tmp_path / "latin1.txt", tmp_path / "nul.txt"
    latin1.write_bytes(b"x\n" * 5000 + "café".encode("latin-1"))
    nul.write_bytes(b"text\n" * 5000 + b"\x00")
    with pytest.raises(CorpusError, match="not UTF-8.*offset 10,003"):
        score_file(lm, latin1, chunk_bytes=1000)
    with pytest.raises(CorpusError, match="binary"):
        score_file(lm, nul, chunk_bytes=1000)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert score_file(lm, empty).tokens == 0


def test_progress_reports_reading_then_scoring(char_tokenizer, shakespeare_text, tmp_path):
    lm = tiny_model(char_tokenizer, layers=1, hidden=8)
    path = tmp_path / "t.txt"
    path.write_text(shakespeare_text[:50_000], encoding="utf-8")
    seen = []
    score_file(lm, path, chunk_bytes=4096, on_progress=lambda phase, done, total: seen.append((phase, done, total)))
    phases = [phase for phase, _, _ in seen]
    assert phases.index("scoring") > phases.index("reading") and "reading" not in phases[phases.index("scoring"):]
    assert seen[-1] == ("scoring", 50_000, 50_000)
    assert [s for s in seen if s[0] == "reading"][-1] == ("reading", 50_000, 50_000)

    class Log:
        def __init__(self):
            self.text = ""

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    log = Log()
    progress = PhasedProgress(log, quiet_seconds=0)
    for phase, done, total in seen:
        progress(phase, done, total)
    assert "reading [" in log.text and "scoring [" in log.text and "50,000/50,000 tokens" in log.text


PEAK_SCRIPT = """
import resource, sys
from rnnlm.__main__ import main
code = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, file=sys.stderr)  # Linux: KiB
sys.exit(code)
"""


def _cli_peak(model_dir, path) -> tuple[dict, int, str]:
    out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, "score", "--model", str(model_dir), str(path), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), int(out.stderr.splitlines()[-1]), out.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in KiB is Linux's unit")
def test_cli_memory_does_not_grow_with_the_file(char_tokenizer, shakespeare_text, tmp_path):
    """The whole-text path held ~48 bytes per character (9.3 GB for 200 MB); streaming holds chunks."""
    lm = tiny_model(char_tokenizer, layers=1, hidden=8)
    model_dir = save_model(lm.net, lm.tokenizer, tmp_path / "m")
    small, big = tmp_path / "small.txt", tmp_path / "big.txt"
    small.write_text(_big_text(shakespeare_text, 500_000), encoding="utf-8")
    big.write_text(_big_text(shakespeare_text, 6_000_000), encoding="utf-8")
    small_figures, small_peak, _ = _cli_peak(model_dir, small)
    big_figures, big_peak, stderr = _cli_peak(model_dir, big)
    assert big_figures["chars"] > 5_900_000 and small_figures["chars"] > 490_000
    growth = big_peak - small_peak
    assert growth < 60 << 20, f"peak grew by {growth / 2**20:.0f} MiB for 5.5 M more characters"
    assert "scoring [" in stderr  # progress on stderr for a file that takes more than a moment
