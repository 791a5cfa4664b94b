"""Models load once per process and are shared: a refresh or a second visitor reuses them."""

from app_util import app

import rnnlm
from playground import resources


def test_a_refresh_and_a_second_session_do_not_reload_the_model(monkeypatch):
    loads, real_load = [], rnnlm.load

    def counting_load(name, *args, **kwargs):
        loads.append(name)
        return real_load(name, *args, **kwargs)

    resources.load_shipped.clear()
    monkeypatch.setattr(resources.rnnlm, "load", counting_load)
    first = app({"length": "10"})
    first.run()  # a rerun, as after any click
    app({"length": "10", "seed": "5"})  # another visitor (a refresh is a new session too)
    assert len(loads) == 1
    monkeypatch.undo()
    model = resources.load_shipped(loads[0])
    assert model is resources.load_shipped(loads[0])  # the one shared object


def test_a_model_is_warmed_up_when_it_loads():
    resources.load_shipped.clear()
    model = resources.load_shipped("smoke-char-lstm")
    assert "stepper" in vars(model)  # built at load: the first generation's tokens/s is not charged for it


def test_session_models_are_registered_and_odd_names_refused():
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from playground import state

        entry = {"name": "novel-v2.1", "path": "/tmp/x", "corpus": "upload"}
        state.add_session_model(entry)
        for bad in ("", "**bold** [x](javascript:alert(1))", "a/b", "x" * 65):
            try:
                state.add_session_model({**entry, "name": bad})
            except ValueError:
                st.write(f"refused {bad!r}")
        st.write(f"registered {[e['name'] for e in state.session_model_entries()]}")

    at = AppTest.from_function(script).run()
    shown = [m.value for m in at.markdown]
    assert shown[-1] == "registered ['novel-v2.1']" and len(shown) == 5


def test_the_job_manager_keeps_sessions_in_its_own_folder_under_the_state_root(tmp_path, monkeypatch):
    from playground import jobs_resource

    monkeypatch.setenv("RNNLM_SESSIONS_DIR", str(tmp_path))
    jobs_resource.settings.clear()
    jobs_resource.job_manager.clear()
    try:
        root = jobs_resource.job_manager().store.root
        assert root.parent == tmp_path and root.name.startswith("server-") and (root / ".lock").is_file()
    finally:  # the next test gets the usual settings and manager
        jobs_resource.settings.clear()
        jobs_resource.job_manager.clear()


def test_a_page_does_its_housekeeping_only_once_the_job_manager_is_imported(monkeypatch):
    """A fresh server's first page run ends without importing torch: until the background import
    is done, after_page only marks the session seen; then it also touches and sweeps."""
    import threading

    from streamlit.testing.v1 import AppTest

    from playground import jobs_resource

    imported, visits = threading.Event(), []

    class RecordingJanitor:
        def visit(self, session_id):
            visits.append(session_id)

        def tidy(self):
            visits.append("tidied")

    monkeypatch.setattr(jobs_resource, "job_module_imported", lambda: imported)
    monkeypatch.setattr(jobs_resource, "janitor", lambda: RecordingJanitor())
    jobs_resource.last_seen.clear()

    def script():
        import streamlit as st

        from playground import jobs_resource, state

        jobs_resource.after_page()
        st.write(state.session_id())

    at = AppTest.from_function(script).run()
    session = at.markdown[0].value
    assert visits == [] and jobs_resource.last_seen().times.keys() == {session}
    imported.set()
    at.run()
    assert visits == [session, "tidied"]
    jobs_resource.last_seen.clear()


def test_the_background_import_loads_the_job_manager():
    from playground import jobs_resource

    assert jobs_resource.job_module_imported().wait(120)
    from rnnlm.service.jobs import JobManager  # already imported: no wait

    assert JobManager.__module__ == "rnnlm.service.jobs"
