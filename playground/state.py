"""Session and URL state: the only file that names st.session_state and st.query_params keys.

Every control has one canonical value in session state, under the same name as its URL
parameter. Widgets use a separate key (widget_key) that is re-seeded from the canonical
value on every run and copied back on change: Streamlit forgets the state of widgets a
page did not draw, so without this a prompt would be lost on a visit to the Models page.

On a session's first run the URL is read (malformed or out-of-range values fall back to
defaults and leave a notice); on every run afterwards the current page's controls are
written back to the URL, so the address bar is always a share link.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import streamlit as st

from playground import catalogue as cat
from playground.catalogue import ModelInfo
from playground.parsing import (
    parse_choice,
    parse_choices,
    parse_clamp_text,
    parse_float,
    parse_force_text,
    parse_int,
    parse_temps_text,
    parse_text,
)
from playground.request import Request
from rnnlm.sampling import MAX_SEED
from rnnlm.units import is_plain_name

# Controls, named as in the URL.
MODEL, PROMPT, TEMPERATURE, TOP_K, TOP_P, SEED, LENGTH, STOP, CLAMP, FORCE, MODELS, TEMPS = (
    "model", "prompt", "temperature", "top_k", "top_p", "seed", "length", "stop", "clamp", "force", "models", "temps")
SAMPLING = (PROMPT, TEMPERATURE, TOP_K, TOP_P, SEED, LENGTH, STOP)
GENERATE_PARAMS = (MODEL, *SAMPLING, CLAMP, FORCE)  # clamps and branches name one model's units and tokens
COMPARE_PARAMS = (MODELS, *SAMPLING, TEMPS)  # temps: Compare sweeps one model's temperature instead
SWEEP_PARAMS = (MODEL, *COMPARE_PARAMS)  # a sweep's share link also names its model
MODEL_PARAMS = (MODEL,)

LIMITS = {TEMPERATURE: (0.0, 2.0), TOP_K: (0, 1000), TOP_P: (0.01, 1.0), SEED: (0, MAX_SEED), LENGTH: (1, 2000)}
DEFAULTS = {TEMPERATURE: 0.8, TOP_K: 0, TOP_P: 1.0, SEED: 1, LENGTH: 300, STOP: "", CLAMP: "", FORCE: "", TEMPS: ""}
MAX_PROMPT_CHARS = 2000  # a prompt travels in the URL; browsers and proxies cap URL length
MAX_STOP_CHARS = 50  # as typed (rnnlm.sampling allows 50 characters per stop string)
COMPARE_COUNT = (2, 4)
FLOAT_DECIMALS = 2  # the sliders' step: a value off that grid could not be shown or re-shared

# Session-only values.
_STARTED, _NOTICES, _RESULTS = "_started", "_notices", "_results"
_LINK_NOTICES, _PUBLISHED = "_link_notices", "_published"
SESSION_MODELS_KEY = "session_models"  # public: {name: entry}; tests seed it, the fine-tune page fills it
_PICKER = "picker_"  # + corpus / level / cell / name: the sidebar's cascading model picker


# --- reading the URL (pure) ----------------------------------------------------------

def values_from_url(query: Mapping[str, list[str]], catalogue: list[ModelInfo]) -> tuple[dict, list[str]]:
    """Every control's starting value, and one notice per parameter that could not be used."""
    names = [info.name for info in catalogue]
    values: dict[str, Any] = {**DEFAULTS, MODEL: cat.default_model(catalogue).name}
    notices: list[str] = []

    def take(key: str, parsed: tuple) -> None:
        value, problem = parsed
        if problem:
            notices.append(f"{problem}; using {'the default' if value is None else 'the rest'} instead.")
        if value is not None:
            values[key] = value

    first = {key: texts[-1] for key, texts in query.items() if texts}
    if MODEL in first:
        take(MODEL, parse_choice(MODEL, first[MODEL], names))
    for key in (TEMPERATURE, TOP_P):
        if key in first:
            take(key, parse_float(key, first[key], *LIMITS[key]))
    for key in (TOP_K, SEED, LENGTH):
        if key in first:
            take(key, parse_int(key, first[key], *LIMITS[key]))
    model = cat.find(catalogue, values[MODEL])
    values[PROMPT] = cat.default_prompt(model.corpus)
    if PROMPT in first:
        take(PROMPT, parse_text(PROMPT, first[PROMPT], MAX_PROMPT_CHARS))
    if STOP in first:
        take(STOP, parse_text(STOP, first[STOP], MAX_STOP_CHARS))
    if CLAMP in first:
        take(CLAMP, parse_clamp_text(first[CLAMP]))
    if FORCE in first:
        take(FORCE, parse_force_text(first[FORCE]))
    if TEMPS in first:
        take(TEMPS, parse_temps_text(first[TEMPS], *LIMITS[TEMPERATURE], COMPARE_COUNT[1]))
    values[MODELS] = [info.name for info in cat.contrasting(catalogue, model)]
    if query.get(MODELS):
        take(MODELS, parse_choices(MODELS, _split_models(query[MODELS]), names, *COMPARE_COUNT))
    return _normalised(values), notices


