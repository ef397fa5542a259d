"""Train the embedded doodle classifier (the code ships in the package: edgeport/assets/doodle/train.py).

    .venv/bin/python scripts/train_doodle.py [--out DIR] [--train N] [--epochs E] [--calib-only]
"""

import sys

from edgeport.assets.doodle.train import main

if __name__ == "__main__":
    sys.exit(main())
