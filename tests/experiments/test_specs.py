"""mrunner specs: loading (with Alpacka's stand-in helper), grids, bindings,
experiment names and the spec's script."""

import fcntl
import math
import os
import pickle
import sys
import types

import cloudpickle
import gin
import numpy as np
import pytest

from experiments_helpers import write, write_spec

from alpacka import errors
from alpacka import experiments as experiments_lib
from alpacka.experiments import jobs
from alpacka.experiments import naming
from alpacka.experiments import sweep
from alpacka.runner import specs
from alpacka.utils import gin_bindings as bindings

GRID = {'Runner.seed': [1, 2, 3], 'ShootingAgent.n_rollouts': [8, 32]}
BASE = {'Runner.n_epochs': 2, 'Runner.seed': 0, 'Runner.n_envs': 4}


def test_python_spec_loads_through_the_stand_in(tmp_path):
    assert 'mrunner' not in sys.modules
    spec = write_spec(tmp_path, BASE, GRID, with_neptune=True,
                      project='team/project')
    loaded = specs.load_experiments(spec)
    assert loaded['kind'] == 'python'
    experiments = loaded['experiments']
    assert len(experiments) == 6
    # The stand-in modules are gone again.
    assert not [name for name in sys.modules if name.startswith('mrunner')]
    first = experiments[0]
    assert first['parameters'] == {'Runner.n_epochs': 2, 'Runner.seed': 1,
                                   'Runner.n_envs': 4,
                                   'ShootingAgent.n_rollouts': 8}
    assert first['name'] == 'test-sweep'
    assert first['project'] == 'team/project'
    assert first['tags'] == ['spec']  # globals()['script'] is the file name.
    assert first['with_neptune'] is True
    assert 'small.gin' in first['script']


def test_real_mrunner_helper_is_used_when_importable(tmp_path, monkeypatch):
    calls = []

    def real_helper(**kwargs):
        calls.append(kwargs)
        return [{'parameters': {'Runner.seed': 5}, 'name': 'real'}]

    helper = types.ModuleType(specs.HELPER_MODULE)
    helper.create_experiments_helper = real_helper
    for name, module in (('mrunner', types.ModuleType('mrunner')),
                         ('mrunner.helpers',
                          types.ModuleType('mrunner.helpers')),
                         (specs.HELPER_MODULE, helper)):
        monkeypatch.setitem(sys.modules, name, module)
    loaded = specs.load_experiments(write_spec(tmp_path, BASE, GRID))
    assert len(calls) == 1
    assert loaded['experiments'][0]['name'] == 'real'
    assert sys.modules[specs.HELPER_MODULE] is helper


def test_pickled_spec_as_the_mrunner_cli_writes_it(tmp_path):
    path = tmp_path / 'config.pkl'
    path.write_bytes(cloudpickle.dumps({
        'name': 'pickled', 'project': 'team/p', 'tags': ['a'],
        'parameters': {'Runner.seed': 3, 'Runner.env_class':
                       '@alpacka.envs.CartPole'},
        'env': {'NEPTUNE_API_TOKEN': 'x'}, 'script': 'python3 -m ...'}))
    loaded = specs.load_experiments(str(path))
    assert loaded['kind'] == 'pickle'
    (experiment,) = loaded['experiments']
    assert experiment['parameters']['Runner.seed'] == 3
    # mrunner's helper sets the token in env exactly when with_neptune.
    assert experiment['with_neptune'] is True
    run = specs.load_for_mrunner(str(path))
    assert run.bindings == ['Runner.seed = 3',
                            'Runner.env_class = @alpacka.envs.CartPole']


