"""Knowledge distillation: train a PyTorch student on a teacher's soft targets (Hinton et al., 2015).

loss = alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE(student, y)
(alpha = 1 when there are no labels). The teacher is a torch module or any model file edgeport runs
(.onnx, .tflite, OpenVINO .xml): its logits are computed once over the data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from edgeport.errors import UsageError

__all__ = ["distill", "DistillReport", "hinton_loss"]


@dataclass
class DistillReport:
    temperature: float
    alpha: float
    epochs: int
    losses: list[float] = field(default_factory=list)  # mean loss per epoch (first entry: before training)
    student_top1: float | None = None
    teacher_top1: float | None = None
    agreement: float | None = None

    def to_dict(self):
        return asdict(self)


def hinton_loss(student_logits, teacher_logits, labels=None, temperature: float = 4.0, alpha: float = 0.7):
    import torch.nn.functional as F

    t = temperature
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=1), F.softmax(teacher_logits / t, dim=1),
                    reduction="batchmean") * t * t
    if labels is None:
        return soft
    return alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, labels)


def _teacher_logits(teacher, x: np.ndarray) -> np.ndarray:
    import torch

    if isinstance(teacher, torch.nn.Module):
        teacher.eval()
        with torch.no_grad():
            return torch.cat([teacher(torch.from_numpy(x[i:i + 256])) for i in range(0, len(x), 256)]).numpy()
    from edgeport.compress import _modelio
    from edgeport.compress.calibration import to_feeds
    from edgeport.compress.evaluate import predict

    fmt = _modelio.model_format(teacher)
    inputs = _modelio.model_inputs(teacher, fmt)
    feeds = to_feeds({inputs[0].name: x}, inputs, source=teacher)
    return predict(teacher, feeds)


def distill(teacher, student, data, *, temperature: float = 4.0, alpha: float = 0.7, epochs: int = 5,
            batch: int = 32, lr: float = 1e-3, seed: int = 0,
            progress: Callable[[int, int], None] | None = None) -> DistillReport:
    """Train ``student`` (torch module, in place) towards ``teacher`` on ``data`` (.npz with x [and y])."""
    import torch

    from edgeport.compress._torchio import Adam, load_xy

    if temperature <= 0 or not 0 <= alpha <= 1 or epochs < 1:
        raise UsageError(f"bad distillation settings (T={temperature}, alpha={alpha}, epochs={epochs})",
                         hint="use T > 0, 0 <= alpha <= 1, epochs >= 1")
    x, y = load_xy(data)
    tl = torch.from_numpy(np.asarray(_teacher_logits(teacher, x), np.float32).reshape(len(x), -1))
    xt = torch.from_numpy(x)
    yt = None if y is None else torch.from_numpy(np.asarray(y).astype(np.int64))
    a = alpha if yt is not None else 1.0
    rep = DistillReport(temperature, a, epochs)
    opt = Adam(student.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)

    def full_loss():
        student.eval()
        with torch.no_grad():
            out = student(xt)
            return float(hinton_loss(out, tl, yt, temperature, a)), out

    rep.losses.append(full_loss()[0])
    for ep in range(epochs):
        student.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = hinton_loss(student(xt[idx]), tl[idx], None if yt is None else yt[idx], temperature, a)
            loss.backward()
            opt.step()
        rep.losses.append(full_loss()[0])
        if progress:
            progress(ep + 1, epochs)
    out = full_loss()[1].numpy()
    rep.agreement = float((out.argmax(1) == tl.numpy().argmax(1)).mean())
    if y is not None:
        rep.student_top1 = float((out.argmax(1) == np.asarray(y)).mean())
        rep.teacher_top1 = float((tl.numpy().argmax(1) == np.asarray(y)).mean())
    student.eval()
    return rep
