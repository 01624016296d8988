"""python3 -m alpacka.plot: a wrong --output gets one paragraph, exit 2, and
an earlier figure is never overwritten by a failed plot."""

import json
import os

import pytest

from alpacka import plot

METRIC = 'episode/return_mean'


@pytest.fixture(name='run_dir')
def fixture_run_dir(tmp_path):
    """A run directory with three epochs of one metric."""
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    with open(run_dir / 'metrics.jsonl', 'w', encoding='utf-8') as metrics:
        for step in range(3):
            metrics.write(json.dumps({'step': step, 'name': METRIC,
                                      'value': float(step), 'time': 1.0})
                          + '\n')
    return str(run_dir)


def _main(capsys, *argv):
    code = plot.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize('output,expected', [
    ('figures', 'is a directory; name a file in it'),
    ('figure.txt', "'txt' is not an image format matplotlib writes"),
    ('a_file/figure.png', 'Cannot write'),
], ids=['directory', 'unknown_format', 'unwritable'])
def test_a_wrong_output_is_one_paragraph(run_dir, tmp_path, capsys, output,
                                         expected):
    (tmp_path / 'figures').mkdir()
    (tmp_path / 'a_file').write_text('not a directory')
    before = sorted(os.listdir(tmp_path))
    code, out, err = _main(capsys, run_dir, '--output', tmp_path / output)
    assert code == 2
    assert err.startswith('alpacka.plot: error: ') and expected in err
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert not out
    assert sorted(os.listdir(tmp_path)) == before


def test_an_earlier_figure_survives_a_failed_plot(run_dir, tmp_path, capsys):
    figure = tmp_path / 'curve.png'
    assert _main(capsys, run_dir, '--output', figure)[0] == 0
    drawn = figure.read_bytes()
    code, _, err = _main(capsys, run_dir, '--output', figure,
                         '--metric', 'no/such_metric')
    assert code == 2 and "No run logged the metric 'no/such_metric'" in err
    assert figure.read_bytes() == drawn
    # No temporary file is left beside it either.
    assert sorted(os.listdir(tmp_path)) == ['curve.png', 'run']


def test_an_output_without_extension_is_a_png_named_so(run_dir, tmp_path,
                                                       capsys):
    code, out, _ = _main(capsys, run_dir, '--output', tmp_path / 'curve')
    assert code == 0
    assert f'Wrote {tmp_path / "curve.png"}:' in out
    assert (tmp_path / 'curve.png').read_bytes()[:4] == b'\x89PNG'


def test_an_unknown_run_directory_is_named(tmp_path, capsys):
    code, _, err = _main(capsys, tmp_path / 'no_such_run', '--output',
                         tmp_path / 'x.png')
    assert code == 2
    assert f'{tmp_path / "no_such_run"} is not a directory: it is nothing' in (
        err)
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert not (tmp_path / 'x.png').exists()