def test_pickled_mrunner_experiment_object_loads_without_mrunner(tmp_path):
    # An object of mrunner's own Experiment class, pickled by reference.
    module = types.ModuleType('mrunner.experiment')

    class Experiment:  # pylint: disable=missing-class-docstring
        def __init__(self):
            self.name = 'object'
            self.project = None
            self.parameters = {'Runner.seed': 4}
            self.tags = []
            self.env = {}

    Experiment.__module__ = 'mrunner.experiment'
    Experiment.__qualname__ = 'Experiment'
    module.Experiment = Experiment
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setitem(sys.modules, 'mrunner',
                            types.ModuleType('mrunner'))
        monkeypatch.setitem(sys.modules, 'mrunner.experiment', module)
        data = pickle.dumps(Experiment(), protocol=4)
    path = write(tmp_path / 'experiment.pkl', '')
    with open(path, 'wb') as pickle_file:
        pickle_file.write(data)
    (experiment,) = specs.load_experiments(path)['experiments']
    assert experiment['name'] == 'object'
    assert experiment['parameters'] == {'Runner.seed': 4}
    assert experiment['with_neptune'] is False


def test_mrunner_takes_the_first_experiment(tmp_path):
    run = specs.load_for_mrunner(write_spec(tmp_path, BASE, GRID))
    assert run.n_experiments == 6
    assert run.bindings == ['Runner.n_epochs = 2', 'Runner.seed = 1',
                            'Runner.n_envs = 4', 'ShootingAgent.n_rollouts = 8']


@pytest.mark.parametrize('source, message', [
    ('x = 1\n', 'does not define experiments_list'),
    ('experiments_list = []\n', 'holds no experiments'),
    ('experiments_list = [1]\n', 'not an mrunner experiment'),
    ('\n\nraise RuntimeError("boom")\n', 'RuntimeError: boom (line 3)'),
    ('experiments_list = [\n', 'SyntaxError'),
])
def test_broken_specs_are_named_in_one_paragraph(tmp_path, source, message):
    path = write(tmp_path / 'broken.py', source)
    with pytest.raises(errors.ConfigError) as error:
        specs.load_experiments(path)
    assert message in str(error.value)
    assert '\n' not in str(error.value)
    assert not [name for name in sys.modules if name.startswith('mrunner')]


def test_missing_spec_file(tmp_path):
    with pytest.raises(errors.ConfigError, match='Cannot read'):
        specs.load_experiments(str(tmp_path / 'nope.py'))


def test_grid_is_the_product_merged_over_the_base_config():
    experiments = specs.create_experiments_helper(
        experiment_name='e', base_config=BASE, params_grid=GRID,
        script='s', python_path='', tags=[])
    points = [(e.parameters['Runner.seed'],
               e.parameters['ShootingAgent.n_rollouts']) for e in experiments]
    # The last key varies fastest, as in itertools.product.
    assert points == [(1, 8), (1, 32), (2, 8), (2, 32), (3, 8), (3, 32)]
    for experiment in experiments:
        # Base keys keep their place; the grid overrides their values.
        assert list(experiment.parameters) == [
            'Runner.n_epochs', 'Runner.seed', 'Runner.n_envs',
            'ShootingAgent.n_rollouts']
        assert experiment.parameters['Runner.n_envs'] == 4
    assert BASE['Runner.seed'] == 0  # The base config is not modified.


def test_grid_scalars_zipped_keys_and_lists_of_grids():
    assert specs.grid_combinations({'a': 1, 'b': 'text', 'c': {'k': 1},
                                    'd': (1, 2)}) == [
        {'a': 1, 'b': 'text', 'c': {'k': 1}, 'd': 1},
        {'a': 1, 'b': 'text', 'c': {'k': 1}, 'd': 2}]
    assert specs.grid_combinations({'x': [0, 1], 'a___': [1, 2],
                                    'b___': np.array([3, 4])}) == [
        {'a': 1, 'b': 3, 'x': 0}, {'a': 1, 'b': 3, 'x': 1},
        {'a': 2, 'b': 4, 'x': 0}, {'a': 2, 'b': 4, 'x': 1}]
    assert specs.grid_combinations([{'a': range(2)}, {'b': [5]}, {}]) == [
        {'a': 0}, {'a': 1}, {'b': 5}, {}]
    with pytest.raises(errors.ConfigError, match='one length'):
        specs.grid_combinations({'a___': [1, 2], 'b___': [1]})


