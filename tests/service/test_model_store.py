"""The shared model store: publish and open, one id per content, expiry, eviction, a full store,
damaged models, concurrent publishes (threads and processes), and ids that try to be paths.

Models are tiny ones built here (a few KB each), so every limit is set in bytes of them.
"""

import multiprocessing
import os
import threading
from pathlib import Path

import pytest
import torch
from conftest import tiny_model

from rnnlm import CheckpointError, RnnlmError, SamplingSettings, sample_text
from rnnlm.checkpoint import load_model, save_model
from rnnlm.service.model_store import MODELS, ModelStore
from rnnlm.service.settings import from_env
from rnnlm.service.store_files import OPENED_FILE, STAGING_PREFIX, folder_bytes
from rnnlm.service.store_meta import DAY, ID_PATTERN, META_FILE, PublishFacts, StoreLimits, facts_from_metadata

FACTS = PublishFacts(base="shakespeare-char-lstm", text_chars=16_000, nats_before=2.25, nats_after=1.5)
SETTINGS = SamplingSettings(max_new_tokens=60, seed=7, temperature=0.9)


class Clock:
    """The store's idea of now, moved by the test (file times follow it: the store sets them)."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_model(tmp_path, char_tokenizer):
    def make(seed: int = 0, name: str | None = None) -> Path:
        lm = tiny_model(char_tokenizer, seed=seed)
        training = {"facts": {"base_model": "shakespeare-char-lstm", "upload_chars": 12_345}, "val_nats_per_char": 1.75}
        return save_model(lm.net, lm.tokenizer, tmp_path / (name or f"model-{seed}"), training=training)
    return make


def store_at(tmp_path, clock=None, **limits) -> ModelStore:
    return ModelStore(tmp_path / "store", StoreLimits(**limits), clock=clock or Clock())


def stored_files(store: ModelStore) -> dict[str, bytes]:
    """Every file of every stored model, with its bytes (a refusal must leave these as they were)."""
    return {str(p.relative_to(store.root)): p.read_bytes() for p in (store.root / MODELS).rglob("*") if p.is_file()}


def leftovers(store: ModelStore) -> list[str]:
    return [p.name for p in store.root.iterdir() if p.name.startswith((STAGING_PREFIX, ".trash-"))]


def test_a_published_model_opens_with_the_same_text_and_a_card(tmp_path, make_model):
    source = make_model()
    store = store_at(tmp_path)
    model_id = store.publish(source, FACTS, "session-a")
    assert ID_PATTERN.fullmatch(model_id)
    opened = store.open(model_id)
    assert opened.folder == store.root / MODELS / model_id and opened.lm.name == model_id
    original = load_model(source)
    assert sample_text(opened.lm, "RO", SETTINGS) == sample_text(original, "RO", SETTINGS)
    assert sorted(p.name for p in opened.folder.iterdir()) == sorted(
        ["config.json", "model.safetensors", "tokenizer.json", META_FILE, OPENED_FILE])
    assert (opened.meta.base, opened.meta.text_chars, opened.meta.nats_before, opened.meta.nats_after) == (
        "shakespeare-char-lstm", 16_000, 2.25, 1.5)
    card = store.card(model_id)
    assert "fine-tuned from `shakespeare-char-lstm` on 16,000 characters" in card
    assert "2.250 → 1.500 nats/char" in card and "Expires 2023-12-14" in card  # 30 days after the clock's now
    assert not leftovers(store) and not list(source.parent.glob(".*"))


def test_facts_come_from_what_training_recorded(make_model):
    facts = facts_from_metadata(load_model(make_model()).metadata, nats_before=2.0)
    assert facts == PublishFacts(base="shakespeare-char-lstm", text_chars=12_345, nats_before=2.0, nats_after=1.75)
    assert facts_from_metadata({"facts": {"base_model": "../x", "upload_chars": -1}}) == PublishFacts()


def test_the_same_model_twice_gets_the_same_id_one_copy_and_counts_once(tmp_path, make_model):
    store = store_at(tmp_path, models_per_session=1)
    first = store.publish(make_model(), FACTS, "session-a")
    used = store.used_bytes()
    copy = make_model(name="same-files-elsewhere")  # same weights and tokenizer, another folder
    assert store.publish(copy, FACTS, "session-a") == first == store.publish(copy, PublishFacts(), "session-b")
    assert store.ids() == [first] and store.used_bytes() == used
    with pytest.raises(RnnlmError, match="already shared 1 models, the most one session may"):
        store.publish(make_model(seed=1), FACTS, "session-a")
    assert store.publish(make_model(seed=1), FACTS, "session-b") != first  # another session: its own count
    assert not any("session-a" in p.name for p in store.root.rglob("*"))  # session ids are hashed


def test_a_model_expires_after_its_days_unopened_and_each_opening_moves_that(tmp_path, make_model):
    clock = Clock()
    store = store_at(tmp_path, clock, expiry_days=30)
    model_id = store.publish(make_model(), FACTS, "s")
    start = clock.now
    clock.now += 29 * DAY
    store.open(model_id)  # opened on day 29: now it lasts until day 59
    assert store.expires_at(model_id) == pytest.approx(start + 59 * DAY)
    clock.now += 29 * DAY
    assert store.check(model_id).is_dir()
    clock.now += 31 * DAY
    with pytest.raises(RnnlmError, match="expired: nobody opened it for 30 days"):
        store.open(model_id)
    assert store.ids() == []
    with pytest.raises(RnnlmError, match="No shared model"):
        store.open(model_id)
    other = store.publish(make_model(seed=1), FACTS, "s")
    clock.now += 31 * DAY
    assert store.sweep() == [other] and store.ids() == []


def room_for_two(tmp_path, make_model):
    """A store with room for two and a half models of three (clock, sources, one model's size, store);
    a model opened within the last hour is never evicted."""
    clock = Clock()
    sources = [make_model(seed=seed) for seed in range(3)]
    probe = store_at(tmp_path / "probe")
    size = folder_bytes(probe.folder(probe.publish(sources[0], FACTS, "s")))
    return clock, sources, size, store_at(tmp_path, clock, max_total_bytes=int(2.5 * size), keep_hours=1)


def test_a_full_store_evicts_the_least_recently_opened_model(tmp_path, make_model):
    clock, sources, size, store = room_for_two(tmp_path, make_model)
    first = store.publish(sources[0], FACTS, "s")
    clock.now += 7200
    second = store.publish(sources[1], FACTS, "s")
    clock.now += 7200
    store.open(first)  # now the second is the least recently opened
    clock.now += 7200
    third = store.publish(sources[2], FACTS, "s")
    assert store.ids() == sorted([first, third])
    assert store.used_bytes() <= int(2.5 * size) and not leftovers(store)
    with pytest.raises(RnnlmError, match="No shared model"):
        store.open(second)


def test_a_store_full_of_recently_opened_models_refuses_and_keeps_them_all(tmp_path, make_model):
    clock, sources, _, store = room_for_two(tmp_path, make_model)
    kept = [store.publish(source, FACTS, "s") for source in sources[:2]]
    clock.now += 600  # ten minutes: both were opened within the hour
    before = stored_files(store)
    with pytest.raises(RnnlmError, match=r"store is full .* opened in the last 1 h.*download the model \(\.zip\)"):
        store.publish(sources[2], FACTS, "s")
    assert stored_files(store) == before and store.ids() == sorted(kept) and not leftovers(store)
    assert all(store.open(model_id).lm for model_id in kept)


def test_a_model_over_the_size_limits_is_refused_before_anything_is_copied(tmp_path, make_model):
    store = store_at(tmp_path, max_model_bytes=1000)
    with pytest.raises(RnnlmError, match=r"this server keeps 0\.0 MiB for one model, so it cannot be published"):
        store.publish(make_model(), FACTS, "s")
    store = store_at(tmp_path / "small-total", max_total_bytes=2000)
    with pytest.raises(RnnlmError, match="for all shared models together"):
        store.publish(make_model(), FACTS, "s")
    assert store.ids() == [] and not leftovers(store)


def test_a_damaged_stored_model_is_refused_and_removed(tmp_path, make_model):
    store = store_at(tmp_path)
    model_id = store.publish(make_model(), FACTS, "s")
    weights = store.folder(model_id) / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    damaged = "is damaged .*does not match the checksum.*removed from the store"
    with pytest.raises(CheckpointError, match=damaged) as refused:
        store.open(model_id)
    assert store.ids() == [] and str(tmp_path) not in str(refused.value)  # no server paths in the message
    with pytest.raises(RnnlmError, match="No shared model"):
        store.open(model_id)
    other = store.publish(make_model(seed=1), FACTS, "s")
    (store.folder(other) / META_FILE).write_text('{"format": "rnnlm-store-meta"}')
    with pytest.raises(CheckpointError, match="meta.json of .* is not this store's"):
        store.open(other)
    assert store.ids() == []


def test_a_model_with_non_finite_weights_cannot_be_published(tmp_path, char_tokenizer):
    lm = tiny_model(char_tokenizer)
    with torch.no_grad():
        lm.net.embedding.weight[0, 0] = float("nan")
    store = store_at(tmp_path)
    with pytest.raises(CheckpointError, match="cannot be published: .*NaN or infinite"):
        store.publish(save_model(lm.net, lm.tokenizer, tmp_path / "nan"), FACTS, "s")
    assert store.ids() == [] and not leftovers(store)


def test_extra_files_and_links_in_a_stored_folder_are_refused(tmp_path, make_model):
    store = store_at(tmp_path)
    model_id = store.publish(make_model(), FACTS, "s")
    (store.folder(model_id) / "run.py").write_text("print('never run')")
    with pytest.raises(CheckpointError, match="holds 'run.py', which a stored model may not"):
        store.open(model_id)
    outside = make_model(seed=1)
    store.publish(outside, FACTS, "s")
    target = store.folder(store.ids()[0])
    link = store.root / MODELS / ("u-" + "a" * 32)
    link.symlink_to(target, target_is_directory=True)
    with pytest.raises(RnnlmError, match="No shared model"):
        store.open(link.name)
    assert target.is_dir()


@pytest.mark.parametrize("bad", ["../x", "u-../../etc/passwd", "u-" + "A" * 32, "u-" + "0" * 31, "u-" + "0" * 33,
                                 "u-" + "0" * 31 + "/", "u-" + "0" * 31 + "\x00", "", "models/u-" + "0" * 32,
                                 "u-" + "0" * 32 + "\n", None])
def test_ids_are_checked_before_the_filesystem_is_touched(tmp_path, bad):
    store = store_at(tmp_path)
    before = sorted(p.name for p in store.root.rglob("*"))
    for call in (store.open, store.check, store.card, store.folder):
        with pytest.raises(RnnlmError, match="is not a shared model's id"):
            call(bad)
    assert sorted(p.name for p in store.root.rglob("*")) == before


def test_concurrent_publishes_of_one_model_in_threads_all_succeed_with_one_copy(tmp_path, make_model):
    source, store = make_model(), store_at(tmp_path)
    start, ids, errors = threading.Barrier(6), [], []

    def publish(number: int) -> None:
        start.wait()
        try:
            ids.append(store.publish(source, FACTS, f"session-{number}"))
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(ids) == 6 and len(set(ids)) == 1
    assert store.ids() == ids[:1] and not leftovers(store)
    assert store.open(ids[0]).lm


def _publish_in_child(root: str, source: str, start, results) -> None:
    store = ModelStore(root)
    start.wait()
    results.put(store.publish(source, FACTS, f"process-{os.getpid()}"))


def test_concurrent_publishes_of_one_model_in_processes_all_succeed_with_one_copy(tmp_path, make_model):
    source, store = make_model(), store_at(tmp_path)
    context = multiprocessing.get_context("fork")  # the children need no fresh torch import
    start, results = context.Barrier(3), context.Queue()
    children = [context.Process(target=_publish_in_child, args=(str(store.root), str(source), start, results))
                for _ in range(3)]
    for child in children:
        child.start()
    ids = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    assert len(set(ids)) == 1 and store.ids() == ids[:1] and not leftovers(store)


def test_leftovers_of_a_killed_publish_are_never_opened_and_are_swept(tmp_path, make_model):
    store = store_at(tmp_path)
    old, fresh = store.root / (STAGING_PREFIX + "old"), store.root / (STAGING_PREFIX + "fresh")
    for folder in (old, fresh):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"half")
    os.utime(old, (0, 0))
    store.sweep()
    assert not old.exists() and fresh.exists()  # a publish may still be copying into a fresh one
    assert store.ids() == []


def test_store_settings_come_from_the_environment(tmp_path):
    settings, problems = from_env({"RNNLM_STORE": str(tmp_path / "shared"), "RNNLM_STORE_MODEL_MB": "8",
                                   "RNNLM_STORE_PER_SESSION": "2", "RNNLM_STORE_TOTAL_MB": "100",
                                   "RNNLM_STORE_DAYS": "7", "RNNLM_STORE_KEEP_HOURS": "0.5"})
    assert problems == [] and settings.store_root == tmp_path / "shared"
    assert settings.store_limits == StoreLimits(8 << 20, 2, 100 << 20, 7.0, 0.5)
    settings, problems = from_env({"RNNLM_SESSIONS_DIR": str(tmp_path / "state"), "RNNLM_STORE_DAYS": "-1"})
    assert settings.store_root == tmp_path / "state" / "store" and settings.store_days == 30
    assert problems == ["RNNLM_STORE_DAYS='-1' is not a number from 0.01 to 3650; using 30.0"]
