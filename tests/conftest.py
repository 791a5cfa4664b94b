"""Shared fixtures: tiny models built in the test, for every level x cell.

Folders: core/ (rnnlm), service/ (the fine-tune service), train/ (the trainer and its CLI),
app/ (Streamlit AppTest), browser/ (a real server driven in Chromium), fuzz/ (hypothesis
property tests on hostile input: deterministic, a fixed number of examples each). Tests under browser/
are marked `browser`; tests that take more than a few seconds are marked `slow`, so
`pytest -m "not slow and not browser"` is the quick run while working."""

import atexit
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
TEST_MODELS = Path(__file__).resolve().parent / "models"  # smoke-test models: never in the user's picker


def models_for_tests() -> Path:
    """A models folder with the shipped models and the smoke-test ones (symlinks, one merged
    manifest). Tests, and the servers they start, read it through RNNLM_PRETRAINED."""
    folder = Path(tempfile.mkdtemp(prefix="rnnlm-test-models-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # removes the links, never their targets
    entries = []
    for source in (ROOT / "pretrained", TEST_MODELS):
        for entry in json.loads((source / "manifest.json").read_text(encoding="utf-8"))["models"]:
            (folder / entry["name"]).symlink_to(source / entry["name"], target_is_directory=True)
            entries.append(entry)
    (folder / "manifest.json").write_text(json.dumps({"models": entries}), encoding="utf-8")
    (folder / "heldout").symlink_to(ROOT / "pretrained" / "heldout", target_is_directory=True)
    return folder


os.environ.setdefault("RNNLM_PRETRAINED", str(models_for_tests()))  # before rnnlm reads it

from rnnlm import RNNLM, CharTokenizer, LanguageModel, ModelConfig, WordTokenizer  # noqa: E402

# One thread: tests use tiny models, and CI shares 2 cores with the browser test server.
torch.set_num_threads(1)


def run_together(count: int, call, catch: type[BaseException] = Exception, timeout: float = 60) -> list:
    """count threads calling call(i) at the same moment (a barrier); their results, or the
    exceptions of type catch they raised, in thread order (None for a thread still running)."""
    results, barrier = [None] * count, threading.Barrier(count)

    def one(i):
        barrier.wait()
        try:
            results[i] = call(i)
        except catch as exc:
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results


def score_command(monkeypatch, capsys, lm: LanguageModel, text: str, folder: Path):
    """`python -m rnnlm score` run in this process on lm (saved to folder) and a file holding text:
    run(*flags) -> (status, stdout, stderr). A subprocess would cost seconds of imports."""
    from rnnlm import save_model
    from rnnlm.__main__ import main

    monkeypatch.setattr("rnnlm.__main__.configure_threads", lambda: 1)  # keep the tests' one thread
    model = save_model(lm.net, lm.tokenizer, folder / "m")
    text_file = folder / "t.txt"
    text_file.write_text(text, encoding="utf-8")

    def run(*args):
        status = main(["score", "--model", str(model), str(text_file), *args])
        out, err = capsys.readouterr()
        return status, out, err
    return run


@pytest.fixture(scope="session")
def shakespeare_text() -> str:
    return (SHARED_DATA / "tinyshakespeare.txt").read_text(encoding="utf-8")[:200_000]


@pytest.fixture(scope="session")
def word_tokenizer(shakespeare_text) -> WordTokenizer:
    return WordTokenizer.build(shakespeare_text, vocab_size=500)


def tiny_model(tokenizer, cell="lstm", layers=2, hidden=24, embed=12, seed=0, tie=False) -> LanguageModel:
    torch.manual_seed(seed)
    config = ModelConfig(vocab_size=tokenizer.vocab_size, cell=cell, embed_dim=hidden if tie else embed,
                         hidden_size=hidden, num_layers=layers, tie_weights=tie)
    return LanguageModel(f"tiny-{tokenizer.kind}-{cell}", RNNLM(config), tokenizer)


@pytest.fixture(scope="session")
def char_tokenizer(shakespeare_text) -> CharTokenizer:
    return CharTokenizer.build(shakespeare_text)


@pytest.fixture(params=["char-lstm", "char-gru", "char-rnn", "word-lstm", "word-gru", "word-rnn"])
def any_model(request, char_tokenizer, word_tokenizer) -> LanguageModel:
    level, cell = request.param.split("-")
    return tiny_model(char_tokenizer if level == "char" else word_tokenizer, cell=cell)


SLOW_FOLDERS = {"app"}  # every AppTest run executes the real app: seconds each
SLOW_FILES = {"test_zoo.py", "test_ddp.py", "test_train_cli.py", "test_cli.py"}  # real models, subprocesses


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in item.path.parts:  # every test there starts a server and Chromium
            item.add_marker(pytest.mark.browser)
        if SLOW_FOLDERS & set(item.path.parts) or item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