def test_update_lambda_is_honoured():
    def update(config, point):
        config['Runner.seed'] = point['seed'] * 10

    experiments = specs.create_experiments_helper(
        experiment_name='e', base_config={}, params_grid={'seed': [2]},
        script='s', update_lambda=update)
    assert [experiment.parameters for experiment in experiments] == [
        {'Runner.seed': 20}]


@pytest.mark.parametrize('value, literal', [
    ('cart', "'cart'"),
    ("it's", '"it\'s"'),
    ('@alpacka.envs.CartPole', '@alpacka.envs.CartPole'),
    ('@alpacka.networks.mlp()', '@alpacka.networks.mlp()'),
    ('%n_envs', '%n_envs'),
    (3, '3'),
    (-2.5, '-2.5'),
    (1e-4, '0.0001'),
    (math.inf, '1e999'),
    (True, 'True'),
    (None, 'None'),
    (np.int64(7), '7'),
    (np.float32(0.5), '0.5'),
    (np.array([1, 2]), '[1, 2]'),
    ([1, 'a', None], "[1, 'a', None]"),
    ((64,), '(64,)'),
    ((64, 64), '(64, 64)'),
    (['@alpacka.envs.CartPole', '%macro'],
     '[@alpacka.envs.CartPole, %macro]'),
    ({'size': 3, 'name': 'x'}, "{'size': 3, 'name': 'x'}"),
])
def test_gin_literals(value, literal):
    assert bindings.gin_literal(value) == literal


def test_bindings_parse_back_into_the_values():
    parameters = {'imports': ['math'], 'n': 3, 'Runner.seed': '%n',
                  'Runner.env_kwargs': {'a': (1,), 'b': [None, True, 'x']},
                  'Runner.env_class': '@alpacka.envs.CartPole'}
    bound = bindings.parameters_to_bindings(parameters)
    assert bound[0] == 'import math'
    gin.parse_config(bound)
    assert gin.query_parameter('Runner.env_kwargs') == {
        'a': (1,), 'b': [None, True, 'x']}
    assert gin.query_parameter('%n') == 3


def test_values_without_a_gin_literal_are_named():
    with pytest.raises(bindings.UnsupportedValueError,
                       match="'Runner.seed'.*object"):
        bindings.parameters_to_bindings({'Runner.seed': object()})
    with pytest.raises(bindings.UnsupportedValueError, match='NaN'):
        bindings.gin_literal(float('nan'))


def test_names_come_from_the_varying_parameters():
    experiments = specs.create_experiments_helper(
        experiment_name='e', base_config=BASE, params_grid={
            'ShootingAgent.n_rollouts': [10, 20], 'Runner.seed': [1, 2]},
        script='s')
    parameters = [experiment.parameters for experiment in experiments]
    names = naming.experiment_names(parameters)
    assert names == ['Runner.seed=1,ShootingAgent.n_rollouts=10',
                     'Runner.seed=2,ShootingAgent.n_rollouts=10',
                     'Runner.seed=1,ShootingAgent.n_rollouts=20',
                     'Runner.seed=2,ShootingAgent.n_rollouts=20']
    assert naming.experiment_names(parameters) == names  # Deterministic.
    assert naming.experiment_names([{'a': 1}], default='solo') == ['solo']


