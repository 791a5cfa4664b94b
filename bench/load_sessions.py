"""Browser sessions for bench/bench_load.py: N Generate pages driven at once, and a fine-tune job.

Playwright's sync API drives one page at a time, so the pages time themselves: an init script
in each context records, on the page's own clock (performance.now(), from the start of its
navigation), when the page was drawn, when its first streamed token appeared and when the
coloured text was complete; a click is scheduled on the shared wall clock (Date.now()), so
every session acts within a few milliseconds of the others. The driver only polls.

Two ways to arrive (bench_load.py --arrival):
  defaults  the app's address alone, as a new visitor: the page samples the shipped defaults
            (300 tokens, seed 1), the same text for every visitor, sampled once by the server;
            then the "click" types the session's seed and the length into the sidebar (each
            Enter reruns the page, which samples the new Request at once).
  link      a share link with the session's seed and length: the page samples those tokens on
            arrival, then the click presses Generate (which samples them again).
Also the CPU-seconds of processes (/proc), to see what the browsers and the server spent.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from browser_util import shown_text, wait_idle
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parent.parent
MODEL = "shakespeare-char-lstm"
JOB_CORPUS = ROOT / "pretrained" / "heldout" / "tinyshakespeare.txt"
VIEWPORT = {"width": 1400, "height": 1000}
POLL_SECONDS = 0.25
DEFAULT_LENGTH = 300  # the app's default length (playground.state.DEFAULTS): a "defaults" arrival's tokens

# Installed in every page before Streamlit's own scripts; the arrival's and the click's new-token counts.
OBSERVE = """(() => {
  const loadCount = %d, runCount = %d;
  const load = window.__load = {drawn: 0, first: 0, done: 0};
  window.__run = null;  // the clicked run: {click, first, done, running}
  let before = null;  // the coloured output shown when Generate was clicked
  const scriptState = () => document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState;
  const streamed = () => { const s = document.querySelector('.rnnlm-stream');
    return s && s.textContent.length > (s.querySelector('.prompt') || {textContent: ''}).textContent.length; };
  const coloured = (count) => {  // childElementCount first: this runs often, and a page holds thousands of spans
    const tokens = document.querySelector('.rnnlm-tokens');
    return tokens !== null && tokens.childElementCount >= count
      && tokens.querySelectorAll('.rnnlm-tok:not(.from-prompt)').length >= count; };
  // By its widget key: a button's label may not be drawn yet when the button is.
  const generateButton = () => document.querySelector('.st-key-generate button');
  const check = () => {
    scheduled = false;
    const now = performance.now();
    if (!load.drawn && [...document.querySelectorAll('h1')].some(h => h.textContent.includes('Generate')))
      load.drawn = now;  // the page's title: the script run has reached the page
    if (!load.first && streamed()) load.first = now;
    if (!load.done && coloured(loadCount)) { load.done = now; load.first = load.first || now; }
    const run = window.__run;
    if (!run || !run.click || run.done) return;
    if (scriptState() === 'running') run.running = true;
    if (!run.first && streamed()) run.first = now;
    // Done: new coloured output, or (if the browser drew no stream in between and kept the node)
    // the clicked run over with the coloured output there.
    const replaced = document.querySelector('.rnnlm-tokens') !== before;
    if (coloured(runCount) && (replaced || (run.running && scriptState() === 'notRunning'))) {
      run.done = now; run.first = run.first || now; }
  };
  // Checked at most every 10 ms, not on every mutation: Plotly and React make thousands, and
  // checking each one cost the browser seconds of CPU (it shares the cores with the server).
  let scheduled = false;
  new MutationObserver(() => { if (!scheduled) { scheduled = true; setTimeout(check, 10); } })
    .observe(document, {subtree: true, childList: true, characterData: true, attributes: true,
                        attributeFilter: ['data-test-script-state']});
  const clickWhenThere = (giveUp) => {  // the button may be redrawn at that moment: retry briefly
    const button = generateButton();
    if (button) {
      before = document.querySelector('.rnnlm-tokens');
      window.__run = {click: performance.now(), first: 0, done: 0, running: false};
      button.click();
    } else if (performance.now() < giveUp) setTimeout(() => clickWhenThere(giveUp), 20);
    else window.__run = {error: 'no Generate button: ' + document.querySelectorAll('button').length + ' buttons, '
      + scriptState()};
  };
  window.__clickAt = (wallTime) => setTimeout(() => clickWhenThere(performance.now() + 10000),
                                               Math.max(0, wallTime - Date.now()));
  // Type a value into a sidebar number input and press Enter, as a user would (React reads the
  // input event, Streamlit commits on Enter and reruns the page).
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  const enter = (label, value) => {
    const input = document.querySelector(`input[aria-label="${label}"]`);
    input.focus(); setValue.call(input, String(value));
    input.dispatchEvent(new Event('input', {bubbles: true}));
    input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', code: 'Enter', keyCode: 13, bubbles: true}));
  };
  // The seed first: the rerun it starts samples that seed, whose first tokens are the final text's.
  // The sidebar may not be drawn yet on a busy machine (the coloured text can come first): retry briefly.
  const enterWhenThere = (seed, length, giveUp) => {
    const there = ['Seed', 'Length (new tokens)'].every(l => document.querySelector(`input[aria-label="${l}"]`));
    if (!there && performance.now() < giveUp) { setTimeout(() => enterWhenThere(seed, length, giveUp), 20); return; }
    before = document.querySelector('.rnnlm-tokens');
    window.__run = {click: performance.now(), first: 0, done: 0, running: false};
    try { enter('Seed', seed); enter('Length (new tokens)', length); document.activeElement.blur(); }
    catch (error) { window.__run = {error: 'could not type the settings: ' + error}; }
  };
  window.__enterAt = (wallTime, seed, length) => setTimeout(() => enterWhenThere(seed, length, performance.now() + 10000),
                                                            Math.max(0, wallTime - Date.now()));
})();"""
STATE = """() => ({load: window.__load, run: window.__run, origin: performance.timeOrigin,
  idle: document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState === 'notRunning',
  shownErrors: document.querySelectorAll('[data-testid="stException"], [data-testid="stAlertContentError"]').length})"""


@dataclass
class Session:
    seed: int
    page: object = None
    errors: list[str] = field(default_factory=list)
    state: dict = field(default_factory=dict)
    load_text: str = ""
    text: str = ""

    def seconds(self, phase: str, mark: str) -> float:
        """A phase's mark in seconds: load marks from the start of navigation, run marks from the click."""
        times = self.state.get(phase) or {}
        start = 0.0 if phase == "load" else times.get("click", 0.0)
        return (times[mark] - start) / 1000 if times.get(mark) else float("nan")

    def wall(self, phase: str, mark: str) -> float:
        """A phase's mark on the wall clock (time.time()), as the server's timing trace records it."""
        times = self.state.get(phase) or {}
        return (self.state.get("origin", 0.0) + times[mark]) / 1000 if times.get(mark) else float("nan")


