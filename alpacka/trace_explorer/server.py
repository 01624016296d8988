"""The explorer's HTTP server (standard library) and command line.

Endpoints (all GET):

* ``/``: the page (``static/index.html``); ``/static/<file>``: its script
  and style sheet;
* ``/api/traces``: the run's trace files, a JSON list (see
  traces.list_traces);
* ``/api/traces/<name>``: one trace file as written by SearchTraceCallback
  (its format: alpacka.agents.search_trace);
* ``/images/<digest>.png``: a state's image.

Anything else is a 404; names are checked against what the traces directory
may hold, so no request reads outside it.
"""

import argparse
import http.server
import json
import os
import sys
import threading
import webbrowser
from typing import Optional, Sequence, Tuple
from urllib import parse

from alpacka.trace_explorer import traces
from alpacka.utils import run_directory

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'static')
_STATIC_FILES = {
    'index.html': 'text/html; charset=utf-8',
    'explorer.js': 'text/javascript; charset=utf-8',
    'explorer.css': 'text/css; charset=utf-8',
}


def make_handler(traces_dir: str) -> type:
    """A request handler class serving the page and traces_dir's traces."""

    class Handler(http.server.BaseHTTPRequestHandler):
        """Answers the explorer's GET requests (see the module docstring)."""

        def do_GET(self) -> None:  # pylint: disable=invalid-name
            """Routes a GET request."""
            path = parse.unquote(parse.urlsplit(self.path).path)
            if path == '/api/traces':
                self._send_bytes(json.dumps(traces.list_traces(
                    traces_dir)).encode(), 'application/json')
                return
            found = self._route(path)
            if found is None:
                self.send_error(404, f'No such page: {path}')
                return
            file_path, content_type = found
            self._send_file(file_path, content_type)

        @staticmethod
        def _route(path: str) -> Optional[Tuple[str, str]]:
            """The file a path names and its content type (None: 404)."""
            if path in ('/', '/index.html'):
                return os.path.join(STATIC_DIR, 'index.html'), _STATIC_FILES[
                    'index.html']
            if path.startswith('/static/'):
                name = path[len('/static/'):]
                if name in _STATIC_FILES:
                    return os.path.join(STATIC_DIR, name), _STATIC_FILES[name]
                return None
            if path.startswith('/api/traces/'):
                name = path[len('/api/traces/'):]
                if traces.is_trace_name(name):
                    return os.path.join(traces_dir, name), 'application/json'
                return None
            if path.startswith('/images/'):
                name = path[len('/images/'):]
                if traces.is_image_name(name):
                    return (os.path.join(traces_dir,
                                         run_directory.TRACE_IMAGES_DIR, name),
                            'image/png')
            return None

        def _send_file(self, file_path: str, content_type: str) -> None:
            try:
                with open(file_path, 'rb') as file:
                    body = file.read()
            except FileNotFoundError:
                self.send_error(404, 'No such file.')
                return
            self._send_bytes(body, content_type)

        def _send_bytes(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(body)))
            self.send_header('Cache-Control', 'no-cache')
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
            """Quiet: the terminal shows the URL, not every request."""
            del format, args

    return Handler


class ExplorerServer:
    """The explorer's HTTP server on (host, port), serving traces_dir.

    Args:
        traces_dir: The traces directory (traces.find_traces_dir).
        host: The address to listen on.
        port: The port (0: a free one).

    Raises:
        TraceDirectoryError: the address cannot be listened on (in use, not
            this machine's).
    """

    def __init__(self, traces_dir: str, host: str = '127.0.0.1',
                 port: int = 8000):
        try:
            self._server = http.server.ThreadingHTTPServer(
                (host, port), make_handler(traces_dir))
        except OSError as error:
            raise traces.TraceDirectoryError(
                f'Cannot listen on {host}:{port} ({error.strerror or error}). '
                f'Choose another --port (0 picks a free one) or --host.'
            ) from error
        self._server.daemon_threads = True
        self.traces_dir = traces_dir

    @property
    def url(self) -> str:
        """The page's address."""
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}/'

    def serve_forever(self) -> None:
        """Serves until shutdown() (from another thread) or Ctrl-C."""
        self._server.serve_forever()

    def shutdown(self) -> None:
        """Stops serve_forever (call from another thread)."""
        self._server.shutdown()

    def close(self) -> None:
        """Releases the socket."""
        self._server.server_close()


def _has_display() -> bool:
    """Whether a graphical browser can open here (without a display,
    webbrowser would start a text browser in this terminal)."""
    return sys.platform in ('darwin', 'win32') or bool(
        os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The command line's arguments."""
    parser = argparse.ArgumentParser(
        prog='python3 -m alpacka.trace_explorer',
        description='Serves a local web page to step through the search '
                    'traces a run recorded (SearchTraceCallback) and expand '
                    'their search trees.')
    parser.add_argument('output_dir',
                        help='The run\'s output directory (or its traces '
                             'directory).')
    parser.add_argument('--port', type=int, default=8000,
                        help='Port to listen on (default 8000; 0: a free '
                             'one).')
    parser.add_argument('--host', default='127.0.0.1',
                        help='Address to listen on (default 127.0.0.1: this '
                             'machine only).')
    parser.add_argument('--no-browser', action='store_true',
                        help='Do not open the page in a web browser (none '
                             'is opened without a display either).')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit code (2 for a problem with the input)."""
    args = parse_args(argv)
    try:
        traces_dir = traces.find_traces_dir(
            os.path.abspath(os.path.expanduser(args.output_dir)))
        server = ExplorerServer(traces_dir, args.host, args.port)
    except traces.TraceDirectoryError as error:
        print(f'alpacka.trace_explorer: error: {error}', file=sys.stderr)
        return 2
    n_traces = len(traces.list_traces(traces_dir))
    print(f'Serving {n_traces} search traces of {traces_dir} at '
          f'{server.url} (Ctrl-C stops).', flush=True)
    if not args.no_browser and _has_display():
        threading.Thread(target=webbrowser.open, args=(server.url,),
                         daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print('Stopped.', flush=True)
    return 0
