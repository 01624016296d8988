"""The parts of the peer benchmarks that run in Alpacka's own virtualenv:
peer_venvs finds a working peer virtualenv or says in one line why not;
peer_common evaluates on schedule and limits threads."""

import io
import json
import os
import subprocess
import sys

import gymnasium
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), 'benchmarks'))
import peer_common  # pylint: disable=wrong-import-position,import-error
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


def _cartpole_return(seed, act):
    env = gymnasium.make('CartPole-v1')
    observation, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        observation, reward, terminated, truncated, _ = env.step(
            act(observation))
        total += reward
        done = terminated or truncated
    return total


def test_evaluates_on_fresh_envs_with_the_protocol_seeds():
    def act(observation):
        return int(observation[3] > 0)  # Push towards the pole's fall.

    expected = [_cartpole_return(10_000 * 3 + episode, act)
                for episode in range(3)]
    assert len(set(expected)) > 1  # The seeds matter.
    assert peer_common.evaluate(act, 'CartPole-v1', 2, 3) == pytest.approx(
        sum(expected) / 3)


def test_clock_prints_an_evaluation_every_k_steps_and_a_final_line():
    out = io.StringIO()
    clock = peer_common.EvaluationClock(lambda observation: 0, 'CartPole-v1',
                                        seed=0, every=4, n_episodes=2,
                                        out=out)
    clock.start()
    for steps in range(1, 11):
        clock.step(steps)
    clock.finish(10)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [record['steps'] for record in records] == [4, 8, 10]
    assert set(records[0]) == {'steps', 'eval_return', 'train_s'}
    assert records[0]['eval_return'] == peer_common.evaluate(
        lambda observation: 0, 'CartPole-v1', 0, 2)
    assert records[-1]['done'] is True
    train_s = [record['train_s'] for record in records]
    assert 0 <= train_s[0] <= train_s[1] <= train_s[2]


def test_limit_threads_sets_the_variables_and_pins_the_cpus():
    script = ('import os, sys; sys.path.insert(0, sys.argv[1]); '
              'import peer_common; peer_common.limit_threads(1, pin_cpus=True); '
              'print(os.environ["OMP_NUM_THREADS"], os.environ["XLA_FLAGS"], '
              'len(os.sched_getaffinity(0)))')
    environment = dict(os.environ, XLA_FLAGS='--xla_dump_to=/nowhere')
    result = subprocess.run(
        [sys.executable, '-c', script, os.path.dirname(peer_common.__file__)],
        capture_output=True, text=True, check=True, env=environment)
    omp, *xla_flags, n_cpus = result.stdout.split()
    assert omp == '1'
    assert xla_flags == ['--xla_dump_to=/nowhere',
                         '--xla_cpu_multi_thread_eigen=false',
                         'intra_op_parallelism_threads=1']
    assert n_cpus == '1'
