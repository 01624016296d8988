"""The trace explorer: a local web page to step through recorded searches.

``python3 -m alpacka.trace_explorer OUTPUT_DIR [--port N] [--host H]
[--no-browser]`` serves the search traces that
``alpacka.agents.SearchTraceCallback`` wrote in a run's output directory
(``server.py``: a standard-library HTTP server with a few JSON endpoints)
and one static page (``static/``: HTML, plain JavaScript and CSS, no build
step, nothing fetched from the internet). The explorer only reads files: it
imports nothing that runs experiments.
"""
