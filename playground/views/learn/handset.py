"""Lesson: the lecture's hand-set LSTM (or a GRU), stepped through editable inputs with
editable weights, the equations beside the live numbers."""

import math

import pandas as pd
import streamlit as st

from playground import state
from playground.views.learn import handset_chart, keys
from rnnlm.errors import SettingsError
from rnnlm.lessons.handset import ACTIVATIONS, GRU_INPUTS, LECTURE_INPUTS, Gate, HandSetGRU, HandSetLSTM

GATES = {"LSTM": {"input_gate": "input gate i", "forget_gate": "forget gate f", "output_gate": "output gate o",
                  "cell_input": "cell input g"},
         "GRU": {"reset_gate": "reset gate r", "update_gate": "update gate z", "candidate": "candidate n"}}
EQUATIONS = {
    "LSTM": [(r"i_t = \sigma(w_i \cdot x_t + b_i) \quad f_t = \sigma(w_f \cdot x_t + b_f) \quad "
             r"o_t = \sigma(w_o \cdot x_t + b_o)"),
             r"g_t = w_g \cdot x_t + b_g \qquad c_t = f_t\, c_{t-1} + i_t\, g_t \qquad h_t = o_t\, c_t"],
    "GRU": [r"r_t = \sigma(w_r \cdot x_t + b_r) \qquad z_t = \sigma(w_z \cdot x_t + b_z)",
            r"n_t = w_n \cdot x_t + b_n + r_t\, u\, h_{t-1} \qquad h_t = (1 - z_t)\, n_t + z_t\, h_{t-1}"],
}
STORY = {
    "LSTM": "The lecture's cell: **x2 = 1 writes** x1 into the memory (input and forget gates open), "
            "**x2 = −1 resets** it (forget gate shut), **x3 = 1 reads** it (output gate open). Weights of ±100 "
            "push each sigmoid to 0 or 1, so the memory reads 3, 7, 7, 7, 0, 6, 6 and the output 0, 0, 0, 7, 0, 0, 6.",
    "GRU": "A GRU has no output gate: its memory is always its output. Here **x2 = 1 adds** x1 to the memory "
           "(update gate 0, reset gate 1), **x3 = 1 replaces** the memory with x1 (update gate 0, reset gate 0), "
           "anything else keeps it (update gate 1).",
}


def default_cell(kind: str):
    return HandSetLSTM() if kind == "LSTM" else HandSetGRU()


def weights_frame(kind: str) -> pd.DataFrame:
    cell = default_cell(kind)
    rows = []
    for field, label in GATES[kind].items():
        gate = getattr(cell, field)
        rows.append({"gate": label, "w1 (x1)": gate.weights[0], "w2 (x2)": gate.weights[1],
                     "w3 (x3)": gate.weights[2], "bias": gate.bias, "activation": gate.activation})
    return pd.DataFrame(rows)


def inputs_frame(kind: str) -> pd.DataFrame:
    return pd.DataFrame(LECTURE_INPUTS if kind == "LSTM" else GRU_INPUTS, columns=["x1", "x2", "x3"], dtype=float)


def cell_from_tables(kind: str, weights: pd.DataFrame):
    gates = {}
    for field, (_, row) in zip(GATES[kind], weights.iterrows()):
        numbers = [row["w1 (x1)"], row["w2 (x2)"], row["w3 (x3)"], row["bias"]]
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in numbers):
            raise SettingsError(f"the {row['gate']} row has an empty cell: give every weight and bias a number")
        gates[field] = Gate(tuple(float(v) for v in numbers[:3]), float(numbers[3]), row["activation"] or "sigmoid")
    if kind == "LSTM":
        return HandSetLSTM(**gates, output_activation=state.value(keys.LN_HS_OUTPUT))
    return HandSetGRU(**gates, recurrent_weight=float(state.value(keys.LN_HS_U)))


def input_rows(inputs: pd.DataFrame) -> list[tuple]:
    rows = inputs[["x1", "x2", "x3"]].dropna(how="all")
    if rows.isna().any().any():
        raise SettingsError("an input row has an empty cell: give x1, x2 and x3 a number, or delete the row")
    return [tuple(r) for r in rows.itertuples(index=False)]


