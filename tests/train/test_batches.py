"""StreamBatcher: B contiguous streams through the text, one truncated-BPTT window at a time.

Token ids here are positions in the text (ids = 0, 1, 2, ...), so every window shows
exactly which part of the text it holds.
"""

import numpy as np
import pytest
import torch

from rnnlm.errors import CorpusError
from rnnlm.training.batches import StreamBatcher

TOKENS, BATCH, WINDOW = 1000, 4, 16


def windows(batcher, count):
    return [batcher.next() for _ in range(count)]


def test_each_window_continues_where_the_previous_one_ended():
    batcher = StreamBatcher(np.arange(TOKENS), BATCH, WINDOW)
    seen = windows(batcher, batcher.windows_per_epoch)
    for (inputs, targets, _), (next_inputs, _, _) in zip(seen, seen[1:]):
        assert torch.equal(next_inputs[:, 0], inputs[:, -1] + 1)
        assert torch.equal(next_inputs[:, 0], targets[:, -1])  # the last target is the next window's first input
    stream_length = TOKENS // BATCH
    for row in range(BATCH):  # concatenated windows are one unbroken run of the text
        joined = torch.cat([inputs[row] for inputs, _, _ in seen])
        assert torch.equal(joined, torch.arange(row * stream_length, row * stream_length + len(joined)))


def test_targets_are_inputs_shifted_by_one():
    ids = np.random.default_rng(0).integers(0, 50, TOKENS)
    batcher = StreamBatcher(ids, BATCH, WINDOW)
    stream_length = TOKENS // BATCH
    for k, (inputs, targets, _) in enumerate(windows(batcher, 5)):
        assert inputs.shape == targets.shape == (BATCH, WINDOW)
        for row in range(BATCH):
            start = row * stream_length + k * WINDOW
            assert inputs[row].tolist() == ids[start:start + WINDOW].tolist()
            assert targets[row].tolist() == ids[start + 1:start + WINDOW + 1].tolist()


def test_restart_flag_only_where_the_streams_wrap_to_their_start():
    batcher = StreamBatcher(np.arange(TOKENS), BATCH, WINDOW)
    per_epoch = batcher.windows_per_epoch
    assert per_epoch == (TOKENS // BATCH - 1) // WINDOW
    seen = windows(batcher, 2 * per_epoch + 1)
    assert [k for k, (_, _, restart) in enumerate(seen) if restart] == [0, per_epoch, 2 * per_epoch]
    assert torch.equal(seen[per_epoch][0], seen[0][0])
    # the last window of an epoch never reads past its stream
    last_inputs, last_targets, _ = seen[per_epoch - 1]
    assert last_targets.max() < TOKENS // BATCH * BATCH and last_targets.shape == (BATCH, WINDOW)


def test_seek_resumes_at_the_same_window_and_wraps_when_out_of_range():
    first = StreamBatcher(np.arange(TOKENS), BATCH, WINDOW)
    expected = windows(first, 4)[3]
    resumed = StreamBatcher(np.arange(TOKENS), BATCH, WINDOW)
    resumed.seek(3)
    assert all(torch.equal(a, b) for a, b in zip(resumed.next()[:2], expected[:2]))
    resumed.seek(resumed.windows_per_epoch + 1)  # a shorter epoch after a config change
    assert resumed.position == 1


def test_ranks_take_disjoint_contiguous_blocks_of_the_same_streams():
    ids = np.arange(TOKENS)
    whole = StreamBatcher(ids, 2 * BATCH, WINDOW).next()[0]
    rank0 = StreamBatcher(ids, BATCH, WINDOW, rank=0, world_size=2).next()[0]
    rank1 = StreamBatcher(ids, BATCH, WINDOW, rank=1, world_size=2).next()[0]
    assert torch.equal(torch.cat([rank0, rank1]), whole)
    assert not set(rank0.flatten().tolist()) & set(rank1.flatten().tolist())
    assert rank0.max() < rank1.min()  # rank 0 holds the first half of the text, rank 1 the second
    assert StreamBatcher(ids, BATCH, WINDOW, rank=1, world_size=2).tokens_per_window == BATCH * WINDOW


def test_too_few_tokens_for_the_streams_is_a_clear_corpus_error():
    with pytest.raises(CorpusError, match="too few.*lower batch_size or window"):
        StreamBatcher(np.arange(BATCH * WINDOW), BATCH, WINDOW)  # each stream needs window + 1 tokens
    StreamBatcher(np.arange(BATCH * (WINDOW + 1)), BATCH, WINDOW)  # exactly enough is fine