def test_names_are_safe_short_and_unique():
    names = naming.experiment_names([
        {'alpacka.agents.ShootingAgent.agent_class': '@a/b', 'x': 1},
        {'alpacka.agents.ShootingAgent.agent_class': '@a_b', 'x': 1},
        {'alpacka.agents.ShootingAgent.agent_class': 'y' * 300, 'x': 1},
        {'alpacka.agents.ShootingAgent.agent_class': 'z' * 300, 'x': 1},
        {'alpacka.agents.ShootingAgent.agent_class': [1, 2], 'x': 1},
        {'alpacka.agents.ShootingAgent.agent_class': [1, 2], 'x': 1},
    ])
    assert len(set(names)) == 6
    for name in names:
        assert len(name) <= 120
        assert '/' not in name and ' ' not in name
        assert name.startswith('ShootingAgent.agent_class=')
    # Distinct values that read alike get a hash; identical ones a number.
    assert names[0].startswith('ShootingAgent.agent_class=@a_b-')
    assert names[1].startswith('ShootingAgent.agent_class=@a_b-')
    assert names[5] == names[4] + '-2'


def test_script_arguments():
    script = jobs.parse_script(
        'python3 -m alpacka.runner --mrunner --output_dir ./out '
        '--config_file=a.gin --config_file b.gin --config=Runner.seed=1 '
        '--tensorboard')
    assert script.config_files == ['a.gin', 'b.gin']
    assert script.bindings == ['Runner.seed=1']
    assert script.flags == ['--tensorboard']
    with pytest.raises(errors.ConfigError, match='alpacka.runner'):
        jobs.parse_script('python3 train.py --lr=1')


def test_summary_of_grids_with_different_keys(tmp_path):
    two_jobs = [jobs.Job(name=name, values=values, config_files=[],
                         bindings=[], runner_args=[],
                         output_dir=str(tmp_path / name), cwd=str(tmp_path),
                         env={}, n_epochs=n_epochs)
                for name, values, n_epochs in (('a=1', {'a': '1'}, 3),
                                               ('b=2', {'b': '2'}, None))]
    rows = sweep.summary_rows(two_jobs)
    assert rows == [
        {'a': '1', 'b': '-', 'final return': '-', 'best return': '-',
         'epochs': '0/3', 'status': 'not started'},
        {'a': '-', 'b': '2', 'final return': '-', 'best return': '-',
         'epochs': '0', 'status': 'not started'}]
    table = sweep.format_table(rows).splitlines()
    assert table[0].split() == ['a', 'b', 'final', 'return', 'best', 'return',
                                'epochs', 'status']
    assert table[0].index('status') == table[2].index('not started')


def test_a_second_launcher_on_the_same_directory_is_refused(tmp_path, capsys):
    spec = write_spec(tmp_path, {'Runner.n_epochs': 1}, {})
    output_dir = tmp_path / 'sweep'
    output_dir.mkdir()
    with open(output_dir / sweep.LOCK_FILE, 'w', encoding='utf-8') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write(f'{os.getpid()}\n')
        lock.flush()
        assert sweep.main([spec, f'--output_dir={output_dir}']) == 2
    # The refusal names the holder (this process holds the lock here).
    err = capsys.readouterr().err
    assert f'is in use by another sweep: process {os.getpid()} (' in err
    assert 'Traceback' not in err
    assert not (output_dir / 'test-sweep').exists()


def test_old_module_paths_are_the_moved_modules():
    """alpacka.experiments.specs and .bindings are the modules that moved
    below the runner (same objects: old imports and pickles keep working)."""
    # pylint: disable=import-outside-toplevel
    from alpacka.experiments import bindings as old_bindings
    from alpacka.experiments import specs as old_specs
    assert old_specs is specs and old_bindings is bindings
    assert experiments_lib.load_for_mrunner is specs.load_for_mrunner
    assert (experiments_lib.parameters_to_bindings is
            bindings.parameters_to_bindings)
    # A pickle written before the move names the old module.
    old_pickle = pickle.dumps(
        specs.Experiment(name='n', script='s', parameters={}),
        protocol=0).replace(b'alpacka.runner.specs', b'alpacka.experiments.specs')
    assert b'alpacka.experiments.specs' in old_pickle
    assert pickle.loads(old_pickle).name == 'n'
