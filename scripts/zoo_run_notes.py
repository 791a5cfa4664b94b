"""Write the "Run notes" section of lane-trained zoo cards from their manifest figures.

    python scripts/zoo_run_notes.py c-char-gru linux-char-lstm ...

How long each ran, on what, how much of its corpus it saw; for Linux char models, the
distance to the 2015 paper's figure. Publishing rewrites a card, so run this after it.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from train.cells import replace_section  # noqa: E402

# Characters in each training split (the corpus minus its held-out share).
TRAIN_CHARS = {"c": 3784442 * 0.95, "linux": 9432875 * 0.95, "tinyshakespeare": 1115394 * 0.9}
manifest = json.loads((ROOT / "pretrained" / "manifest.json").read_text())
for name in sys.argv[1:]:
    e = next(m for m in manifest["models"] if m["name"] == name)
    chars_seen = e["tokens_seen"] * e.get("chars_per_token", 1.0)
    epochs = chars_seen / TRAIN_CHARS[e["corpus"]]
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
    trained = json.loads((ROOT / "pretrained" / name / "config.json").read_text())["training"]
    fp32 = trained.get("val_nats_per_char")  # the trainer's last full evaluation, before storing as float16
    if e.get("storage_dtype") == "float16" and fp32 is not None:
        text += (f" Weights are stored as float16: the whole validation split scores {e['val_nats_per_char']:.4f} "
                 f"nats/char against {fp32:.5f} in float32 at the end of training, a difference of "
                 f"{abs(e['val_nats_per_char'] - fp32):.5f} (the limit for storing float16 is 0.002).")
    card = ROOT / "pretrained" / name / "card.md"
    card.write_text(replace_section(card.read_text(), "## Run notes\n\n" + text + "\n", "## Run notes"))
    print(name, f"{epochs:.2f} epochs")
