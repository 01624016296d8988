"""Tests of the explorer's command line and HTTP endpoints (no browser)."""

import json
import os
import threading
from urllib import error as url_error
from urllib import request

import pytest

from alpacka.trace_explorer import server
from alpacka.trace_explorer import traces
from alpacka.utils import run_directory


@pytest.fixture(name='explorer')
def fixture_explorer(recorded_run):
    """An ExplorerServer on a free port, serving in a thread."""
    run_dir, _ = recorded_run
    explorer = server.ExplorerServer(traces.find_traces_dir(run_dir),
                                     port=0)
    thread = threading.Thread(target=explorer.serve_forever)
    thread.start()
    yield explorer
    explorer.shutdown()
    thread.join()
    explorer.close()


def get(url):
    """(status, content type, body) of a GET."""
    try:
        with request.urlopen(url, timeout=10) as response:
            return (response.status, response.headers['Content-Type'],
                    response.read())
    except url_error.HTTPError as error:
        return error.code, None, b''


def test_endpoints_serve_the_page_the_listing_traces_and_images(
        explorer, recorded_run):
    _, recorded = recorded_run
    status, content_type, body = get(explorer.url)
    assert status == 200 and content_type.startswith('text/html')
    assert b'/static/explorer.js' in body
    for name in ('explorer.js', 'explorer.css'):
        assert get(explorer.url + 'static/' + name)[0] == 200

    listing = json.loads(get(explorer.url + 'api/traces')[2])
    assert [item['name'] for item in listing] == list(recorded)
    assert listing[1]['env_index'] == 1 and listing[1]['epoch'] == 0

    name, trace = next(iter(recorded.items()))
    assert json.loads(get(explorer.url + 'api/traces/' + name)[2]) == trace
    status, content_type, body = get(explorer.url + trace['steps'][0]['image'])
    assert (status, content_type) == (200, 'image/png')
    assert body.startswith(b'\x89PNG')

    # Only the traces directory's own files are served.
    for path in ('api/traces/..%2Fconfig.gin', 'images/..%2F' + name,
                 'static/..%2Fserver.py', 'api/traces/nope.json', 'nothing'):
        assert get(explorer.url + path)[0] == 404


def run_explorer(capsys, *args):
    """The explorer's command line (in this process; the browser test runs
    it as a program) when it must not serve: (exit code, stderr)."""
    code = server.main([*args, '--no-browser'])
    return code, capsys.readouterr().err


def test_directories_without_traces_get_one_paragraph_and_exit_code_2(
        tmp_path, capsys):
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    (run_dir / run_directory.METRICS_FILE).write_text('')
    not_a_run = tmp_path / 'other'
    not_a_run.mkdir()
    for directory, expected in (
            (run_dir, 'has no search traces'),
            (not_a_run, 'is not a run directory'),
            (tmp_path / 'missing', 'is not a directory')):
        code, stderr = run_explorer(capsys, str(directory))
        assert code == 2
        assert expected in stderr
        assert 'SearchTraceCallback' in stderr or 'missing' in str(directory)
        assert len(stderr.strip().splitlines()) == 1


def test_a_port_in_use_gets_one_paragraph(explorer, recorded_run, capsys):
    run_dir, _ = recorded_run
    port = explorer.url.rsplit(':', 1)[1].strip('/')
    code, stderr = run_explorer(capsys, run_dir, '--port', port)
    assert code == 2
    assert f'Cannot listen on 127.0.0.1:{port}' in stderr


def test_traces_are_found_from_the_run_the_stepper_or_the_traces_dir(
        recorded_run):
    run_dir, _ = recorded_run
    expected = run_directory.traces_dir(run_dir)
    for directory in (run_dir, run_directory.batch_stepper_dir(run_dir),
                      expected):
        assert traces.find_traces_dir(directory) == expected
    assert os.path.isdir(os.path.join(expected,
                                      run_directory.TRACE_IMAGES_DIR))
