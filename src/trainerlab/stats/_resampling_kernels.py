"""The numba kernels behind :mod:`trainerlab.stats.resampling` (imported only from there,
on first use)."""

import numba as nb
import numpy as np

_U64 = np.uint64
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_LOW = np.uint64(0xFFFFFFFF)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)


@nb.njit(cache=True, inline="always")
def _mix(z):
    """SplitMix64's output function."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(cache=True, inline="always")
def _start(key, b):
    """The starting state of replicate b's stream."""
    return _mix(_U64(key) ^ _mix(_U64(b) + _GOLDEN))


@nb.njit(cache=True, parallel=True)
def means(values, n_boot, key):
    n = values.size
    n64 = _U64(n)
    out = np.empty(n_boot)
    for b in nb.prange(n_boot):
        state = _start(key, b)
        s = 0.0
        for _ in range(n // 2):
            state += _GOLDEN
            z = _mix(state)
            s += values[((z >> _S32) * n64) >> _S32]
            s += values[((z & _LOW) * n64) >> _S32]
        if n % 2 == 1:
            state += _GOLDEN
            z = _mix(state)
            s += values[((z >> _S32) * n64) >> _S32]
        out[b] = s / n
    return out


@nb.njit(cache=True, parallel=True)
def ratios(numerators, denominators, n_boot, key):
    n = numerators.size
    n64 = _U64(n)
    out = np.empty(n_boot)
    for b in nb.prange(n_boot):
        state = _start(key, b)
        top = 0.0
        bottom = 0.0
        for _ in range(n // 2):
            state += _GOLDEN
            z = _mix(state)
            j = ((z >> _S32) * n64) >> _S32
            k = ((z & _LOW) * n64) >> _S32
            top += numerators[j] + numerators[k]
            bottom += denominators[j] + denominators[k]
        if n % 2 == 1:
            state += _GOLDEN
            z = _mix(state)
            j = ((z >> _S32) * n64) >> _S32
            top += numerators[j]
            bottom += denominators[j]
        out[b] = top / bottom
    return out
