"""Fine-tune jobs in child processes (issue 22 #4): another pid at a lower priority, progress over
a pipe, cancel by signal, a crash that fails only its own job, a memory ceiling, no orphans.

Jobs are a few steps of the tests' smoke model; the processes are forked from the fork server
that the first JobManager starts (its imports are paid once per test session).
"""

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
import types

import pytest
from conftest import tiny_model
from test_jobs import TINY, corpus, tiny_spec, wait_until

import rnnlm
from rnnlm import CharTokenizer
from rnnlm.sampling import SamplingSettings, sample_text
from rnnlm.service.job_process import ended_unexpectedly
from rnnlm.service.job_progress import Job, decode, encode, result_from, result_message
from rnnlm.service.job_spec import JobSpec
from rnnlm.service.jobs import JobManager, JobResult, ProcessLimits
from rnnlm.service.session_store import SessionStore
from rnnlm.service.settings import from_env

LONG = {"steps": 100_000, "overrides": {**TINY, "eval_every": 5}}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running(manager, job_id) -> int:
    """The pid of the job's process, once it has trained a step."""
    wait_until(lambda: manager.snapshot(job_id).step > 0)
    return manager.snapshot(job_id).pid


@pytest.fixture
def manager(tmp_path):
    made = JobManager(SessionStore(tmp_path / "sessions"))
    yield made
    for session in ("a", "b"):
        made.end_session(session)


def test_a_job_trains_in_its_own_process_at_a_lower_priority_and_streams_its_progress(manager):
    job = manager.submit("a", tiny_spec(rnnlm.load("smoke-char-lstm"), **LONG))
    pid = running(manager, job)
    assert pid != os.getpid() and alive(pid)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]  # the training threads inherit it
    assert threads and all(os.sched_getscheduler(tid) == os.SCHED_IDLE for tid in threads)
    wait_until(lambda: len(manager.snapshot(job).samples) >= 2)
    snap = manager.snapshot(job)
    assert snap.train_loss and snap.val_loss and snap.tokens_per_second > 0 and snap.chars_per_token == 1.0
    manager.cancel(job)  # SIGTERM: the trainer stops after its step and keeps the best model
    snap = manager.wait(job, 60)
    assert snap.status == "cancelled" and snap.result.stopped_by == "cancelled" and snap.pid is None
    assert snap.result.val_after == pytest.approx(min(v for _, v in snap.val_loss))
    assert rnnlm.load_model(snap.result.model_dir).config.hidden_size > 0 and not alive(pid)
    assert not (snap.result.model_dir.parent / "input").exists()  # the text handed over is removed


@pytest.mark.parametrize("crash", [signal.SIGKILL, signal.SIGSEGV])
def test_a_crashed_process_fails_its_job_and_the_next_job_still_runs(manager, crash):
    base = rnnlm.load("smoke-char-lstm")
    first = manager.submit("a", tiny_spec(base, **LONG))
    second = manager.submit("b", tiny_spec(base, steps=3))
    pid = running(manager, first)
    assert manager.snapshot(second).queue_position == 1
    resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))  # a segfault here writes no core file
    os.kill(pid, crash)  # as the out-of-memory killer, or a crash in native code
    snap = manager.wait(first, 60)
    assert snap.status == "failed" and snap.result is None
    assert snap.message.startswith(f"the training process ended unexpectedly (killed by {crash.name}")
    assert manager.wait(second, 60).status == "done"  # the server, and its queue, carry on


def test_a_process_that_ignores_cancel_is_killed_after_the_grace_period(tmp_path):
    manager = JobManager(SessionStore(tmp_path), limits=ProcessLimits(cancel_seconds=1))
    job = manager.submit("a", tiny_spec(rnnlm.load("smoke-char-lstm"), **LONG))
    pid = running(manager, job)
    os.kill(pid, signal.SIGSTOP)  # a process stuck in native code: it handles no signal
    started = time.monotonic()
    manager.cancel(job)
    snap = manager.wait(job, 30)
    assert snap.status == "cancelled" and snap.result is None and 1 <= time.monotonic() - started < 10
    assert "did not stop within 1 s of Cancel" in snap.message and not alive(pid)


def test_a_memory_ceiling_fails_a_job_that_needs_more_and_lets_a_small_one_run(tmp_path):
    tiny = JobManager(SessionStore(tmp_path / "a"), limits=ProcessLimits(memory_mb=1))
    snap = tiny.wait(tiny.submit("a", tiny_spec(rnnlm.load("smoke-char-lstm"), steps=2)), 60)
    assert snap.status == "failed" and "RNNLM_JOB_MEMORY_MB=1 MiB, is below the" in snap.message
    mapped = int(snap.message.split("below the ")[1].split(" MiB")[0].replace(",", ""))
    manager = JobManager(SessionStore(tmp_path / "b"), limits=ProcessLimits(memory_mb=mapped + 300))
    huge = tiny_spec(None, level="char", steps=2,
                     overrides={**TINY, "hidden_size": 4096, "embed_dim": 4096})
    snap = manager.wait(manager.submit("a", huge), 60)  # 512 MiB of LSTM weights
    assert snap.status == "failed" and "memory" in snap.message, snap.message
    small = manager.wait(manager.submit("b", tiny_spec(rnnlm.load("smoke-char-lstm"), steps=2)), 60)
    assert small.status == "done", small.message