def gate_shade(value: float) -> str:
    """A gate's cell tinted by how open it is: the gates opening and shutting show at a glance."""
    if math.isnan(value):
        return ""
    return f"background-color: rgba(31, 119, 180, {min(max(value, 0.0), 1.0) * 0.6:.2f})"


def step_table(rows: list[dict]):
    """One row per step: the inputs, each gate (shaded), the memory before and after, the output."""
    table = pd.DataFrame(rows)
    table.index = [f"t={t + 1}" for t in range(len(rows))]
    gates = [name for name in table.columns if name.endswith("gate")]
    return table.style.format("{:.3f}").map(gate_shade, subset=gates)


def reset_tables() -> None:
    for key in (keys.LN_HS_INPUTS, keys.LN_HS_WEIGHTS):
        st.session_state.pop(f"{key}_{st.session_state[keys.LN_HS_CELL]}", None)


def controls(kind: str, editing: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The inputs and weights: editable grids, or the lecture's as static tables. The grids load a
    data-grid library, 10-18% of the Learn page's open in a fresh browser (bench/bench_pages.py),
    so the page opens on the static tables; turning editing off drops the edits (the grids' state)."""
    left, right = st.columns([2, 3])
    with left:
        if editing:
            st.markdown("**Inputs** (one row per step; add or delete rows)")
            inputs = st.data_editor(inputs_frame(kind), num_rows="dynamic", hide_index=True, width="stretch",
                                    key=f"{keys.LN_HS_INPUTS}_{kind}")
        else:
            st.markdown("**Inputs** (one row per step)")
            inputs = inputs_frame(kind)
            st.table(inputs.style.format("{:g}"), hide_index=True)
    with right:
        if editing:
            st.markdown("**Weights** (edit any number)")
            activation = st.column_config.SelectboxColumn("activation", options=list(ACTIVATIONS), required=True)
            weights = st.data_editor(weights_frame(kind), hide_index=True, width="stretch", disabled=["gate"],
                                     column_config={"activation": activation}, key=f"{keys.LN_HS_WEIGHTS}_{kind}")
        else:
            st.markdown("**Weights**")
            weights = weights_frame(kind)
            st.table(weights.style.format("{:g}", subset=["w1 (x1)", "w2 (x2)", "w3 (x3)", "bias"]), hide_index=True)
        if kind == "LSTM":
            st.radio("Output h = o · act(c), act:", list(ACTIVATIONS), horizontal=True,
                     **state.bind(keys.LN_HS_OUTPUT))
        else:
            st.number_input("u: the weight of the memory inside the candidate", -100.0, 100.0, step=0.5,
                            **state.bind(keys.LN_HS_U))
        if editing:
            st.button("Back to the lecture's weights and inputs", icon=":material/restart_alt:", on_click=reset_tables)
    return inputs, weights


def show(_catalogue, _info) -> None:
    st.radio("Cell", ["LSTM", "GRU"], horizontal=True, **state.bind(keys.LN_HS_CELL))
    kind = state.value(keys.LN_HS_CELL)
    st.markdown(STORY[kind])
    for line in EQUATIONS[kind]:
        st.latex(line)
    st.toggle("Edit the inputs and weights", help="Off: the lecture's numbers", **state.bind(keys.LN_HS_EDIT))
    inputs, weights = controls(kind, state.value(keys.LN_HS_EDIT))
    try:
        rows = cell_from_tables(kind, weights).run(input_rows(inputs))
    except SettingsError as exc:
        st.error(f"{exc}.", icon=":material/block:")
        return
    if not rows:
        st.info("Add an input row to step the cell.")
        return
    st.table(step_table(rows))
    # The charts wait for a click: the lesson is what the Learn page opens on, and the two charts were
    # a third of its open in a fresh browser (bench/bench_pages.py); the table holds every number.
    with st.expander("The steps as charts: memory, output and each gate", key=keys.LN_HS_CHARTS,
                     on_change="rerun") as charts:
        if charts.open:
            st.vega_lite_chart(handset_chart.state_spec(rows, kind), width="stretch", height=300, key="ln_hs_chart")
            st.vega_lite_chart(handset_chart.gates_spec(rows), width="stretch", height=240, key="ln_hs_gates")
