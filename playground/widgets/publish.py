"""The "Publish a link" button and the link it gives: Fine-tune's result and the Models page
show them for a session model (one that exists only in this browser session).

    publish.button(entry, facts_of, key="ft_publish")   # facts_of() -> PublishFacts, called on click
    publish.link(entry, page_path="finetune")           # the link and its expiry, once published

Publishing stores the model in the server's model store (playground.shared_models); the link
opens Generate on it, with this session's sampling controls, in any session of any server
process that shares the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from playground import shared_models, state
from playground.widgets.blocks import share_url
from playground.widgets.token_html import markdown_literal
from rnnlm.errors import RnnlmError

if TYPE_CHECKING:  # annotations only: the first page is drawn before torch is imported
    from rnnlm.service.store_meta import PublishFacts

log = logging.getLogger(__name__)
HELP = ("Keeps a copy of this model on the server, so that anyone with the link opens it and gets the same "
        "text. It expires when nobody opens it for a while (the link says when).")


def _publish(entry: dict, facts_of: Callable[[], PublishFacts]) -> None:
    """The button's callback: before the rerun, so the sidebar's picker already lists the model."""
    try:
        outcome = {"id": shared_models.publish(entry, facts_of())}
    except RnnlmError as exc:  # a limit, or a model that fails its checks: the message says what to do
        outcome = {"problem": str(exc)}
    except OSError as exc:  # the store's disk: full, read-only, unmounted
        outcome = {"problem": f"The server could not write the shared model ({exc.strerror or exc}); try again "
                              "later, or download the model (.zip) to keep it."}
    except Exception as exc:  # a bug, not the user's doing: still a message, never a traceback
        log.exception("publishing %s failed", entry.get("name"))
        outcome = {"problem": f"Publishing failed ({type(exc).__name__}); download the model (.zip) to keep it."}
    state.set_published(entry["path"], outcome)


def button(entry: dict, facts_of: Callable[[], PublishFacts], key: str, where=st) -> None:
    """The button (in `where`, a column say), until the model is published; disabled after that."""
    done = "id" in state.published(entry["path"])
    where.button("Publish a link", key=key, icon=":material/share:", on_click=_publish, args=(entry, facts_of),
                 disabled=done, help=HELP, width="stretch")


def app_root(page_url: str | None, page_path: str) -> str | None:
    """The app's address from st.context.url on page_path ('http://host/finetune' -> 'http://host')."""
    if not page_url:
        return None
    return page_url.rstrip("/").removesuffix("/" + page_path)


def link(entry: dict, page_path: str) -> None:
    """What publishing gave: the link and when it expires, or why it was refused."""
    outcome = state.published(entry["path"])
    if "problem" in outcome:
        st.error(markdown_literal(outcome["problem"]))
    if "id" not in outcome:
        return
    shared_link(outcome["id"], page_path)


def shared_link(model_id: str, page_path: str) -> None:
    """The link that opens Generate on a stored model, and when the model expires."""
    expires = shared_models.expires_at(model_id)
    if expires is None:
        st.warning(f"The shared copy {model_id} is no longer on the server (it expired or was removed).")
        return
    from rnnlm.service.store_meta import day_text

    st.caption(f":material/link: Link to **{model_id}**: it opens Generate on this model with your sampling "
               f"settings, for anyone, and gives the same text. It expires {day_text(expires)} unless someone "
               "opens it before then (each opening keeps it longer).")
    st.code(share_url(app_root(st.context.url, page_path), state.shared_query(model_id)), language=None,
            wrap_lines=True)
