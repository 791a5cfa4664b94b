"""A fresh server draws its first page before importing torch (~2 s of the first page).

Streamlit sends each element as the script creates it, so the Generate page's title and
controls reach the browser while the model (and torch with it) is still loading.
"""

import subprocess
import sys

import pytest
from conftest import ROOT

PROBE = """
import sys
import playground.widgets.blocks, playground.jobs_resource, playground.widgets.token_html, playground.sidebar, playground.state
import playground.widgets.generation, playground.resources, playground.session_models
import playground.shared_models, playground.widgets.publish
import rnnlm
from rnnlm import RnnlmError, SamplingSettings, Step, read_manifest
read_manifest()
print("torch" in sys.modules)
"""


def test_first_page_modules_do_not_import_torch():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_lazy_name_loads_on_use():
    import rnnlm

    assert rnnlm.score_text.__module__ == "rnnlm.scoring"
    assert "score_text" in dir(rnnlm)
    with pytest.raises(AttributeError, match="no_such_name"):
        rnnlm.no_such_name
