"""What the model store keeps beside each model, and the names it gives models. No torch here:
the playground checks a link's `?model=u-<id>` before it imports any model code.

    model_id = parse_id("u-0123...")        # the same text, or RnnlmError: never a path
    meta = StoredMeta.from_facts(model_id, PublishFacts(base="shakespeare-char-lstm", text_chars=16000,
                                                        nats_before=2.3, nats_after=1.1), published=now)
    text = meta.to_json(); StoredMeta.from_json(model_id, text)   # validated: bad -> CheckpointError
    card_text(meta, expires_at)                                   # markdown, safe to render

The meta is JSON the server wrote, but it is read back from a shared folder, so every field
is checked on the way in and only plain names and numbers ever reach the card.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from ..errors import CheckpointError, RnnlmError
from ..units import is_plain_name

ID_PREFIX = "u-"
ID_HEX_CHARS = 32  # 128 bits of sha256: unguessable, and short enough for a link
ID_PATTERN = re.compile(r"u-[0-9a-f]{32}")
META_FILE = "meta.json"
META_FORMAT, META_VERSION = "rnnlm-store-meta", 1
MAX_META_BYTES = 64 << 10
MB = 1 << 20
DAY = 86400.0


def is_store_id(text: object) -> bool:
    return isinstance(text, str) and ID_PATTERN.fullmatch(text) is not None


def parse_id(text: object) -> str:
    """text when it is a store id (u- and 32 lower-case hex digits); otherwise RnnlmError, before
    anything touches the filesystem: an id is only ever a folder name after this check."""
    if not is_store_id(text):
        shown = repr(str(text)[:80])
        raise RnnlmError(f"{shown} is not a shared model's id (u- followed by {ID_HEX_CHARS} hex digits); "
                         "copy the whole link again")
    return text


@dataclass(frozen=True)
class StoreLimits:
    """What the store holds; the settings (rnnlm.service.settings, docs/DEPLOY.md) fill it."""
    max_model_bytes: int = 64 * MB  # one model's files
    models_per_session: int = 5  # models a session has published that are still in the store
    max_total_bytes: int = 1024 * MB  # every model together; least recently opened ones are evicted
    expiry_days: float = 30.0  # a model not opened for this long is removed
    keep_hours: float = 1.0  # never evicted within this long of its last opening: a link just shared keeps working


@dataclass(frozen=True)
class PublishFacts:
    """What the publisher knows about the model: its card shows these."""
    base: str | None = None  # the model it was fine-tuned from; None: trained from scratch
    text_chars: int | None = None  # characters of text it was trained on
    nats_before: float | None = None  # held-out nats/char of the base, before training
    nats_after: float | None = None  # the same held-out text, after


def facts_from_metadata(metadata: dict, nats_before: float | None = None) -> PublishFacts:
    """PublishFacts from a model's config.json "training" section (what fit recorded there)."""
    facts = metadata.get("facts") if isinstance(metadata.get("facts"), dict) else {}
    return PublishFacts(base=_name(facts.get("base_model")), text_chars=_count(facts.get("upload_chars")),
                        nats_before=_figure(nats_before), nats_after=_figure(metadata.get("val_nats_per_char")))


@dataclass(frozen=True)
class StoredMeta:
    model_id: str
    published: float  # seconds since the epoch
    base: str | None
    text_chars: int | None
    nats_before: float | None
    nats_after: float | None

    @classmethod
    def from_facts(cls, model_id: str, facts: PublishFacts, published: float) -> StoredMeta:
        return cls(parse_id(model_id), float(published), _name(facts.base), _count(facts.text_chars),
                   _figure(facts.nats_before), _figure(facts.nats_after))

    def to_json(self) -> str:
        return json.dumps({"format": META_FORMAT, "version": META_VERSION, **asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, model_id: str, text: str) -> StoredMeta:
        """The meta of model_id, checked field by field; CheckpointError if it is not one we wrote."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise CheckpointError(f"{META_FILE} of {model_id} is not valid JSON") from None
        fields = {"format", "version", "model_id", "published", "base", "text_chars", "nats_before", "nats_after"}
        if not isinstance(data, dict) or set(data) != fields or data["format"] != META_FORMAT \
                or data["version"] != META_VERSION or data["model_id"] != model_id:
            raise CheckpointError(f"{META_FILE} of {model_id} is not this store's (wrong fields or id)")
        published = _figure(data["published"])
        bad = [key for key, check in (("base", _name), ("text_chars", _count), ("nats_before", _figure),
                                      ("nats_after", _figure)) if data[key] is not None and check(data[key]) is None]
        if published is None or bad:
            raise CheckpointError(f"{META_FILE} of {model_id} holds unusable values ({', '.join(bad) or 'published'})")
        return cls(model_id, published, data["base"], data["text_chars"], data["nats_before"], data["nats_after"])


def _name(value) -> str | None:
    return value if isinstance(value, str) and is_plain_name(value) else None


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 53 else None


def _figure(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def day_text(seconds: float) -> str:
    """'2025-03-01 14:05 UTC'."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def origin_text(meta: StoredMeta) -> str:
    """'fine-tuned from `x` on 16,000 characters' (markdown: a plain name in a code span)."""
    origin = f"fine-tuned from `{meta.base}`" if meta.base else "trained from scratch"
    return origin + (f" on {meta.text_chars:,} characters of text" if meta.text_chars is not None else "")


def figures_text(meta: StoredMeta) -> str:
    """'held-out loss 2.310 → 1.050 nats/char (before → after training)', or what is known of it."""
    before, after = meta.nats_before, meta.nats_after
    if before is not None and after is not None:
        return f"held-out loss {before:.3f} → {after:.3f} nats/char (before → after training)"
    if after is not None:
        return f"held-out loss {after:.3f} nats/char after training"
    return "held-out loss not measured"


def card_text(meta: StoredMeta, expires_at: float, expiry_days: float) -> str:
    """The stored model's card: markdown made only of plain names, numbers and dates."""
    figures = figures_text(meta)
    return (f"**{meta.model_id}** · a shared model, {origin_text(meta)}.\n\n"
            f"- {figures[:1].upper()}{figures[1:]}\n"
            f"- Published {day_text(meta.published)}\n"
            f"- Expires {day_text(expires_at)}: {expiry_days:g} days after it was last opened "
            "(each opening of its link moves this date)\n")
