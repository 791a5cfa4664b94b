"""Upload limits (issue 19 #2-#4): one limit per widget within the server's ceiling, MiB throughout,
and uploaded text bounded per session and server-wide."""

import gc
import io
import tomllib
import zipfile

import pytest
from conftest import ROOT

from rnnlm.errors import CheckpointError
from rnnlm.service.model_zip import ModelZipLimits, import_model_zip
from rnnlm.service.settings import FinetuneSettings, from_env, widget_mb
from rnnlm.service.upload_budget import UploadBudget
from rnnlm.service.uploads import MB, UploadLimits, read_files, read_uploads, with_pasted


def server_ceiling() -> int:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["server"]["maxUploadSize"]


def test_the_servers_ceiling_admits_every_default_widget_limit():
    """Streamlit refuses a request body over server.maxUploadSize (HTTP 413) whatever the widget allows."""
    defaults = FinetuneSettings()
    assert server_ceiling() >= max(defaults.upload_widget_mb, defaults.model_zip_widget_mb)
    assert defaults.model_zip_mb * MB >= 22e6  # the shipped medium word model's zip can come back


def test_a_limit_above_the_ceiling_is_lowered_with_a_message():
    settings, _ = from_env({"RNNLM_MODEL_ZIP_MB": "500"})
    lowered, messages = settings.within_upload_ceiling(256)
    assert lowered.model_zip_widget_mb <= 256 and lowered.model_zip_mb < 500 and lowered.upload_mb == 20
    assert len(messages) == 1 and "RNNLM_MODEL_ZIP_MB=500 MiB is above the server's upload ceiling" in messages[0]
    assert FinetuneSettings().within_upload_ceiling(server_ceiling()) == (FinetuneSettings(), [])


def test_mib_everywhere_a_file_under_20_mib_passes_the_browser_and_the_check():
    """The browser reads max_upload_size as decimal MB (10^6; 2^20 on Windows): 20 would refuse
    20,970,520 bytes as "21.0 MB" although it is under the 20 MiB (20,971,520 bytes) budget."""
    size = 20_970_520
    assert widget_mb(20) == 21 and FinetuneSettings().upload_widget_mb * 10**6 >= size
    data = (b"a" * 99 + b"\n") * (size // 100) + b"y" * (size % 100)
    report = read_uploads([("big.txt", data)], limits=FinetuneSettings().upload_limits)
    assert report.used_bytes == size and report.chars == size
    refused = read_uploads([("big.txt", data), ("more.txt", b"z" * 2000)], limits=FinetuneSettings().upload_limits)
    assert [s.reason for s in refused.skipped] == ["too large (over the 20 MiB limit for all text)"]


def test_a_model_zip_over_its_limit_is_refused_in_mib(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.safetensors", b"\x01" * (2 * MB))
    with pytest.raises(CheckpointError, match=r"the zip is 2\.0 MiB; this server takes model zips up to 1\.0 MiB"):
        import_model_zip(buffer.getvalue(), tmp_path / "m", limits=ModelZipLimits(max_zip_bytes=1 * MB))
    assert FinetuneSettings(model_zip_mb=64).model_zip_limits.max_zip_bytes == 64 * MB


def test_pasted_text_joins_the_files_text_without_their_bytes():
    files = read_files([("a.txt", b"first file"), ("b.txt", b"second\n")])
    joined = with_pasted(files, "pasted words")
    assert joined.text == read_uploads([("a.txt", b"first file"), ("b.txt", b"second\n")], "pasted words").text
    assert joined.text[:len(files.text)] == files.text and joined.files_used[-1] == "pasted text"
    assert with_pasted(files, "p" * 90, UploadLimits(max_text_bytes=100)).skipped[-1].name == "pasted text"


class Kept:
    pass


def test_the_server_wide_budget_refuses_beyond_it_and_forgets_ended_sessions():
    budget = UploadBudget(max_bytes=10 * MB)
    first, replacing, second = Kept(), Kept(), Kept()
    assert budget.hold("a", first, 6 * MB) is None
    assert budget.hold("a", replacing, 7 * MB) is None and budget.held_bytes() == 7 * MB  # replaces, not adds
    problem = budget.hold("b", second, 6 * MB)
    assert "holding 7.0 MiB of uploaded text for other visitors" in problem and "10.0 MiB" in problem
    del replacing  # the session ended: Streamlit dropped its session_state, and the text with it
    gc.collect()
    assert budget.held_bytes() == 0
    assert budget.hold("b", second, 6 * MB) is None and budget.held_bytes() == 6 * MB
