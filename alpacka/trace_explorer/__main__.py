"""``python3 -m alpacka.trace_explorer OUTPUT_DIR``: see alpacka.trace_explorer."""

import sys

from alpacka.trace_explorer import server

if __name__ == '__main__':
    sys.exit(server.main())
