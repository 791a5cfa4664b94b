"""Models load once per process and are shared: a refresh or a second visitor reuses them."""

import rnnlm
from app_util import app
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
