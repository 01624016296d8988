"""``python3 -m alpacka.sweep SPEC.py --output_dir=DIR``: see
alpacka.experiments.sweep."""

import os
import sys

if __name__ == '__main__':
    # Before anything imports TensorFlow: keep its C++ log noise off the screen.
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    from alpacka.experiments import sweep  # pylint: disable=wrong-import-position
    sys.exit(sweep.main())
