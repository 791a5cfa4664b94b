"""AppTest of the Fine-tune page, through the same code the browser runs: upload, report,
a short fine-tune on the server's JobManager, cancel, queue, model zip download/upload.

Budgets are a few dozen steps of the smallest shipped char model, so each test takes
seconds next to a real training job. Every session's jobs are cancelled and its folder
deleted at the end of each test (the JobManager is shared, as in the server).
"""

import io
import re
import time
import zipfile

import pytest
import torch
from app_util import app, coloured_texts, html_blocks, poll_until, visible_text

import rnnlm
from playground import jobs_resource, resources, state
from playground.views.finetune import keys as finetune_keys
from playground.views.finetune import report_html as finetune_render
from rnnlm.sampling import SamplingSettings, sample_text
from rnnlm.service.model_zip import model_zip_bytes
from rnnlm.units import is_plain_name

PAGE = "views/finetune/finetune.py"
HOSTILE_NAME = '<img src=x onerror="alert(1)">[link](http://x).txt'


def code_corpus(lines: int = 400) -> str:
    """A regular style with characters the Shakespeare models never saw: a few steps learn it."""
    return "".join(f"int count_{i % 7}(void) {{ return {i % 7}; }}\n" for i in range(lines))


def small_char_model() -> str:
    return min((e for e in rnnlm.read_manifest() if e["level"] == "char"), key=lambda e: e["parameters"])["name"]


@pytest.fixture
def open_page():
    """Opens the page in fresh sessions; afterwards cancels their jobs and deletes their folders."""
    opened = []

    def opener(query: dict | None = None):
        at = app({"model": small_char_model(), **(query or {})}, page=PAGE)
        opened.append(at)
        return at

    yield opener
    manager = jobs_resource.job_manager()
    for at in opened:
        assert manager.end_session(at.session_state[state._SESSION_ID], timeout=60)


def upload(at, *files):
    at.file_uploader(key=finetune_keys.FT_UPLOADER).set_value(list(files)).run()
    assert not at.exception


def text_file(name="code.c", text=None):
    return name, (text or code_corpus()).encode(), "text/plain"


def choose_steps(at, steps: int):
    at.radio(key=state.widget_key(finetune_keys.FT_BUDGET)).set_value("steps").run()
    at.number_input(key=state.widget_key(finetune_keys.FT_STEPS)).set_value(steps).run()


def start(at):
    at.button(key="ft_start_button").click().run()
    assert not at.exception