def _split_models(texts: list[str]) -> list[str]:
    """models=a&models=b, or models=a,b as people type it by hand."""
    return [name.strip() for text in texts for name in text.split(",") if name.strip()]


def _normalised(values: dict) -> dict:
    for key in (TEMPERATURE, TOP_P):
        values[key] = round(float(values[key]), FLOAT_DECIMALS)
    for key in (TOP_K, SEED, LENGTH):
        values[key] = int(values[key])
    return values


def url_values(values: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, str | list[str]]:
    """The URL parameters for these controls, formatted so values_from_url reads them back.
    An empty stop string, clamp or branch is left out: most links have none."""
    def text(value):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return {key: [str(name) for name in values[key]] if key == MODELS else text(values[key]) for key in keys
            if not (key in (STOP, CLAMP, FORCE, TEMPS) and not values.get(key))}


# --- session start and the URL -------------------------------------------------------

def start(catalogue: list[ModelInfo]) -> None:
    """Read the URL once per session; afterwards keep the chosen models valid."""
    state = st.session_state
    if _STARTED not in state:
        query = {key: st.query_params.get_all(key) for key in st.query_params}
        values, notices = values_from_url(query, catalogue)
        state.update(values)
        state[_NOTICES] = state.pop(_LINK_NOTICES, []) + notices
        state[_STARTED] = True
    names = [info.name for info in catalogue]
    if state[MODEL] not in names:  # e.g. a session model that was removed
        state[MODEL] = cat.default_model(catalogue).name
    kept = [name for name in state[MODELS] if name in names]  # fewer than two is the user's choice
    state[MODELS] = kept or [info.name for info in cat.contrasting(catalogue, current_model(catalogue))]


def started() -> bool:
    """Whether this session has read its URL already (its first run has not, until start())."""
    return _STARTED in st.session_state


def linked_models() -> list[str]:
    """The model names the URL gives (model= and models=), as typed."""
    return [*st.query_params.get_all(MODEL)[-1:], *_split_models(st.query_params.get_all(MODELS))]


def drop_linked_model(name: str, notice: str) -> None:
    """A model the link names cannot be opened: the link's other values still apply, the notice
    says why (start() shows it, before the notices of the link's other values)."""
    if st.query_params.get_all(MODEL)[-1:] == [name]:
        del st.query_params[MODEL]
    kept = [other for other in _split_models(st.query_params.get_all(MODELS)) if other != name]
    if MODELS in st.query_params and kept:
        st.query_params[MODELS] = kept
    elif MODELS in st.query_params:
        del st.query_params[MODELS]
    st.session_state.setdefault(_LINK_NOTICES, []).append(notice)


def shared_query(model: str) -> dict[str, str | list[str]]:
    """The URL parameters that open Generate on this model with this session's sampling controls."""
    return url_values({**st.session_state, MODEL: model}, (MODEL, *SAMPLING))


def write_url(keys: tuple[str, ...]) -> None:
    """Make the address bar hold exactly these controls (only when it differs, to avoid churn)."""
    wanted = url_values(st.session_state, keys)
    as_lists = {key: value if isinstance(value, list) else [value] for key, value in wanted.items()}
    present = {key: st.query_params.get_all(key) for key in st.query_params}
    if present != as_lists:
        st.query_params.from_dict(wanted)


def share_query(keys: tuple[str, ...]) -> dict[str, str | list[str]]:
    return url_values(st.session_state, keys)


def notices() -> list[str]:
    return list(st.session_state.get(_NOTICES, []))


def dismiss_notices() -> None:
    st.session_state[_NOTICES] = []


# --- controls ------------------------------------------------------------------------

def value(key: str) -> Any:
    return st.session_state[key]


def widget_key(key: str) -> str:
    return f"widget_{key}"


def bind(key: str) -> dict:
    """Keyword arguments for the widget that edits control `key` (call right before drawing it)."""
    st.session_state[widget_key(key)] = value(key)
    return {"key": widget_key(key), "on_change": _store, "args": (key,)}


def _store(key: str) -> None:
    st.session_state[key] = st.session_state[widget_key(key)]
    _normalised(st.session_state)
    dismiss_notices()  # the user has moved on from the link they opened


