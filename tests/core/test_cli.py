"""The command line, through a subprocess, as a user runs it."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT, tiny_model

import rnnlm
from rnnlm import load, save_model, score_text
from rnnlm.zoo import read_manifest


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "rnnlm", *args], capture_output=True, text=True, cwd=ROOT,
                          input=stdin, timeout=120)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, char_tokenizer):
    lm = tiny_model(char_tokenizer)
    return save_model(lm.net, lm.tokenizer, tmp_path_factory.mktemp("cli") / "m")


def test_sample_plain_text_starts_with_prompt(model_dir):
    out = cli("sample", "--model", str(model_dir), "--prompt", "ROMEO:", "--max-new-tokens", "25", "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ROMEO:") and len(out.stdout) == len("ROMEO:") + 25 + 1


def test_sample_json_lines(model_dir):
    out = cli("sample", "--model", str(model_dir), "--max-new-tokens", "10", "--json", "--top-k", "5")
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(records) == 10
    for r in records:
        assert isinstance(r["id"], int) and 0 < r["prob"] <= 1
        assert all(isinstance(t, str) and 0 <= p <= 1 for t, p in r["top"])


def test_score_text_and_json(model_dir, tmp_path):
    text_file = tmp_path / "t.txt"
    text_file.write_text("To be, or not to be: that is the question.\n", encoding="utf-8")
    plain = cli("score", "--model", str(model_dir), str(text_file))
    assert plain.returncode == 0 and "nats/char" in plain.stdout and "bits/char" in plain.stdout
    data = json.loads(cli("score", "--model", str(model_dir), str(text_file), "--json").stdout)
    assert data["chars"] == 43 and data["tokens"] == 43
    assert abs(data["bits_per_char"] * 0.6931471805599453 - data["nats_per_char"]) < 1e-9


def test_score_precision_flag_reaches_the_scorer(model_dir, tmp_path):
    text = "To be, or not to be: that is the question.\n" * 20
    text_file = tmp_path / "t.txt"
    text_file.write_text(text, encoding="utf-8")
    lm = load(str(model_dir))
    for precision in ("float32", "bfloat16"):
        out = cli("score", "--model", str(model_dir), str(text_file), "--json", "--precision", precision)
        expected = score_text(lm, text, precision=precision).nats_per_char
        assert json.loads(out.stdout)["nats_per_char"] == pytest.approx(expected, abs=1e-9)


def test_models_lists_the_manifest():
    out = cli("models")
    assert out.returncode == 0
    for entry in read_manifest():
        assert entry["name"] in out.stdout


@pytest.mark.parametrize("args, message", [
    (["sample", "--model", "no-such-model"], "no model named"),
    (["sample", "--model", "MODEL", "--temperature", "-1"], "temperature must be between"),
    (["sample", "--model", "MODEL", "--top-p", "2"], "top_p must be"),
    (["sample", "--model", "MODEL", "--top-k", "-1"], "top_k must be"),
    (["sample", "--model", "MODEL", "--max-new-tokens", "99999999"], "max_new_tokens"),
    (["sample", "--model", "MODEL", "--seed", "abc"], "invalid int value"),
    (["score", "--model", "MODEL", "/no/such/file.txt"], "no such file"),
    (["sample"], "required"),
    ([], "(see python -m rnnlm --help)"),
])
def test_user_mistakes_give_one_line_and_status_2(model_dir, args, message):
    out = cli(*[str(model_dir) if a == "MODEL" else a for a in args])
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1


def test_non_utf8_file_is_refused_clearly(model_dir, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("café".encode("latin-1"))
    out = cli("score", "--model", str(model_dir), str(bad))
    assert out.returncode == 2 and "not UTF-8" in out.stderr


def test_score_reads_crlf_and_bom_as_the_score_page_does(model_dir, tmp_path):
    text = "ROMEO:\nBut soft, what light\nthrough yonder window breaks?\n"
    plain, windows = tmp_path / "lf.txt", tmp_path / "crlf.txt"
    plain.write_bytes(text.encode("utf-8"))
    windows.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    figures = [json.loads(cli("score", "--model", str(model_dir), str(f), "--json").stdout) for f in (plain, windows)]
    assert figures[0] == figures[1] and figures[0]["chars"] == len(text)


def test_learn_handset_prints_the_lectures_memory():
    out = cli("learn", "handset", "--json")
    assert out.returncode == 0, out.stderr
    assert [round(r["memory"]) for r in json.loads(out.stdout)] == [3, 7, 7, 7, 0, 6, 6]


def test_learn_refuses_bad_inputs_in_one_line():
    out = cli("learn", "handset", "--inputs", "1,0,0 2,x,0")
    assert out.returncode == 2 and out.stderr.startswith("error: --inputs") and out.stderr.count("\n") == 1


def test_learn_gradient_flow_and_memory_of_a_model(model_dir, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 20, encoding="utf-8")
    flow = json.loads(cli("learn", "gradient-flow", "--model", str(model_dir), str(text), "--max-lag", "20",
                          "--positions", "4", "--json").stdout)
    (curve,) = flow.values()
    assert curve["lags"] == list(range(21)) and curve["mean_norm"][0] > 0 and curve["positions"] == 4
    memory = json.loads(cli("learn", "memory", "--model", str(model_dir), str(text), "--contexts", "1,8",
                            "--positions", "8", "--json").stdout)
    (curve,) = memory.values()
    assert curve["contexts"] == [1, 8] and all(v > 0 for v in curve["nats_per_token"])


def test_learn_clipping_runs_both(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 30, encoding="utf-8")
    out = cli("learn", "clipping", str(text), "--steps", "20", "--hidden", "16", "--json")
    result = json.loads(out.stdout)
    assert len(result["without_clipping"]["losses"]) == len(result["with_clipping"]["losses"]) == 20
    assert result["settings"]["threshold"] == 1.0


def test_a_prompt_too_long_is_refused_before_anything_is_printed(model_dir):
    out = cli("sample", "--model", str(model_dir), "--prompt", "x" * 120_000)
    assert out.returncode == 2 and out.stdout == "" and "prompt" in out.stderr


def test_control_characters_are_shown_harmless_on_a_terminal_only(model_dir, monkeypatch, capsys):
    from rnnlm import __main__ as cli_main

    assert cli_main.terminal_safe("a\x1b[2Jb\tc\nd\x07") == "a\ufffd[2Jb\tc\nd\ufffd"

    class Terminal:
        def __init__(self):
            self.parts = []

        def isatty(self):
            return True

        def write(self, text):
            self.parts.append(text)

        def flush(self):
            pass

    terminal = Terminal()
    monkeypatch.setattr(cli_main.sys, "stdout", terminal)
    assert cli_main.main(["sample", "--model", str(model_dir), "--prompt", "\x1b]0;pwned\x07", "--max-new-tokens", "3"]) == 0
    assert "".join(terminal.parts).startswith("\ufffd]0;pwned\ufffd")


def test_a_config_json_nested_thousands_deep_is_a_clear_refusal(model_dir, tmp_path):
    import shutil

    folder = tmp_path / "deep"
    shutil.copytree(model_dir, folder)
    (folder / "config.json").write_text("[" * 200_000, encoding="utf-8")
    out = cli("sample", "--model", str(folder), "--prompt", "a")
    assert out.returncode == 2 and "not valid JSON" in out.stderr and "Traceback" not in out.stderr


def test_sample_with_clamps_matches_the_library_and_refuses_a_bad_one(model_dir):
    from rnnlm.clamp import Clamp

    out = cli("sample", "--model", str(model_dir), "--prompt", "ab", "--max-new-tokens", "30", "--seed", "2",
              "--clamp", "1:3=0.9", "--clamp", "2:0:c=-2")
    settings = rnnlm.SamplingSettings(max_new_tokens=30, seed=2, clamps=(Clamp(0, 3, 0.9), Clamp(1, 0, -2.0, "c")))
    assert out.returncode == 0 and out.stdout == "ab" + rnnlm.sample_text(load(str(model_dir)), "ab", settings) + "\n"
    bad = cli("sample", "--model", str(model_dir), "--clamp", "1:3")
    assert bad.returncode == 2 and "LAYER:UNIT=VALUE" in bad.stderr and bad.stdout == ""


def test_sample_with_a_forced_token_matches_the_library(model_dir):
    out = cli("sample", "--model", str(model_dir), "--prompt", "ab", "--max-new-tokens", "20", "--seed", "2",
              "--force", "5:3")
    settings = rnnlm.SamplingSettings(max_new_tokens=20, seed=2, forced=((4, 3),))
    assert out.returncode == 0 and out.stdout == "ab" + rnnlm.sample_text(load(str(model_dir)), "ab", settings) + "\n"
    bad = cli("sample", "--model", str(model_dir), "--force", "0:3")
    assert bad.returncode == 2 and "from 1" in bad.stderr
