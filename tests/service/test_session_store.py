"""Session folders: every server process keeps its own folder under one state root, and the
folders of processes that are gone (even by kill -9) are removed when the next one starts.

The "servers" here are small real processes, so that their ends are real: a normal exit, a
SIGKILL, and one still running.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnlm.service import session_store
from rnnlm.service.session_store import SessionStore, process_folder, sweep_ended_processes

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(session_store.fcntl is None, reason="needs fcntl.flock")

SERVER = """
import sys, time
from rnnlm.service.session_store import SessionStore
store = SessionStore.for_process(sys.argv[1])
(store.new_folder("visitor", "upload") / "model.safetensors").write_bytes(b"weights")
print(store.root, flush=True)
if sys.argv[2] == "stay":
    time.sleep(120)
"""


def start_server(state_root: Path, how: str) -> tuple[subprocess.Popen, Path]:
    """A process that claims its folder and puts a session's upload in it; its folder."""
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(state_root), how], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = server.stdout.readline().strip()
    assert line, server.stderr.read()
    return server, Path(line)


def test_each_process_has_its_own_folder_under_the_one_root(tmp_path):
    first, first_folder = start_server(tmp_path, "stay")
    second, second_folder = start_server(tmp_path, "stay")
    try:
        assert first_folder.parent == second_folder.parent == tmp_path.absolute()
        assert first_folder != second_folder and first_folder.name.startswith("server-")
        assert (first_folder / ".lock").is_file() and list(first_folder.glob("s-*/upload-1/model.safetensors"))
    finally:
        for server in (first, second):
            server.kill()
            server.wait(30)


def test_a_killed_process_leaves_a_folder_the_next_start_removes(tmp_path):
    killed, killed_folder = start_server(tmp_path, "stay")
    running, running_folder = start_server(tmp_path, "stay")
    try:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(30)
        assert killed_folder.is_dir()  # kill -9: no chance to tidy up
        store = SessionStore.for_process(tmp_path)  # the next server starts
        assert not killed_folder.exists()
        assert running_folder.is_dir() and list(running_folder.glob("s-*/upload-1/*"))  # alive: kept
        assert store.root.parent == tmp_path.absolute() and store.root not in (killed_folder, running_folder)
        assert sweep_ended_processes(tmp_path) == []  # its own folder is never swept
        assert store.root.is_dir()
    finally:
        running.kill()
        running.wait(30)
    assert sweep_ended_processes(tmp_path) == [running_folder.name]


def test_a_process_that_exits_normally_removes_its_own_folder(tmp_path):
    server, folder = start_server(tmp_path, "exit")
    assert server.wait(30) == 0 and not folder.exists() and list(tmp_path.iterdir()) == []


def test_one_process_claims_one_folder_however_many_stores_it_makes(tmp_path):
    stores = [SessionStore.for_process(tmp_path), SessionStore.for_process(tmp_path)]
    assert stores[0].root == stores[1].root == process_folder(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [stores[0].root.name]


def test_a_half_claimed_folder_is_removed_once_it_is_old(tmp_path):
    claiming = tmp_path / ".claiming-k1ll3d"  # a process killed between mkdir and rename
    claiming.mkdir()
    assert sweep_ended_processes(tmp_path) == []
    long_ago = time.time() - 3600
    os.utime(claiming, (long_ago, long_ago))
    assert sweep_ended_processes(tmp_path) == [claiming.name] and not claiming.exists()


def test_the_default_store_lives_under_a_fixed_root_in_the_temp_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(session_store.tempfile, "tempdir", str(tmp_path))
    first, second = SessionStore(), SessionStore()
    assert first.root == second.root and first.root.parent == session_store.default_state_root()
    assert first.root.parent.parent == tmp_path and first.root.parent.name.startswith("rnnlm-state-")
    assert [p.name for p in tmp_path.iterdir()] == [first.root.parent.name]  # no rnnlm-sessions-* per store