def test_a_base_model_with_no_folder_is_saved_for_the_process_first(manager):
    base = tiny_model(CharTokenizer.build(corpus()), cell="gru", layers=1)
    assert base.path is None  # built in memory: the process cannot load it from anywhere
    snap = manager.wait(manager.submit("a", tiny_spec(base, steps=3)), 60)
    assert snap.status == "done", snap.message
    assert snap.result.sample_before == sample_text(base, "int ", SamplingSettings(max_new_tokens=40, seed=3))
    assert not (snap.result.model_dir.parent / "input").exists()


def test_ending_a_session_leaves_no_process_behind(manager):
    job = manager.submit("a", tiny_spec(rnnlm.load("smoke-char-lstm"), **LONG))
    pid = running(manager, job)
    assert manager.end_session("a", timeout=30)
    assert not alive(pid) and not manager.store.exists("a")


def test_a_job_never_runs_the_servers_main_script(manager, tmp_path, monkeypatch):
    """Streamlit makes the page script __main__; multiprocessing would run it in each child."""
    script = tmp_path / "app.py"
    script.write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\nimport os\nos._exit(7)\n")
    monkeypatch.setitem(sys.modules, "__main__", types.SimpleNamespace(__spec__=None, __file__=str(script)))
    snap = manager.wait(manager.submit("a", tiny_spec(rnnlm.load("smoke-char-lstm"), steps=2)), 60)
    assert snap.status == "done", snap.message
    assert not (tmp_path / "ran").exists()


@pytest.mark.slow
def test_a_killed_server_leaves_no_training_process_behind(tmp_path):
    server = textwrap.dedent(f"""
        import os, signal, time
        import rnnlm
        from rnnlm.service.job_spec import JobSpec
        from rnnlm.service.jobs import JobManager
        from rnnlm.service.session_store import SessionStore
        manager = JobManager(SessionStore({str(tmp_path)!r}))
        text = "".join(f"line {{i % 9}} of a very regular text\\n" for i in range(200))
        job = manager.submit("a", JobSpec(text, base=rnnlm.load("smoke-char-lstm"), minutes=0, steps=100_000,
                                          overrides={TINY!r}))
        while manager.snapshot(job).step == 0:
            time.sleep(0.05)
        print(manager.snapshot(job).pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", server], check=False, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == -signal.SIGKILL, done.stderr
    pid = int(done.stdout.split()[0])
    wait_until(lambda: not alive(pid), timeout=30)  # its next progress message finds no reader


# --- without a process ---------------------------------------------------------------------

def test_messages_are_plain_json_and_a_result_comes_back_whole(tmp_path):
    result = JobResult(tmp_path / "model", "m", 2.5, 1.5, 100, "int ", 3, "before", "after", 30, 0.1, "max_steps",
                       {"added_chars": ["{", "}"], "unknown_rate": 0.01}, base_name="b", best_step=20)
    data = encode(result_message(result))
    assert data.startswith(b'{"kind": "result", "model_dir": "')  # JSON text, nothing pickled
    assert result_from(decode(data)) == result
    with pytest.raises(ValueError):
        decode(b"\x80\x04K\x01.")  # a pickle is not a message
    with pytest.raises(TypeError):
        decode(b"[1, 2]")


def test_progress_messages_update_the_snapshot_and_a_heard_cancel_stays_visible(tmp_path):
    import threading

    job = Job("j", "s", JobSpec("x" * 3000), "m", tmp_path, threading.RLock())
    job.apply({"kind": "step", "step": 1, "loss": 2.0, "fraction": 0.5, "eta_seconds": None, "elapsed_seconds": 1.0,
               "tokens_per_second": 10.0, "grad_norm": 1.0, "clip_rate": 0.0})
    job.apply({"kind": "eval", "step": 1, "val_loss": 1.8, "sample": "hi", "chars_per_token": 1.0})
    assert job.train_loss == [(1, 2.0)] and job.snap.val_loss == ((1, 1.8),) and job.snap.samples == ((1, "hi"),)
    assert (job.snap.step, job.snap.fraction) == (1, 0.5)
    job.cancel.set()
    job.apply({"kind": "update", "phase": "training", "message": "", "pid": 1})
    assert job.snap.phase == "cancelling" and job.snap.pid is None  # an update changes only what it may


def test_an_unexpected_end_is_described_plainly():
    assert ended_unexpectedly(3).startswith("the training process ended unexpectedly (exit code 3).")
    assert "(killed by SIGKILL, as the system's out-of-memory killer does)" in ended_unexpectedly(-9)
    assert "killed by SIGSEGV" in ended_unexpectedly(-11) and "server is fine" in ended_unexpectedly(-11)
    assert "a job may use 512 MiB (RNNLM_JOB_MEMORY_MB)" in ended_unexpectedly(-9, memory_mb=512)


def test_process_settings_come_from_the_environment():
    found, problems = from_env({"RNNLM_JOB_NICE": "5", "RNNLM_JOB_MEMORY_MB": "2048",
                                "RNNLM_JOB_CANCEL_SECONDS": "3"})
    assert found.process_limits == ProcessLimits(nice=5, memory_mb=2048, cancel_seconds=3) and not problems
    found, problems = from_env({"RNNLM_JOB_NICE": "25"})
    assert found.process_limits == ProcessLimits() and "RNNLM_JOB_NICE='25' is not a whole number from 0 to 19" in problems[0]
