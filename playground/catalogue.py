"""The models a session can pick: the shipped manifest plus models made in this session.

Pure data, no Streamlit. A session model (e.g. from the fine-tune page) is a manifest-like
entry with a "path" to its model folder; shipped models are found by name through rnnlm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Session models' corpora when they were not trained on one of ours: text uploaded to the
# fine-tune page, or a model zip uploaded there whose config names no corpus we know.
UPLOAD_CORPUS, IMPORTED_CORPUS = "uploaded_text", "imported"
SHARED_CORPUS = "shared"  # models opened from the server's model store (a link's ?model=u-<id>)
CORPUS_LABELS = {"tinyshakespeare": "Shakespeare (tiny)", "shakespeare": "Shakespeare",
                 "c": "C code", "c-libs": "C code (zstd, lz4, brotli: previous corpus)",
                 "linux": "Linux kernel", UPLOAD_CORPUS: "Uploaded text", IMPORTED_CORPUS: "Imported models",
                 SHARED_CORPUS: "Shared links"}
DEFAULT_PROMPTS = {"tinyshakespeare": "ROMEO:", "shakespeare": "ROMEO:", "c": "static int", "c-libs": "static int",
                   "linux": "static int"}
CELL_LABELS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


@dataclass(frozen=True)
class ModelInfo:
    name: str
    corpus: str
    level: str  # "char" | "word"
    cell: str  # "lstm" | "gru" | "rnn"
    layers: int
    hidden_size: int
    parameters: int
    val_nats_per_char: float
    path: str | None = None  # set for session models: they are loaded from this folder
    smoke: bool = False
    entry: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def from_session(self) -> bool:
        return self.path is not None

    @property
    def shared(self) -> bool:
        """Opened from the server's model store: a link naming it works in any session."""
        return bool(self.entry.get("store"))

    @property
    def label(self) -> str:
        where = " · shared link" if self.shared else " · this session" if self.from_session else ""
        return f"{self.name} ({human_count(self.parameters)}, {self.val_nats_per_char:.2f} nats/char){where}"

    @property
    def shape(self) -> str:
        return f"{self.level} {CELL_LABELS.get(self.cell, self.cell)}, {self.layers} × {self.hidden_size}"


def human_count(count: int) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= limit:
            return f"{count / limit:.1f}{suffix}"
    return str(count)


def corpus_label(corpus: str) -> str:
    return CORPUS_LABELS.get(corpus, corpus.replace("_", " ").title())


def default_prompt(corpus: str) -> str:
    return DEFAULT_PROMPTS.get(corpus, "")


def model_info(entry: dict, path: str | None = None) -> ModelInfo:
    return ModelInfo(name=str(entry["name"]), corpus=str(entry["corpus"]), level=str(entry["level"]),
                     cell=str(entry["cell"]), layers=int(entry["layers"]), hidden_size=int(entry["hidden_size"]),
                     parameters=int(entry["parameters"]), val_nats_per_char=float(entry["val_nats_per_char"]),
                     path=path, smoke=bool(entry.get("smoke", False)), entry=dict(entry))


def build_catalogue(manifest: list[dict], session_entries: list[dict]) -> list[ModelInfo]:
    """Shipped models first; a session model never hides a shipped one of the same name."""
    shipped = [model_info(entry) for entry in manifest]
    taken = {info.name for info in shipped}
    made_here = [model_info(entry, path=str(entry["path"])) for entry in session_entries if entry["name"] not in taken]
    return shipped + made_here


def find(catalogue: list[ModelInfo], name: str) -> ModelInfo | None:
    return next((info for info in catalogue if info.name == name), None)


FIRST_MODEL = "shakespeare-char-lstm"  # what a new visitor meets: the zoo's best char model, on the classic


def default_model(catalogue: list[ModelInfo]) -> ModelInfo | None:
    """FIRST_MODEL when it is there, else the first properly trained model; smoke-test models
    only when nothing else exists."""
    return (find(catalogue, FIRST_MODEL) or next((info for info in catalogue if not info.smoke), None)
            or (catalogue[0] if catalogue else None))


def options(catalogue: list[ModelInfo], **fixed: str) -> list[ModelInfo]:
    """Models whose attributes (corpus=, level=, cell=) equal the given values."""
    return [info for info in catalogue if all(getattr(info, key) == value for key, value in fixed.items())]


def distinct(values) -> list:
    return list(dict.fromkeys(values))


def closest(catalogue: list[ModelInfo], current: ModelInfo, **wanted: str) -> ModelInfo:
    """After the user changes one attribute: the model with it that keeps most of the rest."""
    candidates = options(catalogue, **wanted) or [current]

    def kept(info: ModelInfo) -> tuple:
        return (info.corpus == current.corpus, info.level == current.level, info.cell == current.cell, not info.smoke)

    return max(candidates, key=kept)  # max keeps the first of equals: manifest order breaks ties


def contrasting(catalogue: list[ModelInfo], current: ModelInfo) -> list[ModelInfo]:
    """A default Compare line-up: the current model and the one most like it (another cell first)."""
    others = [info for info in catalogue if info.name != current.name]
    if not others:
        return [current]

    def likeness(info: ModelInfo) -> tuple:
        return (info.corpus == current.corpus, info.level == current.level, not info.smoke)

    return [current, max(others, key=likeness)]
