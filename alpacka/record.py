"""``python3 -m alpacka.record OUTPUT_DIR``: see alpacka.runner.recording."""

import os
import sys

if __name__ == '__main__':
    # Before anything imports TensorFlow: keep its C++ log noise off the screen.
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    from alpacka.runner import recording  # pylint: disable=wrong-import-position
    sys.exit(recording.main())
