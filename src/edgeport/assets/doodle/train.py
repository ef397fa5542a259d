"""Train the embedded doodle classifier and write its assets into src/edgeport/assets/doodle/.

    python -m edgeport.assets.doodle.train            # the shipped model (about 10 min on 2 busy cores)
    python -m edgeport.assets.doodle.train --out /tmp/doodle --train 6000 --epochs 1   # quick check
    (scripts/train_doodle.py is the same, from a checkout)

This script ships inside the package beside the model it trained.
Data are generated procedurally (edgeport/assets/doodle/data.py): nothing is downloaded. Writes
doodle.onnx (opset 17, dynamic batch "batch", edgeport.* metadata_props), labels.txt,
samples/*.png + samples.npz, test.npz (the held-out test set), calib.npz (int8 calibration)
and model_card.json.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np


from edgeport.assets.doodle.data import CLASSES, make_dataset

VERSION = "1.0.0"


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    p.add_argument("--train", type=int, default=30000)
    p.add_argument("--val", type=int, default=5000)
    p.add_argument("--test", type=int, default=3000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=20261123)
    p.add_argument("--calib", type=int, default=256, help="calibration doodles written to calib.npz")
    p.add_argument("--calib-only", action="store_true", help="only (re)write calib.npz")
    p.add_argument("--max-minutes", type=float, default=6.0, help="stop after the epoch that passes this")
    return p.parse_args(argv)


def _to_input(images: np.ndarray, mean: float, std: float):
    import torch

    x = images.astype(np.float32)[:, None] / 255.0
    return torch.from_numpy((x - mean) / std)


def _accuracy(model, x, y, batch=1000) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += int((model.logits(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return correct / len(x)


def _export_onnx(model, path: Path, meta: dict) -> None:
    import onnx
    import torch

    from edgeport._fileio import atomic_path

    model.eval()
    ex = torch.zeros(1, 1, 28, 28)
    buf = io.BytesIO()
    torch.onnx.export(model, (ex,), buf, input_names=["image"], output_names=["probabilities"],
                      opset_version=17, dynamo=False, dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}})
    m = onnx.load_from_string(buf.getvalue())
    m.producer_name = "edgeport.assets.doodle.train"
    del m.metadata_props[:]
    for k, v in meta.items():
        m.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(m, full_check=True)
    with atomic_path(path) as tmp:
        onnx.save(m, str(tmp))


def _save_npz(path: Path, **arrays) -> None:
    from edgeport._fileio import atomic_write_bytes

    b = io.BytesIO()
    np.savez_compressed(b, **arrays)
    atomic_write_bytes(path, b.getvalue())


def _save_samples(out: Path, images, labels, probs_fn) -> list[dict]:
    """One sample per class: the first test image of that class, saved as PNG and in samples.npz."""
    from PIL import Image

    from edgeport._fileio import atomic_path

    sdir = out / "samples"
    sdir.mkdir(parents=True, exist_ok=True)
    names, imgs, lbls = [], [], []
    for c, cname in enumerate(CLASSES):
        i = int(np.where(labels == c)[0][0])
        name = f"{c:02d}_{cname}.png"
        with atomic_path(sdir / name) as tmp:
            Image.fromarray(images[i]).save(tmp, format="PNG")
        names.append(name)
        imgs.append(images[i])
        lbls.append(c)
    _save_npz(sdir / "samples.npz", names=np.array(names), images=np.stack(imgs), labels=np.array(lbls, np.uint8))
    probs = probs_fn(np.stack(imgs))
    return [{"file": n, "label": CLASSES[l], "predicted": CLASSES[int(p.argmax())], "score": round(float(p.max()), 4)}
            for n, l, p in zip(names, lbls, probs)]


def write_calibration(out: Path, n: int, seed: int) -> Path:
    """calib.npz: ``n`` fresh doodles (own seed, not in train/val/test) for int8 calibration."""
    images, labels = make_dataset(n, seed)
    _save_npz(out / "calib.npz", images=images, labels=labels)
    (out / "calib.npz").chmod(0o644)
    return out / "calib.npz"


def main(argv=None) -> int:
    a = _args(argv)
    if a.calib_only:
        print(f"wrote {write_calibration(a.out, a.calib, a.seed + 3)}")
        card_path = a.out / "model_card.json"
        if card_path.exists():  # record it in the card of the model trained with the same seed
            from edgeport._fileio import atomic_write_bytes

            card = json.loads(card_path.read_text())
            card["data"]["calib"] = a.calib
            card["data"]["seeds"]["calib"] = a.seed + 3
            atomic_write_bytes(card_path, (json.dumps(card, indent=2) + "\n").encode())
            card_path.chmod(0o644)
        return 0
    import torch

    from edgeport.assets.doodle.model import DoodleNet
    from edgeport._fileio import atomic_write_bytes

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t0 = time.perf_counter()
    xtr, ytr = make_dataset(a.train, a.seed)
    xva, yva = make_dataset(a.val, a.seed + 1)
    xte, yte = make_dataset(a.test, a.seed + 2)
    t_data = time.perf_counter() - t0
    print(f"data: {a.train}/{a.val}/{a.test} doodles in {t_data:.1f}s", flush=True)

    mean = float(xtr.mean() / 255.0)
    std = float(xtr.std() / 255.0)
    Xtr, Xva, Xte = (_to_input(x, mean, std) for x in (xtr, xva, xte))
    Ytr, Yva, Yte = (torch.from_numpy(y.astype(np.int64)) for y in (ytr, yva, yte))

    model = DoodleNet()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    steps = a.epochs * ((a.train + a.batch - 1) // a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps)
    lossf = torch.nn.CrossEntropyLoss()
    t1 = time.perf_counter()
    history = []
    epochs_run = 0
    for ep in range(a.epochs):
        model.train()
        perm = torch.randperm(a.train)
        tot = 0.0
        for i in range(0, a.train, a.batch):
            idx = perm[i:i + a.batch]
            opt.zero_grad()
            loss = lossf(model.logits(Xtr[idx]), Ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(idx)
        epochs_run += 1
        va = _accuracy(model, Xva, Yva)
        history.append({"epoch": ep + 1, "loss": round(tot / a.train, 4), "val_accuracy": round(va, 4)})
        print(f"epoch {ep + 1}: loss {tot / a.train:.4f}  val acc {va:.4f}  ({time.perf_counter() - t1:.0f}s)", flush=True)
        if time.perf_counter() - t1 > a.max_minutes * 60:
            print("time budget reached; stopping", flush=True)
            break
    t_train = time.perf_counter() - t1
    test_acc = _accuracy(model, Xte, Yte)
    print(f"test accuracy (torch): {test_acc:.4f}", flush=True)

    out = a.out
    out.mkdir(parents=True, exist_ok=True)
    nparams = sum(p.numel() for p in model.parameters())
    meta = {
        "edgeport.labels": json.dumps(CLASSES),
        "edgeport.mean": json.dumps([round(mean, 6)]),
        "edgeport.std": json.dumps([round(std, 6)]),
        "edgeport.version": VERSION,
        "edgeport.description": ("Doodle classifier (10 classes, 28x28 white strokes on black). "
                                 "Input image [batch,1,28,28] float32 = (pixel/255 - mean)/std; "
                                 "output softmax probabilities [batch,10]."),
        "edgeport.output": "probabilities",
    }
    onnx_path = out / "doodle.onnx"
    _export_onnx(model, onnx_path, meta)
    atomic_write_bytes(out / "labels.txt", ("\n".join(CLASSES) + "\n").encode())
    _save_npz(out / "test.npz", images=xte, labels=yte)
    write_calibration(out, a.calib, a.seed + 3)

    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])

    def probs_fn(imgs):
        x = ((imgs.astype(np.float32)[:, None] / 255.0 - mean) / std).astype(np.float32)
        return sess.run(None, {"image": x})[0]

    ort_acc = float((probs_fn(xte).argmax(1) == yte).mean())
    samples = _save_samples(out, xte, yte, probs_fn)
    print(f"test accuracy (onnxruntime, {a.test} doodles in test.npz): {ort_acc:.4f}", flush=True)

    card = {
        "name": "doodle",
        "version": VERSION,
        "task": "image classification",
        "architecture": "Conv(1->32,3x3)+ReLU+MaxPool2, Conv(32->64,3x3)+ReLU+MaxPool2, "
                        "Linear(1600->512)+ReLU+Dropout(0.3), Linear(512->10), Softmax",
        "parameters": int(nparams),
        "onnx_bytes": onnx_path.stat().st_size,
        "labels": CLASSES,
        "input": {"name": "image", "shape": ["batch", 1, 28, 28], "dtype": "float32",
                  "preprocess": "(pixel/255 - mean)/std", "mean": [round(mean, 6)], "std": [round(std, 6)]},
        "output": {"name": "probabilities", "shape": ["batch", 10], "kind": "softmax probabilities"},
        "data": {"source": "procedural doodles, edgeport/assets/doodle/data.py (no download)",
                 "train": a.train, "val": a.val, "test": a.test,
                 "calib": a.calib, "seeds": {"train": a.seed, "val": a.seed + 1, "test": a.seed + 2, "calib": a.seed + 3}},
        "training": {"optimizer": "Adam + OneCycle", "lr": a.lr, "batch": a.batch, "epochs": epochs_run,
                     "threads": a.threads, "seed": a.seed, "history": history,
                     "data_seconds": round(t_data, 1), "train_seconds": round(t_train, 1),
                     "load_average_1min_at_end": round(os.getloadavg()[0], 2), "cpu_count": os.cpu_count()},
        "test_accuracy": round(ort_acc, 4),
        "test_accuracy_torch": round(test_acc, 4),
        "test_set": "test.npz",
        "samples": samples,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m edgeport.assets.doodle.train " + " ".join(shlex.quote(s) for s in (argv or sys.argv[1:])),
        "torch": torch.__version__,
    }
    atomic_write_bytes(out / "model_card.json", (json.dumps(card, indent=2) + "\n").encode())
    for f in [*out.glob("*.*"), *(out / "samples").glob("*.*")]:
        f.chmod(0o644)  # atomic temp files are created 0600; package data must be readable by all
    print(f"wrote {out} (doodle.onnx {card['onnx_bytes'] / 1e6:.2f} MB, {nparams} params)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
