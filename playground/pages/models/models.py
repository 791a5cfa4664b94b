"""Models page: every available model as a table, and each model's card."""

import streamlit as st

from playground import catalogue as cat
from playground import resources, state
from playground.widgets import blocks


def table_rows(catalogue) -> list[dict]:
    return [{"model": info.name, "corpus": cat.corpus_label(info.corpus), "level": info.level,
             "cell": cat.CELL_LABELS.get(info.cell, info.cell), "layers": info.layers, "hidden": info.hidden_size,
             "parameters": info.parameters, "val nats/char": round(info.val_nats_per_char, 4),
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


def show() -> None:
    catalogue = blocks.catalogue()
    current = state.current_model(catalogue)
    st.title("Models")
    st.caption("Validation loss is in nats per character on held-out text (lower is better), "
               "so char and word models compare directly.")
    st.dataframe(table_rows(catalogue), hide_index=True, width="stretch",
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})
    for info in catalogue:
        with st.expander(f"{info.name} · {cat.corpus_label(info.corpus)} · {info.shape}",
                         expanded=info.name == current.name):
            st.button("Use this model", key=f"use-{info.name}", on_click=state.choose_model,
                      args=(info.name, catalogue), disabled=info.name == current.name)
            card(info)


show()
