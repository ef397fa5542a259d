"""Pruning for PyTorch models: gradual magnitude pruning and structured channel pruning.

* :func:`prune_magnitude` — unstructured L1 pruning (``torch.nn.utils.prune``) of Conv/Linear weights to a
  sparsity target on a polynomial schedule (Zhu & Gupta: s_t = s_f (1 - (1 - t/T)^3)), fine-tuning in between.
* :func:`prune_channels` — removes whole output channels of a convolution (lowest L1 norm) together with the
  matching BatchNorm entries, depthwise channels, and input channels of the next conv / columns of the next
  Linear, so tensors really shrink and latency drops. The chain is found with torch.fx.

Fine-tuning uses cross-entropy when labels are given, else matches the unpruned model's outputs (MSE).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from edgeport.errors import UsageError

__all__ = ["PruneReport", "prune_magnitude", "prune_channels", "sparsity_of"]


@dataclass
class PruneReport:
    method: str
    target: float
    sparsity: float = 0.0
    params_before: int = 0
    params_after: int = 0
    layers: dict[str, float] = field(default_factory=dict)  # name -> sparsity, or kept/total channels
    shapes: dict[str, list[int]] = field(default_factory=dict)
    loss_before: float | None = None
    loss_after: float | None = None
    steps: int = 0

    def to_dict(self):
        return asdict(self)


def _prunable(model):
    import torch.nn as nn

    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Conv1d))]


def sparsity_of(model) -> tuple[float, dict[str, float]]:
    """Fraction of zero weights over Conv/Linear weights, overall and per layer."""
    per, zeros, total = {}, 0, 0
    for n, m in _prunable(model):
        w = m.weight.detach()
        per[n] = float((w == 0).float().mean())
        zeros += int((w == 0).sum())
        total += w.numel()
    return (zeros / total if total else 0.0), per


class _Trainer:
    """A few steps of fine-tuning: CE against labels, or MSE against the original model's outputs."""

    def __init__(self, model, data, batch, lr, seed=0):
        import torch

        from edgeport.compress._torchio import Adam, batches, load_xy

        self.model = model
        self.x, self.y = load_xy(data) if data is not None else (None, None)
        if self.x is None:
            return
        self.xt = torch.from_numpy(self.x)
        self.yt = None if self.y is None else torch.from_numpy(np.asarray(self.y).astype(np.int64))
        if self.yt is None:
            ref = copy.deepcopy(model).eval()
            with torch.no_grad():
                self.ref = torch.cat([ref(self.xt[i:i + 256]) for i in range(0, len(self.xt), 256)])
        self.it = batches(len(self.x), batch, np.random.default_rng(seed))
        self.opt = Adam(model.parameters(), lr=lr)

    def loss(self, idx=None) -> float:
        import torch

        if self.x is None:
            return float("nan")
        self.model.eval()
        with torch.no_grad():
            idx = slice(0, 512) if idx is None else idx
            return float(self._loss(self.model(self.xt[idx]), idx))

    def _loss(self, out, idx):
        import torch.nn.functional as F

        if self.yt is not None:
            return F.cross_entropy(out, self.yt[idx])
        return F.mse_loss(out, self.ref[idx])

    def step(self):
        if self.x is None:
            return
        self.model.train()
        idx = next(self.it)
        self.opt.zero_grad()
        loss = self._loss(self.model(self.xt[idx]), idx)
        loss.backward()
        self.opt.step()


