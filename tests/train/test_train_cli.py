"""python -m train: one-line errors with status 2, and a SIGKILLed run that resumes.

Most of it runs in-process through main() (the same code path without a torch start-up
per case): one mistake and the killed run use real processes.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rnnlm.__main__ as rnnlm_cli
from train.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT_EVERY = 10
TINY_TOML = f"""
corpus = "tinyshakespeare"
level = "char"
embed_dim = 8
hidden_size = 16
num_layers = 1
dropout = 0.1
batch_size = 4
window = 16
warmup_steps = 5
max_steps = 1000000
eval_every = 1000000
checkpoint_every = {CHECKPOINT_EVERY}
sample_tokens = 0
threads = 1
"""


@pytest.fixture
def files(tmp_path, shakespeare_text):
    (tmp_path / "tiny.toml").write_text(TINY_TOML)
    (tmp_path / "corpus.txt").write_text(shakespeare_text[:20000])
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.txt").write_text(" \n\t\n   \n" * 50)
    (tmp_path / "short.txt").write_text("To be or not to be.\n")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 10)
    (tmp_path / "latin1.txt").write_bytes("Caf\u00e9 cr\u00e8me, na\u00efve. ".encode("latin-1") * 50)
    (tmp_path / "no-text").mkdir()
    (tmp_path / "no-text" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "bad.toml").write_text('lr = "fast"\n')
    (tmp_path / "broken.toml").write_text("lr = = 3\n")
    return tmp_path


def one_error_line(capsys, argv) -> str:
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize("extra, expected", [
    (["nonsense=1"], "override 'nonsense=1' must look like name=value"),
    (["lr=fast"], "lr must be a number, got 'fast'"),
    (["max_steps=1.5"], "max_steps must be a whole number"),
    (["batch_size=0"], "batch_size must be at least 1"),
    (["cell=transformer"], "cell must be one of lstm, gru, rnn"),
    (["tie_weights=maybe"], "tie_weights must be true or false"),
    (["ema_decay=1"], "ema_decay must be in [0, 1), got 1.0"),
    (["precision=half"], "precision must be one of auto, float32, bfloat16, got 'half'"),
    (["seed=99999999999999999999999"], "seed must be a whole number from 0 to 4294967295"),
    (["seed=-1"], "seed must be a whole number from 0 to 4294967295"),
    (["dropout_from_epoch=-1"], "dropout_from_epoch must not be negative"),
    (["corpus=nowhere-to-be-found"], "unknown corpus 'nowhere-to-be-found'"),
    (["corpus="], "corpus is empty"),
])
def test_bad_settings_give_one_error_line(files, capsys, extra, expected):
    err = one_error_line(capsys, ["--config", files / "tiny.toml", "--out", files / "run", *extra])
    assert expected in err
    assert not (files / "run").exists()


@pytest.mark.parametrize("argv, expected", [
    (["--config", "bad.toml"], "lr must be a number, got 'fast'"),
    (["--config", "broken.toml"], "is not valid TOML"),
    (["--config", "missing.toml"], "no such config file"),
    ([], "give --config FILE"),
    (["--resume", "no-run"], "no checkpoint/ folder: nothing to resume"),
    (["--resume", "no-run", "--config", "tiny.toml"], "give name=value overrides, not --config"),
    (["--resume", "no-run", "--init-from", "smoke-char-lstm"], "drop --init-from"),
    (["--config", "tiny.toml", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_invocations_give_one_error_line(files, capsys, argv, expected):
    argv = [files / a if a.endswith((".toml", "run")) else a for a in argv]
    assert expected in one_error_line(capsys, argv)


@pytest.mark.parametrize("source, expected", [
    ("empty.txt", "empty"),
    ("blank.txt", "no visible characters"),
    ("short.txt", "it needs at least 34"),
    ("binary.bin", "looks binary"),
    ("latin1.txt", "is not UTF-8"),
    ("no-text", "no usable text files"),
])
def test_bad_corpora_are_refused_with_what_was_found(files, capsys, source, expected):
    err = one_error_line(capsys, ["--config", files / "tiny.toml", "--from", files / source, "--out", files / "run"])
    assert expected in err
    assert not (files / "run").exists()


def test_out_naming_a_file_is_refused_before_any_work(files, capsys):
    err = one_error_line(capsys, ["--config", files / "tiny.toml", "--out", files / "corpus.txt"])
    assert "is a file; give a folder" in err


def test_a_corpus_prepared_under_a_name_trains_by_that_name(files, capsys, monkeypatch):
    import train.prepare
    monkeypatch.setattr(train.prepare, "DATA_DIR", files)  # files/corpus.txt plays data/corpus.txt
    run = files / "run"
    assert main(["--config", str(files / "tiny.toml"), "--out", str(run), "--max-steps", "3", "corpus=corpus"]) == 0
    saved = json.loads((run / "model" / "config.json").read_text())["training"]
    assert saved["facts"]["corpus"] == "corpus" and saved["val_chars"] == 1000  # the last 5% of 20,000


def test_a_new_run_never_replaces_an_existing_one(files, capsys):
    run = files / "run"
    assert main(["--config", str(files / "tiny.toml"), "--out", str(run), "--max-steps", "3"]) == 0
    capsys.readouterr()
    before = (run / "model" / "model.safetensors").read_bytes()
    err = one_error_line(capsys, ["--config", files / "tiny.toml", "--out", run, "--max-steps", "5"])
    assert f"already holds a run: continue it with --resume {run}" in err
    assert (run / "model" / "model.safetensors").read_bytes() == before


def test_a_missing_from_path_is_named_as_missing(files, capsys):
    err = one_error_line(capsys, ["--config", files / "tiny.toml", "--from", files / "nowhere.txt", "--out", files / "run"])
    assert f"no such file or folder: {files / 'nowhere.txt'}" in err


def test_fine_tuning_says_which_config_settings_it_does_not_use(files, capsys):
    run = files / "run"
    argv = ["--config", files / "tiny.toml", "--init-from", "smoke-char-lstm", "--from", files / "corpus.txt",
            "--out", run, "--max-steps", "2"]
    assert main([str(a) for a in argv]) == 0
    err = capsys.readouterr().err
    assert "note: fine-tuning keeps smoke-char-lstm's architecture; the config's " in err and "hidden_size=16" in err


def test_resume_hint_names_the_run_only_when_it_can_be_resumed(tmp_path):
    from train.__main__ import _resume_hint
    assert "nothing to resume" in _resume_hint(None) and "nothing to resume" in _resume_hint(tmp_path)
    (tmp_path / "checkpoint").mkdir()
    assert _resume_hint(tmp_path) == f"continue with: python -m train --resume {tmp_path}"


def test_a_damaged_trainer_state_is_refused_in_one_line(files, capsys):
    run = files / "run"
    assert main(["--config", str(files / "tiny.toml"), "--out", str(run), "--max-steps", "3"]) == 0
    capsys.readouterr()  # the first run's progress
    (run / "checkpoint" / "trainer_state.json").write_text('{"param_groups": []}')
    assert "the trainer state is damaged" in one_error_line(capsys, ["--resume", run])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A tiny run of 12 steps with a weight average, checkpointed at step 10 and at its end."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "tiny.toml").write_text(TINY_TOML)
    assert main(["--config", str(folder / "tiny.toml"), "--out", str(folder / "run"), "--max-steps", "12",
                 "ema_decay=0.9"]) == 0
    return folder / "run"


def _edit_state_json(run, edit):
    path = run / "checkpoint" / "trainer_state.json"
    state = json.loads(path.read_text())
    edit(state)
    path.write_text(json.dumps(state))


def _replace_tensor(run, pick, make):
    from safetensors.torch import load_file, save_file
    path = run / "checkpoint" / "trainer_state.safetensors"
    tensors = load_file(str(path))
    name = next(n for n in sorted(tensors) if pick(n, tensors[n]))
    tensors[name] = make(tensors[name])
    save_file(tensors, str(path))


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _insert_metrics_line(run, line: bytes):
    path = run / "metrics.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3] + [line + b"\n"] + lines[3:]))


def _wider(tensor):
    import torch
    return torch.zeros(tensor.numel() + 3)


DAMAGES = {
    "truncated trainer_state.safetensors": (lambda run: _truncate(run / "checkpoint" / "trainer_state.safetensors"),
                                           "has no readable trainer state (Error while deserializing header"),
    "negative step": (lambda run: _edit_state_json(run, lambda s: s["counters"].update(step=-50)),
                      "step is -50, not a whole number from 0 up"),
    "fractional tokens_seen": (lambda run: _edit_state_json(run, lambda s: s["counters"].update(tokens_seen=1.5)),
                               "tokens_seen is 1.5"),
    "non-finite best_val": (lambda run: _edit_state_json(run, lambda s: s["counters"].update(best_val="NaN")),
                            "best_val is 'NaN'"),
    "metrics not UTF-8": (lambda run: _insert_metrics_line(run, b'{"kind": "step", "step": 2}\xff\xfe'),
                          "metrics.jsonl is damaged: byte"),
    "metrics line [1,2]": (lambda run: _insert_metrics_line(run, b"[1,2]"), "line 4 is not a metrics record"),
    "metrics line cut mid-file": (lambda run: _insert_metrics_line(run, b'{"kind": "st'),
                                  "line 4 is not a metrics record"),
    "optimizer moment of the wrong shape": (
        lambda run: _replace_tensor(run, lambda n, t: n.startswith("optimizer.") and t.dim() == 2, _wider),
        "its parameter is torch.float32"),
    "optimizer state for a parameter the model lacks": (
        lambda run: _rename_tensor(run, "optimizer.0.", "optimizer.99."),
        "optimizer state for parameter 99"),
    "hidden state of the wrong size": (
        lambda run: _replace_tensor(run, lambda n, t: n == "hidden.0", lambda t: t[..., :-1].contiguous()),
        "the carried hidden state has shapes"),
    "weight average of the wrong shape": (
        lambda run: _replace_tensor(run, lambda n, t: n.startswith("average.") and t.dim() == 2, _wider),
        "the trainer state is damaged (ValueError: average."),
}


def _rename_tensor(run, old_prefix, new_prefix):
    from safetensors.torch import load_file, save_file
    path = run / "checkpoint" / "trainer_state.safetensors"
    tensors = load_file(str(path))
    save_file({(new_prefix + n[len(old_prefix):] if n.startswith(old_prefix) else n): t
               for n, t in tensors.items()}, str(path))


def folder_contents(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


@pytest.mark.parametrize("damage", DAMAGES)
def test_resuming_a_damaged_run_is_refused_in_one_line_and_changes_nothing(finished_run, tmp_path, capsys, damage):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    harm, expected = DAMAGES[damage]
    harm(run)
    before = folder_contents(run)
    assert expected in one_error_line(capsys, ["--resume", run, "max_steps=20"])
    assert folder_contents(run) == before  # the metrics history in particular: nothing was rewritten


def test_a_metrics_line_cut_short_at_the_end_is_dropped_on_resume(finished_run, tmp_path, capsys):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    with open(run / "metrics.jsonl", "a") as log:  # what SIGKILL mid-write leaves
        log.write('{"kind": "step", "st')
    assert main(["--resume", str(run), "max_steps=14"]) == 0
    assert logged_steps(run) == list(range(1, 15))


def test_stale_staging_folders_are_removed_when_a_run_resumes(finished_run, tmp_path, capsys):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    for name in (".checkpoint.staging.k1ll3d", ".model.staging.abc123"):  # SIGKILL during a write leaves these
        (run / name).mkdir()
        (run / name / "model.safetensors").write_bytes(b"half a file")
    assert main(["--resume", str(run), "max_steps=13"]) == 0
    assert not list(run.glob(".*.staging.*")) and (run / "checkpoint").is_dir() and (run / "model").is_dir()


def test_budget_flags_are_overrides(files, capsys):
    run = files / "run"
    assert main(["--config", str(files / "tiny.toml"), "--out", str(run), "--max-steps", "3", "--max-minutes", "5"]) == 0
    assert "stopped (step budget reached) after 3 steps" in capsys.readouterr().out
    saved = json.loads((run / "model" / "config.json").read_text())["training"]["train_config"]
    assert (saved["max_steps"], saved["max_minutes"]) == (3, 5.0)


def test_evaluations_print_current_and_averaged_weights_when_averaging(files, capsys):
    assert main(["--config", str(files / "tiny.toml"), "--out", str(files / "run"), "--max-steps", "4",
                 "eval_every=2", "ema_decay=0.9"]) == 0
    printed = capsys.readouterr()
    evals = [line for line in (printed.out + printed.err).splitlines() if line.startswith("step ")]
    assert len(evals) == 2 and all(re.search(r"\[current \d\.\d{4}, averaged \d\.\d{4} weights\]", e) for e in evals)


def run_cli(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *map(str, args)], cwd=ROOT, text=True, **kwargs)


def test_a_real_process_exits_2_with_one_line(files):
    process = run_cli("train", "--config", files / "tiny.toml", "--from", files / "empty.txt", "lr=fast",
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "lr must be a number" in err


def checkpoint_step(run: Path) -> int:
    for folder in (run / "checkpoint", run / ".checkpoint.old"):  # see train_state.checkpoint_folder
        try:
            return json.loads((folder / "trainer_state.json").read_text())["counters"]["step"]
        except (OSError, ValueError):
            continue
    return 0


def logged_steps(run: Path) -> list[int]:
    steps = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # the line being written when the process was killed
            continue
        if record["kind"] == "step":
            steps.append(record["step"])
    return steps


def test_sigkilled_run_resumes_losing_at_most_one_checkpoint_interval(files, capsys):
    run = files / "run"
    with open(files / "log.txt", "w") as log:
        training = run_cli("train", "--config", files / "tiny.toml", "--from", files / "corpus.txt", "--out", run,
                           stdout=log, stderr=log)
        deadline = time.monotonic() + 120
        while checkpoint_step(run) < 2 * CHECKPOINT_EVERY:
            assert training.poll() is None, (files / "log.txt").read_text()
            assert time.monotonic() < deadline, "no checkpoint in time"
            time.sleep(0.02)
        os.kill(training.pid, signal.SIGKILL)
        training.wait(timeout=30)
    killed_at, saved = max(logged_steps(run)), checkpoint_step(run)
    assert saved <= killed_at <= saved + CHECKPOINT_EVERY

    # Resumed in-process: the same CLI code, without a second torch start-up.
    target = saved + 5
    capsys.readouterr()
    assert main(["--resume", str(run), f"max_steps={target}"]) == 0
    assert f"stopped (step budget reached) after {target} steps" in capsys.readouterr().out
    assert logged_steps(run) == list(range(1, target + 1))  # the lost steps were redone, once each
    assert checkpoint_step(run) == target

    # The model folder samples through the rnnlm CLI.
    assert rnnlm_cli.main(["sample", "--model", str(run / "model"), "--max-new-tokens", "40", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out) >= 40


def test_progress_in_a_log_file_is_plain_lines_every_half_minute():
    import io

    from rnnlm.training.fit import Progress
    from train.__main__ import ProgressBar

    log = io.StringIO()  # not a terminal, like nohup ... > log
    bar = ProgressBar(log)
    for second in range(0, 95, 5):  # a step every 5 s for 95 s
        bar.on_step(Progress(step=second // 5 + 1, max_steps=100, loss=2.0, lr=1e-3, grad_norm=0.5, clipped=False,
                             clip_rate=0.0, tokens_per_second=1000.0, elapsed_seconds=float(second),
                             eta_seconds=10.0, fraction=second / 100))
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and [line.split(" step ")[1].split()[0] for line in lines] == ["1", "7", "13", "19"]
