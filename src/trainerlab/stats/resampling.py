"""Compiled bootstrap kernels for values that take many distinct values.

When a statistic is a mean (or a ratio of sums) of values with few distinct
values, trainerlab draws multinomial counts over the distinct values instead of
resampling (see :mod:`trainerlab.uplift.bootstrap`). Continuous scores have no such
shortcut: every replicate has to draw n indices. Drawing them with numpy costs
about 30 s for 10,000 replicates of 100,000 items on 2 cores, most of it in the
random number generator and in allocating index arrays.

These kernels draw the indices inside a numba loop instead, in parallel over
replicates, with a counter-based generator: replicate ``b`` has its own
SplitMix64 stream (Steele, Lea and Flood 2014) started from a hash of
``(key, b)``. So the replicates depend only on the key (which callers draw from
their seeded ``numpy.random.Generator``), not on the number of threads, and
each 64-bit output gives two indices by Lemire's multiply-shift reduction of its
two 32-bit halves (bias at most n / 2**32 per index, 2.3e-5 at n = 100,000).

Compiled functions are cached on disk where ``NUMBA_CACHE_DIR`` points when the
kernels are first loaded (trainerlab's studies set it to
``trainerlab.paths.cache_dir()/numba`` unless the user did; without it numba picks
its own cache folder), so only the first process pays the compilation (about 5 s);
later processes pay the import of numba (about 1 s). Without numba the functions
fall back to numpy index resampling.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["available", "bootstrap_means", "bootstrap_ratios"]

FloatArray = npt.NDArray[np.float64]
_Kernel = Callable[..., FloatArray]

_KERNELS: tuple[_Kernel, _Kernel] | bool | None = None


def _load() -> tuple[_Kernel, _Kernel] | None:
    """Compile (or load from the cache) the kernels; None when numba is missing."""
    global _KERNELS
    if isinstance(_KERNELS, tuple):
        return _KERNELS
    if _KERNELS is False:
        return None
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba comes with umap-learn
        _KERNELS = False
        return None

    from . import _resampling_kernels as k

    _KERNELS = (k.means, k.ratios)
    return _KERNELS


def available() -> bool:
    """True when the compiled kernels can be used (numba importable)."""
    return _load() is not None


def _key(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**63, dtype=np.int64))


def bootstrap_means(values: npt.ArrayLike, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """``n_boot`` means of ``values`` resampled with replacement (n draws each)."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    if x.size == 0 or n_boot <= 0:
        return np.empty(0)
    kernels = _load()
    if kernels is None:  # pragma: no cover - numba comes with umap-learn
        return np.array([x.take(rng.integers(0, x.size, x.size)).mean() for _ in range(n_boot)])
    return kernels[0](x, int(n_boot), _key(rng))


def bootstrap_ratios(
    numerators: npt.ArrayLike, denominators: npt.ArrayLike, n_boot: int, rng: np.random.Generator
) -> FloatArray:
    """``n_boot`` ratios sum(numerators) / sum(denominators) over units resampled
    with replacement (the cluster bootstrap of a mean: cluster sums over sizes)."""
    top = np.ascontiguousarray(numerators, dtype=np.float64)
    bottom = np.ascontiguousarray(denominators, dtype=np.float64)
    if top.shape != bottom.shape:
        raise ValueError(f"{top.size} numerators but {bottom.size} denominators")
    if top.size == 0 or n_boot <= 0:
        return np.empty(0)
    kernels = _load()
    if kernels is None:  # pragma: no cover - numba comes with umap-learn
        g = top.size
        idx = [rng.integers(0, g, g) for _ in range(n_boot)]
        return np.array([top[i].sum() / bottom[i].sum() for i in idx])
    return kernels[1](top, bottom, int(n_boot), _key(rng))
