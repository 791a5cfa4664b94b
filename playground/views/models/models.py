"""Models page: every available model as a table, and each model's card."""

import functools

import streamlit as st

from playground import catalogue as cat
from playground import resources, state
from playground.views.models import curve
from playground.widgets import blocks
from rnnlm.service.model_zip import model_zip_bytes


def table_rows(catalogue) -> list[dict]:
    return [{"model": info.name, "corpus": cat.corpus_label(info.corpus), "level": info.level,
             "cell": cat.CELL_LABELS.get(info.cell, info.cell), "layers": info.layers, "hidden": info.hidden_size,
             "parameters": info.parameters, "val nats/char": round(info.val_nats_per_char, 4),
             "xz nats/char": info.entry.get("xz_nats_per_char"),
             "training minutes": info.entry.get("training_minutes"),
             "source": "this session" if info.from_session else ("smoke test" if info.smoke else "shipped")}
            for info in catalogue]


def card(info) -> None:
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
    st.plotly_chart(curve.curve_figure(points, x, info.val_nats_per_char, info.entry.get("xz_nats_per_char")),
                    key=f"curve-{info.name}")
    st.caption("Held-out nats/char at each evaluation during training (intermediate ones may score a slice of "
               "the split); the dotted line is the published whole-split figure, the dashed one xz's.")


def show() -> None:
    catalogue = blocks.catalogue()
    current = state.current_model(catalogue)
    st.title("Models")
    st.caption("Validation loss is in nats per character on held-out text (lower is better), "
               "so char and word models compare directly. xz: what the compressor xz -9e needs for the same "
               "text after reading the training text, the bar a model has to beat.")
    st.dataframe(table_rows(catalogue), hide_index=True, width="stretch",
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})
    for info in catalogue:
        with st.expander(f"{info.name} · {cat.corpus_label(info.corpus)} · {info.shape}",
                         expanded=info.name == current.name):
            use, download = st.columns(2)
            use.button("Use this model", key=f"use-{info.name}", on_click=state.choose_model,
                       args=(info.name, catalogue), disabled=info.name == current.name)
            # Zipped only when clicked: the same zip the Fine-tune page imports (weights, tokenizer, card).
            download.download_button("Download the model (.zip)", functools.partial(
                model_zip_bytes, resources.model_folder(info)), f"{info.name}.zip", "application/zip",
                key=f"zip-{info.name}", on_click="ignore", icon=":material/download:")
            learning_curve(info)
            card(info)


show()
