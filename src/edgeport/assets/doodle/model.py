"""DoodleNet: the PyTorch definition of the embedded doodle classifier (needs torch).

Shared by ``edgeport.assets.doodle.train`` (training, ONNX export) and :mod:`edgeport.demo`
(TorchScript made at run time from the ONNX initializers, so the weights ship once).
Input: ``[N, 1, 28, 28]`` float32, ``(pixel / 255 - mean) / std``; output: softmax probabilities.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DoodleNet", "HIDDEN", "NUM_CLASSES", "state_dict_from_onnx"]

HIDDEN = 512
NUM_CLASSES = 10


class DoodleNet(nn.Module):
    """Two conv + max-pool layers, two dense layers, softmax (as in the seed talk's doodle app)."""

    def __init__(self, num_classes: int = NUM_CLASSES, hidden: int = HIDDEN, dropout: float = 0.3):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 5 * 5, hidden)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)
        self.softmax_output = True

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.dropout(torch.relu(self.fc1(x)))
        return self.fc2(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=1)


def state_dict_from_onnx(path) -> dict[str, torch.Tensor]:
    """Read DoodleNet's weights back from the ONNX initializers (matched by name, else by shape)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    ref = DoodleNet().state_dict()
    out: dict[str, torch.Tensor] = {}
    for key, t in ref.items():
        arr = inits.get(key)
        if arr is None:  # exporter renamed it: take the unique initializer of that shape
            cands = [a for a in inits.values() if tuple(a.shape) == tuple(t.shape)]
            cands_t = [a for a in inits.values() if a.ndim == 2 and tuple(a.shape[::-1]) == tuple(t.shape)]
            if len(cands) == 1:
                arr = cands[0]
            elif len(cands_t) == 1:
                arr = cands_t[0].T
            else:
                raise KeyError(f"no unique initializer for {key} {tuple(t.shape)} in {path}")
        out[key] = torch.from_numpy(arr.copy()).reshape(t.shape)
    return out
