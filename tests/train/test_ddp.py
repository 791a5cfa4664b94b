"""DistributedDataParallel: two gloo processes on a tiny model stay in sync; only rank 0 writes.

Each rank gets its own run folder, so a file written by rank 1 would show up in its folder.
"""

import faulthandler
import json
import os
import signal
import socket
import time
from pathlib import Path

import torch
import torch._dynamo  # noqa: F401  (the optimizer imports it: here, once, not in every rank)
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from rnnlm.training.config import TrainConfig
from rnnlm.training.fit import Callbacks, fit

WORLD, BATCH, WINDOW = 2, 3, 12


class Leader(Callbacks):
    """Rank 0's callbacks: counts steps (for should_stop), optionally slowly."""

    def __init__(self, slow: bool):
        self.steps, self.slow = 0, slow

    def on_step(self, progress):
        self.steps += 1
        time.sleep(0.05 if self.slow else 0)


def _worker(rank: int, port: int, folder: str, text: str, job: dict) -> None:
    faulthandler.register(signal.SIGUSR1, file=open(f"{folder}/stack{rank}.txt", "w"))  # see run_ranks
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(WORLD),
                      LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(WORLD))
    cfg = TrainConfig(**{**dict(hidden_size=16, embed_dim=8, num_layers=2, dropout=0.2, batch_size=BATCH,
                                window=WINDOW, warmup_steps=1, eval_every=3, checkpoint_every=3, sample_tokens=0,
                                threads=1, seed=5), **job["config"]})
    leader, stop_after = Leader(job.get("slow_leader", False)), job.get("stop_after", float("inf"))
    result = fit(cfg, text[:15000], text[15000:17000], f"{folder}/{job['name']}{rank}", callbacks=leader,
                 resume=job.get("resume", False), should_stop=lambda: leader.steps >= stop_after)
    weights = {name: tensor.contiguous() for name, tensor in result.net.state_dict().items()}
    save_file(weights, f"{folder}/{job['name']}-weights{rank}.safetensors")
    Path(f"{folder}/{job['name']}-result{rank}.json").write_text(
        json.dumps({"steps": result.steps, "best": result.best_val, "stopped_by": result.stopped_by}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_ranks(folder: Path, text: str, job: dict, timeout: float = 60.0) -> tuple[list[dict], list[dict]]:
    """Run one fit() on WORLD ranks; (each rank's weights, each rank's result)."""
    # fork: the ranks start with torch already imported (spawn would take seconds per rank).
    context = mp.start_processes(_worker, args=(free_port(), str(folder), text, job), nprocs=WORLD, join=False,
                                 start_method="fork")
    deadline = time.monotonic() + timeout
    while not context.join(timeout=1.0):
        if time.monotonic() > deadline:
            stuck = [process for process in context.processes if process.is_alive()]
            for process in stuck:
                os.kill(process.pid, signal.SIGUSR1)  # each rank writes where it is stuck
            time.sleep(1)
            for process in stuck:
                process.kill()
            stacks = "\n".join(p.read_text() for p in sorted(folder.glob("stack*.txt")))
            raise AssertionError(f"DDP workers did not finish in time; their stacks:\n{stacks}")
    name = job["name"]
    return ([load_file(str(folder / f"{name}-weights{r}.safetensors")) for r in range(WORLD)],
            [json.loads((folder / f"{name}-result{r}.json").read_text()) for r in range(WORLD)])


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def test_two_gloo_ranks_stay_in_sync_and_only_rank_0_writes(shakespeare_text, tmp_path):
    # The run ends on a time budget and rank 0 sleeps in a callback, so its clock runs ahead of
    # rank 1's: the time-based learning rate and the stop must still be the same on both ranks.
    job = {"name": "timed", "config": {"max_steps": 10_000, "max_minutes": 0.02}, "slow_leader": True}
    (rank0, rank1), results = run_ranks(tmp_path, shakespeare_text[:17000], job)
    assert same_weights(rank0, rank1)
    steps = results[0]["steps"]
    assert results[0]["stopped_by"] == "max_minutes" and results[1]["stopped_by"] == "stopped by rank 0"
    assert results[1]["steps"] == steps and steps >= 2 and results[1]["best"] is None
    assert not (tmp_path / "timed1").exists()
    run0 = tmp_path / "timed0"
    assert {p.name for p in run0.iterdir()} >= {"checkpoint", "model", "metrics.jsonl"}
    # The checkpoint holds both ranks' streams and RNG states, and counts both ranks' tokens.
    state = load_file(str(run0 / "checkpoint" / "trainer_state.safetensors"))
    assert state["hidden.0"].shape == (2, WORLD * BATCH, 16) and state["rng.torch"].shape[0] == WORLD
    assert not torch.equal(state["hidden.0"][:, :BATCH], state["hidden.0"][:, BATCH:])
    assert not torch.equal(state["rng.torch"][0], state["rng.torch"][1])  # different dropout masks per rank
    counters = json.loads((run0 / "checkpoint" / "trainer_state.json").read_text())["counters"]
    assert counters["tokens_seen"] == steps * WORLD * BATCH * WINDOW
    assert same_weights(load_file(str(run0 / "checkpoint" / "model.safetensors")), rank0)


def test_ddp_resume_continues_exactly(shakespeare_text, tmp_path):
    text = shakespeare_text[:17000]
    straight, _ = run_ranks(tmp_path, text, {"name": "straight", "config": {"max_steps": 5}})
    _, cut = run_ranks(tmp_path, text, {"name": "cut", "config": {"max_steps": 5}, "stop_after": 2})
    assert [r["steps"] for r in cut] == [2, 2]
    (tmp_path / "cut1").mkdir()  # rank 1 resumes from rank 0's checkpoint, as under torchrun
    (tmp_path / "cut1" / "checkpoint").symlink_to(tmp_path / "cut0" / "checkpoint")
    resumed, results = run_ranks(tmp_path, text, {"name": "cut", "config": {"max_steps": 5}, "resume": True})
    assert [r["steps"] for r in results] == [5, 5]
    assert same_weights(resumed[0], resumed[1]) and same_weights(resumed[0], straight[0])
