"""The step path's compiled tanh is as accurate as float32 needs, everywhere on the line."""

import numpy as np

from rnnlm.cell_kernels import tanh_into


def test_fast_tanh_matches_numpy_to_float32_precision():
    x = np.concatenate([np.linspace(-30, 30, 600_001), [-np.inf, np.inf, 0.0, 1e-30, -1e-30]]).astype(np.float32)
    out = np.empty_like(x)
    tanh_into(x, out)
    np.testing.assert_allclose(out, np.tanh(x.astype(np.float64)), rtol=0, atol=3e-7)
    assert np.all(np.abs(out) <= 1.0)
    assert out[x.size - 3] == 0.0 and np.array_equal(np.sign(out), np.sign(x))


def test_fast_tanh_keeps_nan():
    out = np.empty(1, dtype=np.float32)
    tanh_into(np.array([np.nan], dtype=np.float32), out)
    assert np.isnan(out[0])
