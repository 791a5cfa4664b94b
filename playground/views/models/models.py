"""Models page: every available model as a table, and each model's card (drawn when its expander opens)."""

import functools

import streamlit as st

from playground import catalogue as cat
from playground import resources, shared_models, state
from playground.views.models import curve
from playground.widgets import blocks, publish
from rnnlm.service.model_zip import model_zip_bytes
from rnnlm.service.store_meta import PublishFacts, facts_from_metadata

PAGE_PATH = "models"  # this page's address (app.py): a link is made from the app's root


def stored_facts(info) -> PublishFacts:
    """The shared card's facts from what training recorded in the model (no before figure: only
    the Fine-tune page's result has it)."""
    return facts_from_metadata(resources.load(info).metadata)


def table_rows(catalogue) -> list[dict]:
    return [{"model": info.name, "corpus": cat.corpus_label(info.corpus), "level": info.level,
             "cell": cat.CELL_LABELS.get(info.cell, info.cell), "layers": info.layers, "hidden": info.hidden_size,
             "parameters": info.parameters, "val nats/char": round(info.val_nats_per_char, 4),
             "xz nats/char": info.entry.get("xz_nats_per_char"),
             "adapted, first 100k": info.entry.get("adapt_nats_per_char"),
             "xz, first 100k": info.entry.get("xz_adapt_nats_per_char"),
             "training minutes": info.entry.get("training_minutes"),
             "source": source(info)}
            for info in catalogue]


def source(info) -> str:
    if info.shared:
        return "shared link"
    return "this session" if info.from_session else ("smoke test" if info.smoke else "shipped")


def card(info) -> None:
    if info.shared:  # the store's card: built from its meta.json, only plain names, numbers and dates
        st.markdown(shared_models.card(info.name) or f"**{info.name}** is no longer in the server's store.")
        return
    card_file = resources.model_folder(info) / "card.md"
    if card_file.is_file() and info.from_session:
        # An uploaded zip's card is user text: shown verbatim, so its links and images never load.
        st.text(card_file.read_text(encoding="utf-8", errors="replace"))
    elif card_file.is_file():
        st.markdown(card_file.read_text(encoding="utf-8"))  # shipped cards are repo files
    else:
        st.markdown(f"**{info.name}**: {info.shape}, {info.parameters:,} parameters, "
                    f"{info.val_nats_per_char:.4f} validation nats/char. No card was written for this model.")


def learning_curve(info) -> None:
    points = curve.read_points(resources.model_folder(info))
    if not points:
        return
    x = st.radio("Learning curve against", list(curve.AXES), format_func=curve.AXES.get, horizontal=True,
                 key=f"curve-x-{info.name}")
    st.vega_lite_chart(curve.curve_spec(points, x, info.val_nats_per_char, info.entry.get("xz_nats_per_char")),
                       width="stretch", height=300, key=f"curve-{info.name}")
    st.caption("Held-out nats/char at each evaluation during training (intermediate ones may score a slice of "
               "the split); the dotted line is the published whole-split figure, the dashed one xz's.")


def card_key(info) -> str:
    """Whether this model's expander is open. Not its `expanded` default: that would make a new
    expander each time the sidebar's pick changes, closing the one the user was reading."""
    return f"card-{info.name}"


def details(info, current, catalogue) -> None:
    """What an open expander holds: use, download or share the model, its learning curve and card."""
    use, download = st.columns(2)
    use.button("Use this model", key=f"use-{info.name}", on_click=state.choose_model,
               args=(info.name, catalogue), disabled=info.name == current.name)
    # Zipped only when clicked: the same zip the Fine-tune page imports (weights, tokenizer, card).
    download.download_button("Download the model (.zip)", functools.partial(
        model_zip_bytes, resources.model_folder(info)), f"{info.name}.zip", "application/zip",
        key=f"zip-{info.name}", on_click="ignore", icon=":material/download:")
    if info.shared:
        publish.shared_link(info.name, page_path=PAGE_PATH)
    elif info.from_session:  # only this session has it: a link can share it
        publish.button(info.entry, functools.partial(stored_facts, info), key=f"publish-{info.name}")
        publish.link(info.entry, page_path=PAGE_PATH)
    learning_curve(info)
    card(info)


def show() -> None:
    catalogue = blocks.catalogue()
    current = state.current_model(catalogue)
    st.title("Models")
    st.caption("Validation loss is in nats per character on held-out text (lower is better), "
               "so char and word models compare directly. xz: what the compressor xz -9e needs for the same "
               "text after reading the training text, the bar a model has to beat.")
    st.dataframe(table_rows(catalogue), hide_index=True, width="stretch",
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})
    # Streamlit draws a closed expander's content too, hidden: fourteen cards (markdown, code blocks,
    # learning curves) took seconds to open in the browser. Tracking whether each is open (one rerun
    # per click) lets a closed one send nothing: the page opens on the table and the sidebar model's card.
    st.session_state.setdefault(card_key(current), True)  # on each visit, and when the pick changes
    for info in catalogue:
        with st.expander(f"{info.name} · {cat.corpus_label(info.corpus)} · {info.shape}", key=card_key(info),
                         on_change="rerun") as box:
            if box.open:
                details(info, current, catalogue)


show()
