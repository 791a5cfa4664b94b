"""The Fine-tune page in a real browser: upload a text file, fine-tune the smallest shipped
char model for a few seconds, download the result, then sample from it on Generate."""

import shlex
from urllib.parse import urlencode

from browser_util import browser, ready_to_fine_tune, shown_text, streamlit_server, wait_idle  # noqa: F401  (pytest fixtures, used by name)

import rnnlm
from rnnlm.service.model_zip import import_model_zip

WATCH_LIVE_PANEL = """() => { window.__sawProgress = false;
  new MutationObserver(() => { if (document.querySelector('[data-testid="stProgress"]')) window.__sawProgress = true; })
  .observe(document.body, {subtree: true, childList: true}); }"""
CORPUS = "".join(f"int count_{i % 7}(void) {{ return {i % 7}; }}\n" for i in range(400))


def small_char_model() -> str:
    return min((e for e in rnnlm.read_manifest() if e["level"] == "char"), key=lambda e: e["parameters"])["name"]


def cli_request(page) -> tuple[str, str, rnnlm.SamplingSettings]:
    """(model folder, prompt, settings) from the Generate page's command-line line."""
    line = page.locator("code").filter(has_text="python -m rnnlm sample").first.inner_text()
    words = shlex.split(line)
    option = {words[i]: words[i + 1] for i in range(4, len(words) - 1, 2)}
    settings = rnnlm.SamplingSettings(temperature=float(option["--temperature"]), top_k=int(option["--top-k"]),
                                      top_p=float(option["--top-p"]), max_new_tokens=int(option["--max-new-tokens"]),
                                      seed=int(option["--seed"]))
    return option["--model"], option["--prompt"], settings


def test_upload_fine_tune_download_and_sample_on_generate(streamlit_server, browser, tmp_path):
    corpus_file = tmp_path / "my code.c"
    corpus_file.write_text(CORPUS)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    ready_to_fine_tune(page, f"{streamlit_server.url}/finetune?{urlencode({'model': small_char_model(), 'length': 60})}",
                       corpus_file)
    page.get_by_text("my code.c").first.wait_for()

    page.evaluate(WATCH_LIVE_PANEL)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("is in the model picker").wait_for(timeout=120_000)
    wait_idle(page)
    assert page.evaluate("window.__sawProgress")  # the live panel showed progress while it trained
    assert page.get_by_text("Held-out loss after").is_visible()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download the model (.zip)").click()
    downloaded = import_model_zip(download.value.path().read_bytes(), tmp_path / "downloaded")

    page.get_by_role("button", name="Sample from it on Generate").click()
    page.wait_for_url("**/?model=*-tuned*", timeout=60_000)  # Generate is the default page: path "/"
    page.wait_for_selector(".rnnlm-tokens", timeout=90_000)
    wait_idle(page)
    folder, prompt, settings = cli_request(page)
    assert "-tuned-" in page.get_by_text("Sampling from").inner_text()
    tuned = rnnlm.load_model(folder)
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert f"{tuned.config.parameter_count():,} parameters" in sidebar  # the picker's caption: the new model
    expected = prompt + rnnlm.sample_text(tuned, prompt, settings)
    assert shown_text(page) == expected
    assert prompt + rnnlm.sample_text(downloaded, prompt, settings) == expected  # the zip is that model
    context.close()
