"""Write the "Run notes" section of lane-trained zoo cards from their manifest figures.

    python scripts/zoo_run_notes.py c-char-gru linux-char-lstm ...

How long each ran, on what, how much of its corpus it saw; for Linux char models, the
distance to the 2015 paper's figure. Publishing rewrites a card, so run this after it.
"""

import json
import sys

from rnnlm.corpus import DEFAULT_HOLDOUT, SPLIT_FRACTIONS
from rnnlm.zoo import PRETRAINED_DIR, read_manifest
from train.cells import replace_section


def train_chars(entry: dict) -> float:
    """The training split's size, from the held-out size the manifest records and the split rule."""
    held_out = SPLIT_FRACTIONS.get(entry["corpus"], DEFAULT_HOLDOUT)
    return entry["val_chars"] * (1 - held_out) / held_out


entries = {m["name"]: m for m in read_manifest()}
for name in sys.argv[1:]:
    e = entries[name]
    chars_seen = e["tokens_seen"] * e.get("chars_per_token", 1.0)
    epochs = chars_seen / train_chars(e)
    text = (f"Trained in one of two lanes side by side (`scripts/train-zoo-lane.sh`), each run on one core "
            f"(`threads = 1` in its config) while the other lane used the second core, inside a "
            f"{round(e['training_minutes'])}-minute budget: {e['steps']:,} steps, about {chars_seen / 1e6:.1f}M "
            f"characters seen ({epochs:.2f} epochs of the training split). The figures reflect that budget more "
            "than the architecture: the loss was still falling when the time ran out.")
    if e["corpus"] == "linux" and e["level"] == "char":
        text += (" For scale: the best Linux-kernel model of Karpathy, Johnson and Fei-Fei (2015), "
                 "\"Visualizing and Understanding Recurrent Networks\", reached 0.84 on its own split, trained "
                 "on a GPU; this model is "
                 f"{e['val_nats_per_char'] - 0.84:.2f} nats/char behind after {chars_seen / 1e6:.1f}M characters.")
    trained = json.loads((PRETRAINED_DIR / name / "config.json").read_text())["training"]
    fp32 = trained.get("val_nats_per_char")  # the trainer's last full evaluation, before storing as float16
    if e.get("storage_dtype") == "float16" and fp32 is not None:
        text += (f" Weights are stored as float16: the whole validation split scores {e['val_nats_per_char']:.4f} "
                 f"nats/char against {fp32:.5f} in float32 at the end of training, a difference of "
                 f"{abs(e['val_nats_per_char'] - fp32):.5f} (the limit for storing float16 is 0.002).")
    card = PRETRAINED_DIR / name / "card.md"
    card.write_text(replace_section(card.read_text(), "## Run notes\n\n" + text + "\n", "## Run notes"))
    print(name, f"{epochs:.2f} epochs")
