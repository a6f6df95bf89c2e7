"""Unit conversions the connectors need; the one place that knows FIT's semicircles."""

from __future__ import annotations

import numpy as np

_SEMICIRCLE_DEG = 180.0 / 2**31


def semicircles_to_degrees(values: np.ndarray) -> np.ndarray:
    """FIT positions are int32 semicircles: degrees = semicircles * 180 / 2^31."""
    return np.asarray(values, dtype=np.float64) * _SEMICIRCLE_DEG
