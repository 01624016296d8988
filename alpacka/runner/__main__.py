"""``python3 -m alpacka.runner``: see alpacka.runner.cli."""

import os
import sys

# Before anything imports TensorFlow: keep its C++ log noise off the screen.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

from alpacka.runner import cli  # pylint: disable=wrong-import-position

sys.exit(cli.main())
