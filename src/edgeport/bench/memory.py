"""Peak resident memory (RSS) over a measured step, beside the baseline before it.

How it is measured, and why it is honest:

* ``ru_maxrss`` is a *process-lifetime* peak, so after a first large model it can
  no longer say anything about a second, smaller one benchmarked in the same process.
* On Linux the kernel keeps the peak RSS in ``VmHWM`` (``/proc/self/status``), and
  writing ``5`` to ``/proc/self/clear_refs`` resets it to the current RSS. So
  :class:`RssMonitor` resets ``VmHWM`` on entry, records the baseline ``VmRSS``,
  and reads ``VmHWM`` on exit: the exact kernel-tracked peak over the step, no
  sampling gaps (method ``"vmhwm"``).
* Where the reset is not permitted, a background thread samples ``VmRSS`` every
  ``interval_s`` (method ``"sampled"``); short spikes between samples can be missed,
  so the peak is a lower bound. Without ``/proc`` (macOS, Windows) the monitor falls
  back to ``ru_maxrss`` (method ``"ru_maxrss"``), which is valid for the first
  measurement in a fresh process only.

The peak includes everything the process holds (Python, numpy, the runtime
libraries); the baseline lets a reader subtract it.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

__all__ = ["RssMonitor", "current_rss_mb", "hwm_reset_supported"]

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int | None:
    try:
        with open(_STATUS, "rb") as f:
            for line in f:
                if line.startswith(field.encode() + b":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _ru_maxrss_mb() -> float:
    if resource is None:  # pragma: no cover
        return 0.0
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024 * 1024) if sys.platform == "darwin" else r / 1024  # bytes on macOS, KiB elsewhere


def current_rss_mb() -> float:
    """Current resident set size of this process in MiB (ru_maxrss where /proc is missing)."""
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else _ru_maxrss_mb()


def _reset_hwm() -> bool:
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def hwm_reset_supported() -> bool:
    """True when VmHWM exists and can be reset here (Linux with a writable clear_refs)."""
    return _status_kb("VmHWM") is not None and _reset_hwm()


class RssMonitor:
    """Context manager: ``baseline_mb`` (RSS on entry) and ``peak_mb`` (peak RSS until exit).

    ``method`` says how the peak was obtained: ``"vmhwm"``, ``"sampled"`` or ``"ru_maxrss"``.
    """

    def __init__(self, interval_s: float = 0.002):
        self.interval_s = interval_s
        self.baseline_mb: float = 0.0
        self.peak_mb: float = 0.0
        self.method: str = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sampled_kb = 0

    def __enter__(self) -> "RssMonitor":
        if _status_kb("VmHWM") is not None and _reset_hwm():
            self.method = "vmhwm"
        elif _status_kb("VmRSS") is not None:
            self.method = "sampled"
            self._sampled_kb = _status_kb("VmRSS") or 0
            self._thread = threading.Thread(target=self._sample, name="edgeport-rss", daemon=True)
            self._thread.start()
        else:
            self.method = "ru_maxrss"
        self.baseline_mb = current_rss_mb()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            kb = _status_kb("VmRSS")
            if kb is not None and kb > self._sampled_kb:
                self._sampled_kb = kb

    def read_peak_mb(self) -> float:
        """Peak RSS in MiB since entry, as far as it is known now (usable inside the block)."""
        if self.method == "vmhwm":
            kb = _status_kb("VmHWM")
            return kb / 1024 if kb is not None else _ru_maxrss_mb()
        if self.method == "sampled":
            return max(self._sampled_kb, _status_kb("VmRSS") or 0) / 1024
        return _ru_maxrss_mb()

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        self.peak_mb = max(self.read_peak_mb(), self.baseline_mb)

