"""``python3 -m alpacka.plot``: see alpacka.plot."""

import sys

from alpacka.plot.cli import main

sys.exit(main())
