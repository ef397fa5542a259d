"""The embedded doodle classifier: ``doodle.onnx``, its labels, samples, test set and model card.

Pure paths and loaders (numpy only); the PyTorch module lives in
:mod:`edgeport.assets.doodle.model` so that importing this package never needs torch.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["DOODLE_DIR", "MODEL_PATH", "LABELS_PATH", "SAMPLES_DIR", "TEST_SET_PATH", "CARD_PATH", "CALIB_PATH",
           "labels", "model_card", "load_test_set", "load_samples", "sample_paths"]

DOODLE_DIR = Path(__file__).resolve().parent
MODEL_PATH = DOODLE_DIR / "doodle.onnx"
LABELS_PATH = DOODLE_DIR / "labels.txt"
SAMPLES_DIR = DOODLE_DIR / "samples"
TEST_SET_PATH = DOODLE_DIR / "test.npz"
CARD_PATH = DOODLE_DIR / "model_card.json"
CALIB_PATH = DOODLE_DIR / "calib.npz"  # 256 doodles from the training distribution, for int8 calibration


def labels() -> list[str]:
    """The ten class names, in output order."""
    return [ln.strip() for ln in LABELS_PATH.read_text().splitlines() if ln.strip()]


def model_card() -> dict:
    """The model card: training config, test accuracy, date, command."""
    return json.loads(CARD_PATH.read_text())


def load_test_set():
    """Held-out test set: ``(images uint8 [N,28,28], labels int64 [N])``."""
    import numpy as np

    with np.load(TEST_SET_PATH) as z:
        return z["images"], z["labels"].astype(np.int64)


def load_samples():
    """The shipped samples: ``(file names, images uint8 [N,28,28], labels int64 [N])``."""
    import numpy as np

    with np.load(SAMPLES_DIR / "samples.npz") as z:
        return [str(n) for n in z["names"]], z["images"], z["labels"].astype(np.int64)


def sample_paths() -> list[Path]:
    """The sample PNG files, sorted by name."""
    return sorted(SAMPLES_DIR.glob("*.png"))