def as_read(markdown: str) -> str:
    """What a markdown message shows: backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", markdown)


def errors(at) -> str:
    return "\n".join(as_read(e.value) for e in at.error)


def job_snapshot(at):
    return jobs_resource.job_manager().snapshot(at.session_state[jobs_resource._FT_JOB]["id"])


def finished(at) -> bool:
    return bool(at.success) and any(s.value.startswith("Result:") for s in at.subheader)


def samples_shown(at) -> list[str]:
    return [visible_text(block) for block in html_blocks(at, "rnnlm-sample")]


def weights(lm):
    return {name: t.detach().clone() for name, t in lm.net.state_dict().items()}


def test_upload_report_lists_files_escaped_with_reasons_and_the_unseen_characters(open_page):
    at = open_page()
    assert [i.value for i in at.info] == ["Upload files or paste text to train on."]
    upload(at, text_file(HOSTILE_NAME), ("logo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "image/png"),
           ("latin1.txt", "caf\xe9 ol\xe9".encode("latin-1"), "text/plain"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Characters": f"{len(code_corpus()):,}", "Lines": "400", "Sources used": "1", "Skipped": "2"}
    received = next(block for block in html_blocks(at, finetune_render.RECEIVED_CSS))
    assert "<img" not in received and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in received
    assert "logo.png — not a text file type" in visible_text(received)
    assert "latin1.txt — not UTF-8" in visible_text(received)
    charset = "".join(sorted(set(code_corpus())))
    assert finetune_render.characters_text(charset) in [c.value for c in at.code]
    fit = next(i.value for i in at.info if "unknown to" in i.value)
    base = rnnlm.load(small_char_model())
    unseen = [c for c in charset if c not in base.tokenizer.chars]
    share = sum(code_corpus().count(c) for c in unseen) / len(code_corpus())
    assert fit.startswith(f"{share:.2%} of the characters are unknown to `{base.name}`") and unseen


def test_bad_input_gets_a_message_and_keeps_what_was_typed(open_page):
    at = open_page()
    upload(at, ("blob.txt", bytes(range(256)) * 4, "text/plain"))
    assert "none of the uploaded text can be used (1 binary)" in errors(at)
    at.file_uploader(key=finetune_keys.FT_UPLOADER).set_value(
        [("empty.zip", _zip({"image.png": b"\x89PNG" + bytes(300)}), "application/zip")]).run()
    assert "empty.zip holds no usable text files (1 not a text file type)" in errors(at)
    at.file_uploader(key=finetune_keys.FT_UPLOADER).set_value(None).run()

    pasted = "Too short to train on, but kept.\n"
    at.text_area(key=state.widget_key(finetune_keys.FT_PASTED)).set_value(pasted).run()
    at.text_input(key=state.widget_key(finetune_keys.FT_NAME)).set_value("**my model**").run()
    start(at)
    assert "The name '**my model**' cannot be used: use 1 to 64 letters" in errors(at)
    assert "\\*\\*my model\\*\\*" in at.error[0].value  # shown as typed, not in bold
    at.text_input(key=state.widget_key(finetune_keys.FT_NAME)).set_value("").run()
    start(at)
    assert "upload at least 2,000" in errors(at) and jobs_resource._FT_JOB not in at.session_state
    at.switch_page("views/generate/generate.py").run()
    at.switch_page(PAGE).run()  # what was pasted survives a visit to another page
    assert at.text_area(key=state.widget_key(finetune_keys.FT_PASTED)).value == pasted
    assert not at.exception


def _zip(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_short_fine_tune_joins_the_picker_with_before_and_after_and_samples_on_generate(open_page):
    base = resources.load_shipped(small_char_model())  # the copy every session shares
    before_weights, before_chars = weights(base), list(base.tokenizer.chars)
    at = open_page({"length": "40"})
    upload(at, text_file())
    choose_steps(at, 20)
    at.text_input(key=state.widget_key(finetune_keys.FT_PROMPT)).set_value("int ").run()
    start(at)
    assert at.button(key="ft_start_button").disabled or finished(at)
    poll_until(at, finished)
    snap = job_snapshot(at)
    assert snap.status == "done" and snap.step == 20 and len(snap.val_loss) >= 2
    assert len(at.get("plotly_chart")) == 1  # the loss curves stay with the result
    name = f"{small_char_model()}-tuned"
    entry = next(e for e in at.session_state[state.SESSION_MODELS_KEY].values() if e["name"].startswith(name))
    assert entry["path"] == str(snap.result.model_dir) and entry["corpus"] == "uploaded_text"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Held-out loss before"] == f"{snap.result.val_before:.3f} nats/char"
    assert metrics["Held-out loss after"] == f"{snap.result.val_after:.3f} nats/char"
    assert snap.result.val_after < snap.result.val_before
    # before/after: the same prompt and seed, as the base and the new model give them anywhere
    tuned = rnnlm.load_model(snap.result.model_dir)
    settings = SamplingSettings(max_new_tokens=200, seed=1)
    assert samples_shown(at)[-2:] == ["int " + sample_text(base, "int ", settings),
                                      "int " + sample_text(tuned, "int ", settings)]
    # each sample says which model wrote it: the base, and the new one at the step it was kept
    headings = [m.value for m in at.markdown if m.value.startswith(("**Before**", "**After**"))]
    assert headings == [f"**Before** · `{small_char_model()}`, the model you started from",
                        f"**After** · `{entry['name']}`, as kept at step {snap.result.best_step:,}"]
    assert snap.result.best_step == min(snap.val_loss, key=lambda point: point[1])[0]
    assert [b.proto.label for b in at.get("download_button")] == ["Download the model (.zip)"]
    after = weights(base)  # the shared base model is exactly as it was
    assert all(torch.equal(before_weights[n], after[n]) for n in after) and base.tokenizer.chars == before_chars

    at.button(key="ft_use").click().run()  # to Generate, with the new model picked
    assert at.query_params["model"] == entry["name"] and not at.exception
    assert at.selectbox(key="picker_name").value == entry["name"]
    request_prompt = at.query_params["prompt"]
    expected = sample_text(tuned, request_prompt, SamplingSettings(temperature=0.8, max_new_tokens=40, seed=1))
    assert coloured_texts(at) == [request_prompt + expected]
    captions = "\n".join(c.value for c in at.caption)
    assert "exists only in this browser session" in captions and "this server's copy of the model" in captions
    at.switch_page("views/inspect/inspect.py").run()  # Inspect reads what the new model just wrote
    assert not at.exception and not at.error and at.get("plotly_chart")


def test_uploaded_files_survive_a_visit_to_another_page_until_forgotten(open_page):
    at = open_page()
    upload(at, text_file("first.txt"), text_file("second.md", "More words.\n" * 300))
    at.switch_page("views/models/models.py").run()
    at.switch_page(PAGE).run()  # st.file_uploader comes back empty; the text read from it does not
    assert {m.label: m.value for m in at.metric}["Sources used"] == "2"
    assert any("Using the 2 file(s) you uploaded before" in c.value for c in at.caption)
    assert not at.button(key="ft_start_button").disabled
    at.button(key="ft_forget_files").click().run()
    assert not at.metric and [i.value for i in at.info] == ["Upload files or paste text to train on."]


def test_training_from_scratch_makes_a_model_of_the_upload_alone(open_page):
    at = open_page()
    upload(at, text_file())
    at.radio(key=state.widget_key(finetune_keys.FT_START)).set_value("scratch").run()
    assert not [i for i in at.info if "unknown to" in i.value]  # no base model to measure against
    at.radio(key=state.widget_key(finetune_keys.FT_CELL)).set_value("gru").run()
    choose_steps(at, 3)
    start(at)
    poll_until(at, finished)
    entry = next(iter(at.session_state[state.SESSION_MODELS_KEY].values()))
    assert entry["name"].startswith("char-small-") and (entry["cell"], entry["level"]) == ("gru", "char")
    tuned = rnnlm.load_model(entry["path"])
    assert tuned.tokenizer.chars == sorted(set(code_corpus()))  # only the upload's characters
    assert "Held-out loss before" not in [m.label for m in at.metric] and len(samples_shown(at)) == 1


def test_the_job_survives_leaving_the_page_and_cancel_keeps_the_best_model(open_page):
    at = open_page()
    upload(at, text_file())
    choose_steps(at, 1600)  # an evaluation every 200 steps: the first within seconds, the last far off
    start(at)
    manager = jobs_resource.job_manager()
    deadline = time.monotonic() + 120
    while not job_snapshot(at).val_loss:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    at.switch_page("views/models/models.py").run()
    at.switch_page(PAGE).run()  # coming back: still training, with its progress, curves and sample
    assert [s.value for s in at.subheader if s.value.startswith("Training")]
    assert at.get("progress") and at.get("plotly_chart") and samples_shown(at)
    assert at.button(key="ft_start_button").disabled
    at.button(key="ft_cancel").click().run()
    snap = manager.wait(at.session_state[jobs_resource._FT_JOB]["id"], timeout=30)
    assert snap.status == "cancelled" and snap.result.steps < 1600
    poll_until(at, finished)
    entry = next(iter(at.session_state[state.SESSION_MODELS_KEY].values()))
    assert entry["val_nats_per_char"] == pytest.approx(min(v for _, v in snap.val_loss))
    best_step = min(snap.val_loss, key=lambda point: point[1])[0]
    assert snap.result.best_step == best_step
    message = as_read(at.success[0].value)
    assert message.startswith(f"Cancelled at step {snap.result.steps:,}. The best model so far was kept: "
                              f"**{entry['name']}**, from step {best_step:,}, "
                              f"{entry['val_nats_per_char']:.3f} nats/char on the held-out text.")
    assert "ready now" in message and "model picker" in message and "download it below" in message
    assert not at.button(key="ft_start_button").disabled  # a new job may start


def test_a_second_session_sees_its_place_in_the_queue_and_can_leave_it(open_page):
    first, second = open_page(), open_page()
    for at in (first, second):
        upload(at, text_file())
        choose_steps(at, 100_000)
    start(first)
    start(second)
    assert job_snapshot(second).status == "queued"
    name = f"{small_char_model()}-tuned-1"  # numbered within each session, not across the server
    assert job_snapshot(first).name == name and job_snapshot(second).name == name
    message = next(i.value for i in second.info if "queue" in i.value)
    assert "Yours is next in the queue" in message
    second.button(key="ft_cancel").click().run()  # "Leave the queue"
    poll_until(second, lambda at: any("nothing was kept" in i.value for i in at.info))
    assert job_snapshot(first).status == "running"


def test_a_model_zip_uploaded_again_joins_the_picker_and_a_tampered_one_is_refused(open_page):
    at = open_page()
    data = model_zip_bytes(rnnlm.resolve(small_char_model()))
    at.file_uploader(key=finetune_keys.FT_ZIP_UPLOADER).set_value(("my model (1).zip", data, "application/zip")).run()
    assert not at.exception and "Added `my-model-1` to the model picker" in at.success[0].value
    entry = at.session_state[state.SESSION_MODELS_KEY]["my-model-1"]
    assert entry["corpus"] == next(e for e in rnnlm.read_manifest() if e["name"] == small_char_model())["corpus"]
    assert any(option.startswith("my-model-1 ") for option in at.selectbox(key="picker_name").options)
    uploaded = rnnlm.load_model(entry["path"])
    settings = SamplingSettings(max_new_tokens=60, seed=4)
    assert sample_text(uploaded, "A", settings) == sample_text(rnnlm.load(small_char_model()), "A", settings)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    weights_file = bytearray(members["model.safetensors"])
    weights_file[-1] ^= 1
    tampered = _zip({**members, "model.safetensors": bytes(weights_file)})
    at.file_uploader(key=finetune_keys.FT_ZIP_UPLOADER).set_value(("tampered.zip", tampered, "application/zip")).run()
    assert not at.exception and "This zip cannot be used" in errors(at) and "checksum" in errors(at)
    assert "/tmp" not in errors(at)  # server paths mean nothing to the person uploading
    assert len(at.session_state[state.SESSION_MODELS_KEY]) == 1


def test_an_imported_zip_of_a_model_trained_on_uploaded_text_is_filed_under_imported_models(open_page, tmp_path):
    at = open_page()
    shipped = rnnlm.load(small_char_model())
    for corpus, name in (("upload", "from-my-novel"), ("my-private-corpus", "from-elsewhere")):
        training = {**shipped.metadata, "train_config": {**shipped.metadata["train_config"], "corpus": corpus}}
        folder = rnnlm.save_model(shipped.net, shipped.tokenizer, tmp_path / name, training=training)
        at.file_uploader(key=finetune_keys.FT_ZIP_UPLOADER).set_value(
            (f"{name}.zip", model_zip_bytes(folder), "application/zip")).run()
        assert not at.exception and f"Added `{name}`" in at.success[0].value
        assert at.session_state[state.SESSION_MODELS_KEY][name]["corpus"] == "imported"
    corpora = at.selectbox(key="picker_corpus").options
    assert "Imported models" in corpora and "Uploaded Text" not in corpora and "Uploaded text" not in corpora
    at.selectbox(key="picker_corpus").select("imported").run()  # the sidebar files both there
    assert at.selectbox(key="picker_name").options == ["from-my-novel · this session", "from-elsewhere · this session"]


# --- the page's pure parts ---------------------------------------------------------------

def test_the_loss_chart_shows_train_and_held_out_loss_in_nats_per_char_on_one_labelled_axis():
    from dataclasses import replace

    from rnnlm.service.jobs import JobSnapshot

    # a word model: its train loss is nats/token, 4 characters per token
    snap = JobSnapshot("job", "c-word-lstm-tuned-1", "fine-tune", "running", train_loss=((1, 4.0), (2, 3.0)),
                       val_loss=((2, 0.9),), chars_per_token=4.0)
    figure = finetune_render.loss_figure(snap)
    train, held_out = figure.data
    assert list(train.y) == [1.0, 0.75] and train.name == "train (nats/char: nats/token ÷ 4.00 chars/token)"
    assert held_out.name == "held-out (nats/char)" and train.yaxis in (None, "y") and held_out.yaxis in (None, "y")
    assert figure.layout.yaxis.title.text == "loss, nats/char (lower is better)"
    char = finetune_render.loss_figure(replace(snap, chars_per_token=1.0))
    assert char.data[0].name == "train (nats/char)" and list(char.data[0].y) == [4.0, 3.0]
    # a new word model before its first evaluation: its tokenizer's ratio is not known yet
    unknown = finetune_render.loss_figure(replace(snap, val_loss=(), chars_per_token=None))
    assert unknown.data[0].yaxis == "y2" and list(unknown.data[0].y) == [4.0, 3.0]
    assert unknown.layout.yaxis2.title.text == "train loss, nats/token"


def test_server_settings_come_from_env_vars_and_bad_values_are_reported_not_fatal():
    from rnnlm.service.settings import FinetuneSettings, from_env

    chosen, problems = from_env({"RNNLM_MAX_TRAINING_JOBS": "2", "RNNLM_TRAIN_THREADS": "1.5",
                                 "RNNLM_UPLOAD_MB": "0.5", "RNNLM_MAX_TRAIN_MINUTES": "inf"})
    assert (chosen.max_concurrent, chosen.train_threads, chosen.max_minutes) == (2, 1, 30.0)
    assert chosen.upload_limits.max_text_bytes == 512 * 1024 and chosen.upload_widget_mb == 1
    assert [p.split("=")[0] for p in problems] == ["RNNLM_TRAIN_THREADS", "RNNLM_MAX_TRAIN_MINUTES"]
    assert from_env({}) == (FinetuneSettings(), [])


def test_session_model_names_are_made_safe_and_unique():
    from playground.session_models import safe_name, unique_name

    assert safe_name("my novel (draft 2)") == "my-novel-draft-2"
    assert safe_name("../../etc/passwd") == "etc-passwd" and safe_name("***") == "model"
    assert is_plain_name(safe_name("é" * 100 + "x"))
    assert unique_name("novel", {"novel", "novel-2"}) == "novel-3"
    assert len(unique_name("n" * 64, {"n" * 64})) == 64


def test_the_janitor_ends_only_sessions_unseen_for_longer_than_the_idle_limit(tmp_path):
    from rnnlm.service.jobs import JobManager
    from rnnlm.service.session_store import SessionStore

    manager = JobManager(SessionStore(tmp_path))
    now = [1000.0]
    seen = jobs_resource.LastSeen(lambda: now[0])
    janitor = jobs_resource.SessionJanitor(manager, seen, 180, lambda: now[0])
    for session in ("a", "b"):
        manager.store.new_folder(session, "model")
        janitor.visit(session)
    now[0] += 100
    seen.mark("a")  # a's tab is open: its heartbeat; b's tab was closed
    assert janitor.tidy() == []  # within the limit a closed tab may reconnect
    now[0] += 100
    assert janitor.tidy() == ["b"]
    deadline = time.monotonic() + 10
    while manager.store.exists("b"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert manager.store.exists("a")
    now[0] += jobs_resource.SWEEP_SECONDS
    assert janitor.tidy() == []  # b is reported once; a was seen 160 s ago


def test_every_page_run_marks_the_session_seen(open_page):
    at = open_page()
    assert not at.exception
    session, seen = at.session_state[state._SESSION_ID], jobs_resource.last_seen()
    seen.times[session] -= 1000  # as if the tab had been quiet for long
    long_ago = seen.times[session]
    at.run()
    assert seen.times[session] > long_ago
