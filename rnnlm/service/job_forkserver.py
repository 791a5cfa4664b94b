"""Imported only by multiprocessing's fork server, which job_process asks to preload it.

It makes the server's __main__ irrelevant to job processes, then loads what a job runs, so
that each job's process starts as a fork of this warm interpreter. Measured on one busy core,
a fresh process spent ~7 s importing (torch, the trainer), then 1.7 s before its first
sample (numba loading the cell kernels) and 5.8 s before its first step (the first optimizer
imports torch._dynamo); its first training pass and its loss curve (plotly's figure classes)
cost another 0.1 s. Forked from here, a job of the tests' smoke model reaches its first step
in about 0.1-0.2 s.

Why the first part: before it runs a child's target, multiprocessing rebuilds the parent's
__main__ module in the child (spawn.prepare, from "init_main_from_path" or "..._name"). In a
Streamlit server, and in AppTest, __main__ is the page script: Streamlit's ScriptRunner installs
it as sys.modules["__main__"]. So every job process would run the app. A job's entry point,
job_child.run_child, is found by its module name and needs nothing from __main__; so this
process, and the children forked from it, prepare without those two entries.
(tests/service/test_job_process.py checks that a job runs while __main__ is a script that
would end any process running it.)
"""

from multiprocessing import spawn

import torch
import torch._dynamo  # torch.optim imports it when the first optimizer is built

from ..language_model import LanguageModel
from ..model import CELLS, RNNLM, ModelConfig
from ..tokenizers import CharTokenizer
from . import job_child  # noqa: F401  the trainer, scoring and sampling

MAIN_ENTRIES = ("init_main_from_name", "init_main_from_path")
_prepare = spawn.prepare


def prepare_without_main(data: dict) -> None:
    _prepare({key: value for key, value in data.items() if key not in MAIN_ENTRIES})


spawn.prepare = prepare_without_main


def _load_kernels() -> None:
    """A tiny model of each cell takes one sampling step (numba loads or compiles its kernels)
    and one training pass (torch's fused cells prepare theirs: the first call cost a job ~0.05 s).
    On one torch thread: an OpenMP pool started here would be unusable in the forked children
    (each job sets its own thread count)."""
    torch.set_num_threads(1)
    tokenizer = CharTokenizer.build("ab\n")
    for cell in CELLS:
        config = ModelConfig(vocab_size=tokenizer.vocab_size, cell=cell, embed_dim=4, hidden_size=4, num_layers=1)
        model = LanguageModel(f"warm-up-{cell}", RNNLM(config), tokenizer).warm_up()
        logits, _ = model.net.train()(torch.zeros((2, 3), dtype=torch.long))
        logits.sum().backward()


def _load_plotly() -> None:
    """A figure like the run's loss.html (write_loss_curve): plotly imports its parts on first use."""
    try:
        import plotly.graph_objects as go
    except ImportError:  # optional: the trainer then writes no curve
        return
    go.Figure().add_scatter(x=[0], y=[0], mode="lines+markers").update_layout(xaxis_title="step")


_load_kernels()
_load_plotly()