def prune_magnitude(model, sparsity: float, data=None, *, steps: int = 100, updates: int = 10, batch: int = 32,
                    lr: float = 1e-3, progress: Callable[[int, int], None] | None = None) -> PruneReport:
    """Prune Conv/Linear weights (L1, per layer) to ``sparsity`` in place; fine-tune ``steps`` steps if data."""
    import torch.nn.utils.prune as tprune

    if not 0 < sparsity < 1:
        raise UsageError(f"sparsity {sparsity} out of range", hint="give a fraction between 0 and 1, e.g. 0.5")
    layers = _prunable(model)
    if not layers:
        raise UsageError("the model has no Conv/Linear layer to prune", hint="pass a CNN or MLP")
    tr = _Trainer(model, data, batch, lr)
    rep = PruneReport("magnitude", sparsity, params_before=sum(m.weight.numel() for _, m in layers))
    rep.loss_before = tr.loss()
    total = max(steps, updates)
    every = max(1, total // updates)
    for t in range(total + 1):
        if t % every == 0 or t == total:
            s_t = sparsity * (1 - (1 - min(t / total, 1.0)) ** 3)
            for _, m in layers:
                if tprune.is_pruned(m):
                    tprune.remove(m, "weight")
                if s_t > 0:
                    tprune.l1_unstructured(m, "weight", amount=s_t)
        if t < total and data is not None:
            tr.step()
        if progress:
            progress(t + 1, total + 1)
    for _, m in layers:
        if tprune.is_pruned(m):
            tprune.remove(m, "weight")
    rep.steps = total if data is not None else 0
    rep.loss_after = tr.loss()
    rep.sparsity, rep.layers = sparsity_of(model)
    rep.params_after = sum(int((m.weight != 0).sum()) for _, m in layers)
    return rep


# -- structured --------------------------------------------------------------------------------------------

_PASS_MODULES = ("BatchNorm2d", "ReLU", "ReLU6", "Hardswish", "SiLU", "GELU", "LeakyReLU", "Sigmoid", "Tanh",
                 "MaxPool2d", "AvgPool2d", "Dropout", "Identity", "Hardtanh")
_PASS_FUNCS = ("relu", "relu6", "silu", "gelu", "sigmoid", "tanh", "hardswish", "max_pool2d", "avg_pool2d", "dropout")


def _chains(gm):
    """[(conv name, [(kind, module name)])]: what must shrink when the conv loses output channels."""
    import torch.nn as nn

    mods = dict(gm.named_modules())
    out = []
    for node in gm.graph.nodes:
        if node.op != "call_module" or not isinstance(mods[node.target], nn.Conv2d) or mods[node.target].groups != 1:
            continue
        steps, cur, ok, flat = [], node, False, False
        while True:
            users = list(cur.users)
            if len(users) != 1:
                break
            u = users[0]
            if u.op == "call_module":
                m = mods[u.target]
                if isinstance(m, nn.Conv2d) and m.groups == 1 and not flat:
                    steps.append(("conv_in", u.target))
                    ok = True
                    break
                if isinstance(m, nn.Conv2d) and m.groups == m.in_channels == m.out_channels and not flat:
                    steps.append(("depthwise", u.target))
                elif isinstance(m, nn.Linear) and flat:
                    steps.append(("linear_in", u.target))
                    ok = True
                    break
                elif type(m).__name__ == "Flatten":
                    flat = True
                elif type(m).__name__ in _PASS_MODULES or type(m).__name__ == "AdaptiveAvgPool2d":
                    if isinstance(m, nn.BatchNorm2d):
                        steps.append(("bn", u.target))
                else:
                    break
            elif u.op in ("call_function", "call_method"):
                name = getattr(u.target, "__name__", str(u.target))
                if name in ("flatten", "view", "reshape"):
                    flat = True
                elif name not in _PASS_FUNCS and name != "adaptive_avg_pool2d":
                    break
            else:
                break
            cur = u
        if ok:
            out.append((node.target, steps))
    return out


def _set(mod, name, tensor):
    import torch

    old = getattr(mod, name)
    if isinstance(old, torch.nn.Parameter):
        setattr(mod, name, torch.nn.Parameter(tensor.contiguous(), requires_grad=old.requires_grad))
    else:
        setattr(mod, name, tensor.contiguous())


def prune_channels(model, ratio: float, example_input, data=None, *, steps: int = 0, batch: int = 32,
                   lr: float = 1e-3, progress: Callable[[int, int], None] | None = None) -> PruneReport:
    """Remove ``ratio`` of the output channels of every prunable conv (lowest L1 norm), in place."""
    import torch
    import torch.fx

    if not 0 < ratio < 1:
        raise UsageError(f"channel ratio {ratio} out of range", hint="give a fraction between 0 and 1, e.g. 0.25")
    try:
        gm = torch.fx.symbolic_trace(model)
    except Exception as e:
        raise UsageError(f"cannot trace the model for channel pruning: {type(e).__name__}",
                         hint="use magnitude pruning, or a model without data-dependent control flow") from None
    chains = _chains(gm)
    if not chains:
        raise UsageError("no conv -> conv/linear chain to prune channels from",
                         hint="channel pruning needs a Conv2d whose output feeds one Conv2d or Linear")
    mods = dict(model.named_modules())
    params_before = sum(p.numel() for p in model.parameters())
    tr = _Trainer(model, data, batch, lr)
    rep = PruneReport("channels", ratio, params_before=params_before, loss_before=tr.loss())
    with torch.no_grad():
        model.eval()(example_input)  # the model must run before surgery
        for conv_name, steps_ in chains:
            conv = mods[conv_name]
            c = conv.out_channels
            n_keep = max(1, int(round(c * (1 - ratio))))
            norms = conv.weight.detach().abs().flatten(1).sum(1)
            keep = torch.sort(torch.argsort(norms, descending=True)[:n_keep]).values
            _set(conv, "weight", conv.weight[keep])
            if conv.bias is not None:
                _set(conv, "bias", conv.bias[keep])
            conv.out_channels = n_keep
            for kind, name in steps_:
                m = mods[name]
                if kind == "bn":
                    for a in ("weight", "bias", "running_mean", "running_var"):
                        if getattr(m, a, None) is not None:
                            _set(m, a, getattr(m, a)[keep])
                    m.num_features = n_keep
                elif kind == "depthwise":
                    _set(m, "weight", m.weight[keep])
                    if m.bias is not None:
                        _set(m, "bias", m.bias[keep])
                    m.in_channels = m.out_channels = m.groups = n_keep
                elif kind == "conv_in":
                    _set(m, "weight", m.weight[:, keep])
                    m.in_channels = n_keep
                elif kind == "linear_in":
                    per = m.in_features // c
                    cols = (keep[:, None] * per + torch.arange(per)[None, :]).reshape(-1)
                    _set(m, "weight", m.weight[:, cols])
                    m.in_features = n_keep * per
            rep.layers[conv_name] = n_keep / c
            rep.shapes[conv_name] = list(conv.weight.shape)
    for t in range(steps if data is not None else 0):
        tr.step()
        if progress:
            progress(t + 1, steps)
    rep.steps = steps if data is not None else 0
    rep.loss_after = tr.loss()
    rep.params_after = sum(p.numel() for p in model.parameters())
    rep.sparsity = 1 - rep.params_after / params_before
    model.eval()
    return rep

