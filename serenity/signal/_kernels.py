"""NumPy kernels behind :mod:`serenity.signal.vectorized`.

Where TA-Lib's arithmetic can be vectorised in its own order it is: ``np.cumsum`` adds
strictly left to right, so a running sum fed the interleaved additions and removals of
TA-Lib's loop gives its exact partial sums. Recursive filters (EMA, Wilder smoothing) are
solved by blocks of matrix products, accurate to about 1e-14 relative; rolling variances are
computed two-pass per window, which agrees with TA-Lib's re-anchored sums to about 1e-12.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from serenity.errors import InvalidValueError

FloatArray = npt.NDArray[np.float64]

_BLOCK: Final = 64  # recurrence block: a 64x64 matrix product per 64 values
_CHUNK: Final = 1 << 18  # elements per chunk of windows in the rolling variance


def as_series(x: Any, what: str = "x") -> FloatArray:
    """Return ``x`` as a 1-D float64 array (no copy when it already is one).

    Raises
    ------
    InvalidValueError
        When ``x`` is not one-dimensional or not numeric.
    """
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(f"{what} must be a 1-D array of numbers: {exc}") from exc
    if a.ndim != 1:
        raise InvalidValueError(f"{what} must be 1-D, was {a.ndim}-D with shape {a.shape}")
    return a


def sequential_sum(a: FloatArray) -> float:
    """Return the sum of ``a`` added left to right from 0.0, as TA-Lib's loops add."""
    return float(np.cumsum(a)[-1]) if a.size else 0.0


def running_mean(x: FloatArray, n: int) -> FloatArray:
    """Return TA-Lib's SMA of every window of ``n`` (``len(x) - n + 1`` values, exact).

    TA-Lib adds each value to a running total, divides, then removes the window's oldest
    value; the cumulative sum of those additions and removals, interleaved, repeats it.
    """
    m = x.size - n + 1
    if m <= 0:
        return np.empty(0)
    steps = np.empty(n - 1 + 2 * m)
    steps[: n - 1] = x[: n - 1]
    steps[n - 1 :: 2] = x[n - 1 :]
    steps[n::2] = -x[:m]
    return np.cumsum(steps)[n - 1 :: 2] / n


def recurrence(u: FloatArray, a: float, y0: float) -> FloatArray:
    """Return ``y`` with ``y[j] = a * y[j - 1] + u[j]`` and ``y[-1] = y0``.

    Blocks of 64 values are solved at once: a block's response to its own inputs is one
    matrix product with the kernel ``a ** (k - m)``, and the value carried from block to
    block follows the same recurrence one level up (``a ** 64``), solved recursively.
    Non-finite inputs would spread NaN backwards through a block's product, so they take a
    plain loop instead.
    """
    n = u.size
    if n == 0:
        return np.empty(0)
    if not np.isfinite(u).all() or not np.isfinite(y0):
        return _recurrence_loop(u, a, y0)
    b = min(_BLOCK, n)
    blocks_n = -(-n // b)
    padded = np.zeros(blocks_n * b)
    padded[:n] = u
    blocks = padded.reshape(blocks_n, b)
    powers = a ** np.arange(b + 1, dtype=np.float64)
    k = np.arange(b)
    lag = k[None, :] - k[:, None]
    kernel = np.where(lag >= 0, powers[np.clip(lag, 0, b)], 0.0)
    local = blocks @ kernel
    if blocks_n == 1:
        carried = np.array([y0])
    else:
        ends = recurrence(np.ascontiguousarray(local[:, -1]), float(powers[b]), y0)
        carried = np.concatenate(([y0], ends[:-1]))
    out = local + carried[:, None] * powers[None, 1:]
    return out.ravel()[:n]


def _recurrence_loop(u: FloatArray, a: float, y0: float) -> FloatArray:
    out = np.empty(u.size)
    y = y0
    for j, uj in enumerate(u.tolist()):
        y = a * y + uj
        out[j] = y
    return out


def seeded_ema(x: FloatArray, n: int) -> FloatArray:
    """Return TA-Lib's EMA from index ``n - 1`` on: seeded with the mean of the first ``n``
    values, then ``ema = (1 - k) * ema + k * x`` with ``k = 2 / (n + 1)``."""
    if x.size < n:
        return np.empty(0)
    seed = sequential_sum(x[:n]) / n
    k = 2.0 / (n + 1)
    return np.concatenate(([seed], recurrence(k * x[n:], 1.0 - k, seed)))


def rolling_channel(high: FloatArray, low: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    """Return the highest ``high`` and the lowest ``low`` of every window of ``n``
    (``len(high) - n + 1`` values each)."""
    if high.size < n:
        return np.empty(0), np.empty(0)
    highest = sliding_window_view(high, n).max(axis=1)
    lowest = sliding_window_view(low, n).min(axis=1)
    return np.asarray(highest, dtype=np.float64), np.asarray(lowest, dtype=np.float64)


def run_lengths(x: FloatArray) -> npt.NDArray[np.int64]:
    """Return, for each index, how many values up to it in a row are equal to it."""
    idx = np.arange(x.size, dtype=np.int64)
    starts = np.ones(x.size, dtype=bool)
    starts[1:] = x[1:] != x[:-1]
    return idx - np.maximum.accumulate(np.where(starts, idx, 0)) + 1


def rolling_variance(x: FloatArray, n: int) -> FloatArray:
    """Return the population variance of every window of ``n`` (``len(x) - n + 1`` values).

    Two passes per window (the mean, then the corrected sum of squared deviations), in
    chunks of windows to bound memory; a window of identical values gives exactly 0.
    """
    return rolling_moments(x, n)[0]


def rolling_moments(x: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    """Return the population variance of every window of ``n`` and its last value's
    distance from the window mean (``len(x) - n + 1`` values each); see
    :func:`rolling_variance`."""
    m = x.size - n + 1
    if m <= 0:
        return np.empty(0), np.empty(0)
    windows = sliding_window_view(x, n)
    variance, last = np.empty(m), np.empty(m)
    step = max(1, _CHUNK // n)
    for s in range(0, m, step):
        w = windows[s : s + step]
        dev = w - w.mean(axis=1)[:, None]
        mean_dev = dev.mean(axis=1)
        variance[s : s + step] = np.einsum("ij,ij->i", dev, dev) / n - mean_dev**2
        last[s : s + step] = dev[:, -1] - mean_dev
    np.maximum(variance, 0.0, out=variance)
    flat = run_lengths(x)[n - 1 :] >= n
    variance[flat] = 0.0
    last[flat] = 0.0
    return variance, last
