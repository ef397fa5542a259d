"""Statistics against numpy on known samples."""

import numpy as np
import pytest

from edgeport.bench.stats import summarize


def test_known_samples_match_numpy():
    ms = np.array([5.0, 1.0, 3.0, 2.0, 4.0, 10.0, 2.5, 3.5, 1.5, 7.0])
    s = summarize((ms * 1e6).astype(np.int64))
    assert s.count == 10
    assert s.avg_ms == pytest.approx(ms.mean())
    assert s.std_ms == pytest.approx(ms.std(ddof=0))
    assert s.min_ms == 1.0 and s.max_ms == 10.0
    for p, got in ((50, s.p50_ms), (90, s.p90_ms), (99, s.p99_ms)):
        assert got == pytest.approx(np.percentile(ms, p))
    assert s.p50_ms == pytest.approx(3.25)  # hand-computed median of the ten values
    assert s.throughput_per_s == pytest.approx(1000.0 / ms.mean())


def test_random_samples_and_order():
    rng = np.random.default_rng(1)
    ns = rng.integers(100_000, 5_000_000, size=1000)
    s = summarize(ns)
    ms = ns / 1e6
    assert s.p99_ms == pytest.approx(np.percentile(ms, 99))
    assert s.min_ms <= s.p50_ms <= s.p90_ms <= s.p99_ms <= s.max_ms
    assert s.to_dict()["count"] == 1000


def test_single_sample():
    s = summarize([2_000_000])
    assert s.avg_ms == s.p50_ms == s.p99_ms == 2.0 and s.std_ms == 0.0


@pytest.mark.parametrize("bad", [[], [1, -5], [float("nan")]])
def test_bad_samples(bad):
    with pytest.raises(ValueError):
        summarize(bad)
