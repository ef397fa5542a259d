"""Peak RSS over a step, beside the baseline; the peak resets between steps."""

import numpy as np
import pytest

from edgeport.bench.memory import RssMonitor, current_rss_mb, hwm_reset_supported


def _touch(mb: int) -> np.ndarray:
    a = np.ones(mb * 1024 * 1024 // 8)  # writes every page
    return a


def test_peak_sees_freed_allocation():
    with RssMonitor() as m:
        a = _touch(64)
        del a
    assert m.peak_mb - m.baseline_mb >= 50, (m.method, m.baseline_mb, m.peak_mb)
    assert m.peak_mb >= current_rss_mb() - 1


@pytest.mark.skipif(not hwm_reset_supported(), reason="VmHWM cannot be reset here")
def test_second_step_peak_is_its_own():
    with RssMonitor() as big:
        a = _touch(96)
        del a
    with RssMonitor() as small:
        b = _touch(8)
        del b
    assert small.method == "vmhwm"
    assert big.peak_mb - big.baseline_mb >= 80
    assert small.peak_mb - small.baseline_mb < 40  # not the process-lifetime peak of the first step