def click_split(session: Session, marks: list[dict]) -> tuple[float, float, float, float]:
    """A click's wait for its first token in four parts (seconds), from the server's timing trace
    (playground/timing_trace.py): click -> the server starts the script run with the session's
    seed; -> the script reaches the output and starts sampling; -> it hands the first tokens to
    Streamlit; -> the browser shows them. NaN where a mark is missing. The first tokens of the
    session's own seed name its server session (each browser session types or links its own
    seed); its first script run after the click started it, its last stream before them sampled them."""
    click, shown, nan = session.wall("run", "click"), session.wall("run", "first"), float("nan")
    later = [m for m in marks if m["t"] >= click - 0.01]
    first = next((m for m in later if m["event"] == "first_token" and m.get("seed") == session.seed), None)
    if first is None:
        return nan, nan, nan, nan
    ours = [m for m in later if m["session"] == first["session"] and m["t"] <= first["t"]]
    started = next((m["t"] for m in ours if m["event"] == "run"), nan)
    streamed = max((m["t"] for m in ours if m["event"] == "stream"), default=nan)
    return started - click, streamed - started, first["t"] - streamed, shown - first["t"]


def generate_url(server_url: str, seed: int, tokens: int) -> str:
    return f"{server_url}/?{urlencode({'model': MODEL, 'length': tokens, 'seed': seed})}"


