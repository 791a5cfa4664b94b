"""Element-wise cell updates for the step path, compiled once by numba.

After its matrix-vector products, one LSTM layer still has ~10 element-wise operations
(add, three sigmoids, two tanh, the cell update). As NumPy calls they cost ~35 us per
layer per token, mostly because NumPy's float32 tanh is scalar on AVX2 machines and each
call has its own overhead. Here each layer is one loop that LLVM vectorises, with a
rational tanh accurate to ~2e-7 (Eigen's fast float tanh): ~1 us per layer.

The sigmoid gates' pre-activations arrive halved (the stepper halves those weights), so
sigmoid(z) = 0.5 + 0.5 * tanh(z / 2) costs one tanh and cannot overflow.
error_model="numpy" drops Python's division-by-zero check, which would stop the
vectoriser (the tanh denominator is never zero); the fastmath flags let it use FMA.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_F = np.float32
_CLAMP = _F(7.90531110763549805)  # beyond this, float32 tanh is +-1 to within the approximation's error
_P13, _P11, _P9, _P7, _P5, _P3, _P1 = (_F(v) for v in (
    -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
    1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03))
_Q6, _Q4, _Q2, _Q0 = (_F(v) for v in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                                       4.89352518554385e-03))
_HALF = _F(0.5)

# No nnan/ninf: a NaN (a broken model) must show up as NaN, not as a plausible number.
_JIT = {"cache": True, "fastmath": {"contract", "arcp", "afn", "nsz"}, "error_model": "numpy"}


@njit(inline="always", **_JIT)
def fast_tanh(x):
    x = _CLAMP if x > _CLAMP else x
    x = -_CLAMP if x < -_CLAMP else x
    x2 = x * x
    p = ((((((_P13 * x2 + _P11) * x2 + _P9) * x2 + _P7) * x2 + _P5) * x2 + _P3) * x2 + _P1) * x
    q = ((_Q6 * x2 + _Q4) * x2 + _Q2) * x2 + _Q0
    return p / q


@njit(**_JIT)
def tanh_into(x, out):
    """out = tanh(x) element-wise with the step path's tanh (for tests and callers outside a cell)."""
    for j in range(x.shape[0]):
        out[j] = fast_tanh(x[j])


@njit(**_JIT)
def lstm_update(out, projected, c_prev):
    """out: (6, hidden) rows h, c, input, forget, output, candidate. On entry rows 2-5 hold the
    recurrent pre-activations (gate order i, f, o, g; sigmoid gates halved); projected (4*hidden)
    is the input's share. On exit every row holds its quantity."""
    hidden = c_prev.shape[0]
    for j in range(hidden):
        i = _HALF + _HALF * fast_tanh(out[2, j] + projected[j])
        f = _HALF + _HALF * fast_tanh(out[3, j] + projected[hidden + j])
        o = _HALF + _HALF * fast_tanh(out[4, j] + projected[2 * hidden + j])
        g = fast_tanh(out[5, j] + projected[3 * hidden + j])
        c = f * c_prev[j] + i * g
        out[0, j] = o * fast_tanh(c)
        out[1, j] = c
        out[2, j] = i
        out[3, j] = f
        out[4, j] = o
        out[5, j] = g


@njit(**_JIT)
def gru_update(out, projected, recurrent, h_prev):
    """out: (4, hidden) rows h, reset, update, candidate. projected and recurrent (3*hidden,
    order r, z, n; r and z halved) are the input's and the state's shares, biases included."""
    hidden = h_prev.shape[0]
    for j in range(hidden):
        r = _HALF + _HALF * fast_tanh(projected[j] + recurrent[j])
        z = _HALF + _HALF * fast_tanh(projected[hidden + j] + recurrent[hidden + j])
        n = fast_tanh(projected[2 * hidden + j] + r * recurrent[2 * hidden + j])
        out[0, j] = n + z * (h_prev[j] - n)  # == (1 - z) * n + z * h_prev
        out[1, j] = r
        out[2, j] = z
        out[3, j] = n


@njit(**_JIT)
def rnn_update(out, projected):
    """out: (1, hidden) holding the recurrent pre-activation; becomes tanh(it + projected)."""
    for j in range(out.shape[1]):
        out[0, j] = fast_tanh(out[0, j] + projected[j])