def roll_seed() -> None:
    st.session_state[SEED] = random.randrange(0, 1_000_000)  # short numbers are easier to share
    dismiss_notices()


def request(clamped: bool = False) -> Request:
    """The sampling controls as a Request; with the Generate page's clamps and branches when clamped."""
    s = st.session_state
    return Request(s[MODEL], s[PROMPT], s[TEMPERATURE], s[TOP_K], s[TOP_P], s[SEED], s[LENGTH], s[STOP],
                   s[CLAMP] if clamped else "", s[FORCE] if clamped else "")


def compare_models() -> list[str]:
    return list(st.session_state[MODELS])


# --- the model picker ----------------------------------------------------------------

def current_model(catalogue: list[ModelInfo]) -> ModelInfo:
    return cat.find(catalogue, st.session_state[MODEL])


def choose_model(name: str, catalogue: list[ModelInfo]) -> None:
    """Switch model; an untouched default prompt follows the new model's corpus."""
    old, new = current_model(catalogue), cat.find(catalogue, name)
    if new is None:
        return
    if old is not None and st.session_state[PROMPT] == cat.default_prompt(old.corpus):
        st.session_state[PROMPT] = cat.default_prompt(new.corpus)
    st.session_state[MODEL] = name
    dismiss_notices()


def bind_picker(attribute: str, catalogue: list[ModelInfo]) -> dict:
    """Widget arguments for one step of the cascading picker (corpus, level, cell or name)."""
    key = _PICKER + attribute
    st.session_state[key] = getattr(current_model(catalogue), attribute)
    return {"key": key, "on_change": _picked, "args": (attribute, catalogue)}


def _picked(attribute: str, catalogue: list[ModelInfo]) -> None:
    chosen = st.session_state[_PICKER + attribute]
    if attribute == "name":
        choose_model(chosen, catalogue)
    else:
        choose_model(cat.closest(catalogue, current_model(catalogue), **{attribute: chosen}).name, catalogue)


# --- models made in this session (the fine-tune page adds them) -----------------------

def add_session_model(entry: dict) -> None:
    """entry: manifest fields (rnnlm.zoo.ENTRY_FIELDS) plus "path", the model folder.

    Names are restricted because pages show them in markdown and in the URL."""
    if not is_plain_name(str(entry.get("name", ""))):
        raise ValueError(f"model name {entry.get('name')!r}: use 1-64 letters, digits, '.', '_' or '-'")
    st.session_state.setdefault(SESSION_MODELS_KEY, {})[entry["name"]] = dict(entry)


def session_model_entries() -> list[dict]:
    return list(st.session_state.get(SESSION_MODELS_KEY, {}).values())


def published(folder: str) -> dict:
    """What publishing the session model in folder gave: {} before, {"id": ...} or {"problem": ...}."""
    return dict(st.session_state.get(_PUBLISHED, {}).get(str(folder), {}))


def set_published(folder: str, outcome: dict) -> None:
    st.session_state.setdefault(_PUBLISHED, {})[str(folder)] = dict(outcome)


# --- results kept between runs (Inspect can read what Generate produced) --------------

def remember(page: str, result: Any) -> None:
    st.session_state.setdefault(_RESULTS, {})[page] = result


def recall(page: str) -> Any:
    return st.session_state.get(_RESULTS, {}).get(page)


def last_generation():
    """The Generate page's latest playground.widgets.generation.Generation (None before the first)."""
    return recall("generate")


# --- mechanism the pages share ---------------------------------------------------------

_SESSION_ID = "_session_id"


def session_id() -> str:
    """This session's own id (Streamlit's AppTest gives every test session the same one)."""
    if _SESSION_ID not in st.session_state:
        import uuid
        st.session_state[_SESSION_ID] = uuid.uuid4().hex
    return st.session_state[_SESSION_ID]


def remove_session_model(name: str) -> None:
    """A session model whose folder is gone (swept after the session sat unused)."""
    st.session_state.get(SESSION_MODELS_KEY, {}).pop(name, None)


def start_page(defaults: dict) -> None:
    """A page's control defaults on its first visit."""
    for key, default in defaults.items():
        st.session_state.setdefault(key, default)


def set_value(key: str, new_value: Any) -> None:
    """Change a canonical control from a page's own callback (a click in a chart, a found cell)."""
    st.session_state[key] = new_value


def chart_points(chart_key: str) -> list[dict]:
    """The points selected (clicked) in the chart drawn with this key; [] when none."""
    event = st.session_state.get(chart_key) or {}
    return list((event.get("selection") or {}).get("points") or [])


def keep_valid(key: str, options: list) -> None:
    """A control's value stays one of its options (the model may have changed), else the first."""
    if st.session_state[key] not in options:
        st.session_state[key] = options[0]