def open_session(browser, server_url: str, seed: int, tokens: int, link: bool = True) -> Session:
    """A new browser context (its own Streamlit session) navigating to the share link (link) or
    to the app's address alone; returns once the navigation is committed, so the next session
    can start at once."""
    session = Session(seed)
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(OBSERVE % (tokens if link else DEFAULT_LENGTH, tokens))
    session.page = context.new_page()
    session.page.on("pageerror", lambda error: session.errors.append(f"page error: {error}"))
    session.page.on("console", lambda message: session.errors.append(f"console: {message.text}")
                    if message.type == "error" else None)
    session.page.goto(generate_url(server_url, seed, tokens) if link else f"{server_url}/", wait_until="commit")
    return session


def poll(sessions: list[Session]) -> None:
    for session in sessions:
        try:
            session.state = session.page.evaluate(STATE)
        except PlaywrightError:  # the document is still being replaced right after navigation
            pass


def wait_all(sessions: list[Session], finished, timeout: float) -> None:
    """Poll every page until finished(session) holds for all of them; a page that times out
    gets an error instead of stopping the bench."""
    deadline = time.monotonic() + timeout
    while True:
        poll(sessions)
        waiting = [s for s in sessions if not finished(s)]
        if not waiting:
            return
        if time.monotonic() > deadline:
            for session in waiting:
                session.errors.append(f"timed out after {timeout:.0f} s")
            return
        time.sleep(POLL_SECONDS)


def loaded(session: Session) -> bool:
    return bool((session.state.get("load") or {}).get("done")) and bool(session.state.get("idle"))


def ran(session: Session) -> bool:
    run = session.state.get("run") or {}
    if run.get("error") and run["error"] not in session.errors:
        session.errors.append(run["error"])
    return bool(run.get("error") or run.get("done")) and bool(session.state.get("idle"))


def press_generate_together(sessions: list[Session], delay: float = 0.5) -> float:
    """Schedule every page's click at the same wall-clock moment; returns that moment (s)."""
    at_ms = sessions[0].page.evaluate("Date.now()") + delay * 1000
    for session in sessions:
        session.page.evaluate("at => window.__clickAt(at)", at_ms)
    return at_ms / 1000


def enter_settings_together(sessions: list[Session], tokens: int, delay: float = 0.5) -> float:
    """Schedule every page to type its seed and the length at the same wall-clock moment."""
    at_ms = sessions[0].page.evaluate("Date.now()") + delay * 1000
    for session in sessions:
        session.page.evaluate("([at, seed, length]) => window.__enterAt(at, seed, length)", [at_ms, session.seed, tokens])
    return at_ms / 1000


def read_texts(sessions: list[Session], attribute: str) -> None:
    """The coloured text each finished page shows (a heartbeat fragment may be running meanwhile)."""
    for session in sessions:
        if session.state.get("idle"):
            setattr(session, attribute, shown_text(session.page))


def close(sessions: list[Session]) -> None:
    for session in sessions:
        poll([session])
        if session.state.get("shownErrors"):
            session.errors.append(f"{session.state['shownErrors']} error message(s) on the page")
        session.page.context.close()


def start_finetune_job(browser, server_url: str, minutes: float):
    """Through the Fine-tune page, as a user would: upload Shakespeare, fine-tune MODEL for
    `minutes`, and return once the live panel shows progress (its context stays open: the
    page's heartbeat keeps the job's session alive)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{server_url}/finetune?{urlencode({'model': MODEL})}")
    page.get_by_text("Upload files").first.wait_for(timeout=120_000)
    wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(JOB_CORPUS))
    page.get_by_text(JOB_CORPUS.name).first.wait_for(timeout=60_000)
    wait_idle(page)
    set_minutes(page, minutes)
    page.get_by_role("button", name="Start training").click()
    page.locator('[data-testid="stProgress"]').first.wait_for(timeout=180_000)
    return context


def set_minutes(page, minutes: float, attempts: int = 3) -> None:
    """Type the budget; again if a rerun (the upload's) redrew the field over the typed value."""
    field, wanted = page.get_by_label("Minutes"), f"{minutes:.2f}"
    for _ in range(attempts):
        field.fill(wanted)
        field.press("Enter")
        wait_idle(page)
        if field.input_value() == wanted:
            return
    raise RuntimeError(f"the Fine-tune page did not take {wanted} minutes (it shows {field.input_value()})")


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes, in seconds (those that have ended count nothing)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def chromium_pids() -> list[int]:
    """Every Chromium process below this one (Playwright's driver starts them): renderers, GPU, browser."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
    found, frontier = [], [os.getpid()]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return [pid for pid in found if "chrom" in _comm(pid)]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return ""
