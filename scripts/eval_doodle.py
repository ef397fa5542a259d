"""Top-1 accuracy of the shipped doodle model on its held-out test set (the README figure).

    .venv/bin/python scripts/eval_doodle.py                  # ONNX Runtime on assets/doodle/test.npz
    .venv/bin/python scripts/eval_doodle.py --model m.tflite # any format edgeport.load runs

Prints the accuracy, the per-class accuracy and the model card's figure for comparison.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv=None) -> int:
    from edgeport.assets import doodle

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(doodle.MODEL_PATH))
    p.add_argument("--backend", default=None)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)

    import edgeport
    from edgeport.demo import preprocess

    images, labels = doodle.load_test_set()
    names = doodle.labels()
    with edgeport.load(a.model, backend=a.backend, threads=a.threads) as sess:
        spec = sess.inputs[0]
        bs = spec.shape[0] if spec.shape and isinstance(spec.shape[0], int) and spec.shape[0] > 0 else 500
        x = preprocess(images, spec)
        pred = np.concatenate([np.asarray(next(iter(sess.run(x[i:i + bs]).values()))).reshape(len(x[i:i + bs]), -1)
                               .argmax(1) for i in range(0, len(x), bs)])
        backend = sess.backend
    acc = float((pred == labels).mean())
    print(f"{a.model} on {backend}: top-1 {100 * acc:.2f}% on {len(labels)} test doodles "
          f"(model card: {100 * doodle.model_card()['test_accuracy']:.2f}%)")
    for c, n in enumerate(names):
        m = labels == c
        print(f"  {n:9} {100 * float((pred[m] == c).mean()):6.2f}%  ({int(m.sum())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
