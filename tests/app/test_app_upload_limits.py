"""The fine-tune page's upload limits (issue 19 #2-#4): each widget's own limit, stated in MiB;
only cleaned text kept per session; a server-wide budget that refuses with a message."""

import dataclasses

from test_app_finetune import PAGE, errors, open_page, text_file, upload  # noqa: F401  (open_page: a fixture)

from playground import jobs_resource, state
from playground.views.finetune import keys as finetune_keys


def test_each_upload_widget_carries_its_own_limit_stated_in_mib(open_page):  # noqa: F811
    at = open_page()
    settings, _ = jobs_resource.settings()
    text_widget = at.file_uploader(key=finetune_keys.FT_UPLOADER)
    zip_widget = at.file_uploader(key=finetune_keys.FT_ZIP_UPLOADER)
    assert text_widget.proto.max_upload_size_mb == settings.upload_widget_mb == 21  # 20 MiB, in browser MB
    assert zip_widget.proto.max_upload_size_mb == settings.model_zip_widget_mb == 68  # 64 MiB
    assert "20 MiB" in text_widget.proto.label and "64 MiB" in zip_widget.proto.label
    assert "MiB" in text_widget.proto.help and "MiB" in zip_widget.proto.help


def _bytes_held(value, seen=None) -> int:
    """Bytes objects reachable from a kept upload (its dataclasses, lists, tuples and dicts)."""
    seen = seen if seen is not None else set()
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if dataclasses.is_dataclass(value):
        return sum(_bytes_held(getattr(value, f.name), seen) for f in dataclasses.fields(value))
    if isinstance(value, (list, tuple, set)):
        return sum(_bytes_held(v, seen) for v in value)
    if isinstance(value, dict):
        return sum(_bytes_held(k, seen) + _bytes_held(v, seen) for k, v in value.items())
    return 0


def test_the_session_keeps_the_text_not_the_files_bytes(open_page):  # noqa: F811
    at = open_page()
    upload(at, text_file("first.txt"), text_file("photo.png", "not read"), text_file("second.md", "More.\n" * 300))
    kept = at.session_state[finetune_keys._FT_UPLOAD]
    assert kept.report.files_used == ["first.txt", "second.md"] and len(kept.report.skipped) == 1
    assert _bytes_held(kept) == 0
    at.text_area(key=state.widget_key(finetune_keys.FT_PASTED)).set_value("Pasted words, " * 300).run()  # re-joined from the kept text
    kept = at.session_state[finetune_keys._FT_UPLOAD]
    assert kept.report.files_used == ["first.txt", "second.md", "pasted text"] and _bytes_held(kept) == 0
    assert kept.report.text.startswith(text_file("first.txt")[1].decode())


def test_an_upload_beyond_the_servers_budget_is_refused_with_a_message(open_page):  # noqa: F811
    budget = jobs_resource.upload_budget()
    saved = budget.max_bytes
    try:
        first = open_page()
        upload(first, text_file("first.txt"))
        held = budget.held_bytes()
        assert held > 0
        budget.max_bytes = held + 1000  # the next session's 12 KB do not fit
        second = open_page()
        upload(second, text_file("second.txt"))
        assert "This upload cannot be kept: the server is holding" in errors(second)
        assert "for all of them together" in errors(second) and not second.metric
    finally:
        budget.max_bytes = saved
