"""Models shared through the server's model store: publishing a session's model, and opening
the models a link names (`?model=u-<id>`, or in Compare's `models=`) in a new session.

    shared_models.open_linked_models()   # app.py, before the catalogue: on a session's first run
    model_id = shared_models.publish(entry, facts)   # the Publish a link button's work

A shared model joins the session's picker like a fine-tuned one (state.add_session_model), named
by its id and loaded from the store's folder (resources.open_stored validates it). A link to an
id the store does not have falls back to a shipped model with a notice, as a link to another
session's model does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from playground import resources, state
from playground.catalogue import SHARED_CORPUS
from playground.session_models import entry_for
from rnnlm.errors import RnnlmError
from rnnlm.service.store_meta import ID_PREFIX, is_store_id

if TYPE_CHECKING:  # annotations only: the first page is drawn before torch is imported
    from rnnlm.service.store_meta import PublishFacts

log = logging.getLogger(__name__)


def _known(model_id: str) -> bool:
    return any(entry["name"] == model_id for entry in state.session_model_entries())


def open_linked_models() -> None:
    """On the session's first run, every u-<id> the link names joins the picker; one that cannot
    be opened is dropped from the link, with a notice saying why."""
    if state.started():
        return
    for name in dict.fromkeys(state.linked_models()):
        if not name.startswith(ID_PREFIX) or _known(name):
            continue
        try:
            open_shared(name)
        except RnnlmError as exc:
            state.drop_linked_model(name, f"model={name[:40]!r} cannot be opened: {exc} Using a shipped model "
                                          "instead.")
        except Exception:  # a bug must not cost the visitor the rest of the page
            log.exception("opening the shared model %s failed", name)
            state.drop_linked_model(name, f"model={name[:40]!r} could not be opened (a server error); using a "
                                          "shipped model instead.")


def open_shared(model_id: str) -> dict:
    """Load (and validate) the stored model into the picker; its entry. RnnlmError if it cannot."""
    if not is_store_id(model_id):
        raise RnnlmError(f"it is not a complete shared-model id ({ID_PREFIX} and 32 hex digits): copy the "
                         "whole link.")
    store = resources.model_store()
    folder = store.check(model_id)  # not there, or expired: a clear message; opened now
    lm = resources.open_stored(str(store.root), model_id, (folder / "config.json").stat().st_mtime)
    meta = store.meta(model_id)
    after = meta.nats_after if meta.nats_after is not None else lm.metadata.get("val_nats_per_char")
    entry = {**entry_for(lm, model_id, folder, after), "corpus": SHARED_CORPUS, "store": str(store.root)}
    state.add_session_model(entry)
    return entry


def publish(entry: dict, facts: PublishFacts) -> str:
    """Store the session model of entry and add it to the picker under its id (the current pick
    moves to it when it was this model: same weights, and now a link anyone can open); its id."""
    store = resources.model_store()
    model_id = store.publish(Path(entry["path"]), facts, state.session_id())
    if not _known(model_id):
        state.add_session_model({**entry, "name": model_id, "path": str(store.folder(model_id)),
                                 "corpus": SHARED_CORPUS, "store": str(store.root)})
    if state.value(state.MODEL) == entry["name"]:
        state.set_value(state.MODEL, model_id)
    return model_id


def expires_at(model_id: str) -> float | None:
    """When the stored model expires unless opened again; None if it is no longer stored."""
    try:
        return resources.model_store().expires_at(model_id)
    except (OSError, RnnlmError):
        return None


def card(model_id: str) -> str | None:
    """The stored model's card (markdown made of plain names, numbers and dates); None if gone."""
    try:
        return resources.model_store().card(model_id)
    except (OSError, RnnlmError):
        return None
