"""playground.timing_trace: off unless asked, whole JSON lines when on, and the marks the load
bench splits a click's wait with (the script run's start and its first tokens, by seed)."""

import threading

from app_util import app

from playground import state, timing_trace


def test_no_file_unless_the_variable_names_one(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNLM_TIMING_TRACE", raising=False)
    timing_trace.mark("run", seed=1)
    assert list(tmp_path.iterdir()) == []
    assert timing_trace.read(str(tmp_path / "absent.jsonl")) == []


def test_marks_from_many_threads_are_whole_lines(tmp_path, monkeypatch):
    trace = tmp_path / "trace.jsonl"
    monkeypatch.setenv("RNNLM_TIMING_TRACE", str(trace))
    threads = [threading.Thread(target=lambda i=i: [timing_trace.mark("run", seed=i, text="x" * 5000)
                                                    for _ in range(20)]) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    marks = timing_trace.read(str(trace))
    assert len(marks) == 160 and {m["seed"] for m in marks} == set(range(8))
    assert all(m["event"] == "run" and len(m["text"]) == 5000 for m in marks)


def test_the_generate_page_marks_its_run_then_its_first_tokens(tmp_path, monkeypatch):
    trace = tmp_path / "trace.jsonl"
    monkeypatch.setenv("RNNLM_TIMING_TRACE", str(trace))
    at = app({"length": "30", "seed": "7"})
    assert not at.exception
    marks = timing_trace.read(str(trace))
    [first] = [m for m in marks if m["event"] == "first_token"]
    assert first["seed"] == 7  # the linked seed; the first run marks None: it reads the URL later
    runs = [m for m in marks if m["event"] == "run" and m["session"] == first["session"]]
    [stream] = [m for m in marks if m["event"] == "stream"]
    assert runs and runs[0]["t"] <= stream["t"] <= first["t"] and stream["seed"] == 7
    at.number_input(key=state.widget_key(state.SEED)).set_value(8).run()  # a rerun, as a click's
    later = [m for m in timing_trace.read(str(trace)) if m["t"] > first["t"]]
    assert [(m["event"], m["seed"]) for m in later] == [("run", 8), ("stream", 8), ("first_token", 8)]
