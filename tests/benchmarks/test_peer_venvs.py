"""peer_venvs finds a working peer virtualenv or says in one line why not."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), 'benchmarks'))
import peer_venvs  # pylint: disable=wrong-import-position,import-error
import sb3_venv  # pylint: disable=wrong-import-position,import-error


def _assert_one_line(why_not):
    assert why_not and '\n' not in why_not


def test_reports_a_missing_base_python(tmp_path, capsys):
    venv = tmp_path / 'venv'
    python, why_not = peer_venvs.peer_python(
        'sbx', venv=str(venv), base_python=str(tmp_path / 'no-python'))
    assert python is None
    _assert_one_line(why_not)
    assert 'no-python' in why_not and 'failed' in why_not
    # Installing says so in one line on stderr.
    assert capsys.readouterr().err.count('\n') == 1


def test_reports_a_venv_directory_that_cannot_be_made(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('not a directory')
    python, why_not = peer_venvs.peer_python(
        'sb3', venv=str(blocker / 'venv'))
    assert python is None
    _assert_one_line(why_not)
    assert '-m venv' in why_not and str(blocker / 'venv') in why_not


def test_does_not_install_when_told_not_to(tmp_path, capsys):
    python, why_not = sb3_venv.sb3_python(str(tmp_path / 'absent'),
                                          install=False)
    assert python is None
    _assert_one_line(why_not)
    assert 'installing disabled' in why_not
    assert not (tmp_path / 'absent').exists()
    assert capsys.readouterr().err == ''


def test_finds_a_working_venv_without_installing(tmp_path, monkeypatch):
    # A "venv" whose python passes the probe: the interpreter running the
    # tests, with a probe it can run.
    bin_dir = tmp_path / 'venv' / 'bin'
    bin_dir.mkdir(parents=True)
    (bin_dir / 'python').symlink_to(sys.executable)
    spec = peer_venvs.VENVS['sb3']
    monkeypatch.setitem(peer_venvs.VENVS, 'sb3', peer_venvs.PeerVenv(
        spec.directory, spec.packages, 'import json', spec.description,
        spec.script))
    python, why_not = peer_venvs.peer_python(
        'sb3', install=False, venv=str(tmp_path / 'venv'))
    assert (python, why_not) == (str(bin_dir / 'python'), '')


def test_names_the_known_peers():
    with pytest.raises(ValueError, match='sb3, sbx'):
        peer_venvs.peer_python('sb4')
    assert peer_venvs.venv_directory('sb3') == sb3_venv.DEFAULT_VENV
    assert sb3_venv.DEFAULT_VENV.endswith(os.path.join('alpacka', 'sb3-venv'))
    for name in peer_venvs.VENVS:
        assert os.path.exists(peer_venvs.peer_script(name))
