"""Walks every public configurable through the real command line: each
parameter given a wrong type, and a value out of its declared range, is
refused with one paragraph naming it, exit code 2, and the output directory
of a finished run left as it was.

The cases run in-process (``cli.main``), one Gin config after another; the
errors come before any epoch. Most are refused by the Runner's start-up
check of the bindings; test_construction_* go through the checks that run
when the Runner builds each component (values given through Gin macros,
which the start-up check cannot read, and through Runner.env_kwargs).
"""

import signal

import gin
import pytest
from walk_cases import parameter_cases, snapshot, unchecked_parameters

from alpacka.runner import cli
from alpacka.utils import run_directory

_TINY_RUN = ['--config=Runner.n_envs=2', '--config=Runner.n_epochs=1',
             '--config=Runner.episode_time_limit=5', '--config=Runner.seed=0']


@pytest.fixture(autouse=True, scope='module')
def _keep_sigterm_handler():
    # cli.main turns SIGTERM into KeyboardInterrupt; not for pytest's process.
    handler = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, handler)


@pytest.fixture(name='finished_run', scope='module')
def fixture_finished_run(tmp_path_factory):
    """The output directory of a finished tiny run."""
    output_dir = str(tmp_path_factory.mktemp('finished_run'))
    gin.clear_config()
    assert cli.main([f'--output_dir={output_dir}', *_TINY_RUN]) == 0
    gin.clear_config()
    return output_dir


def _assert_refused(capsys, output_dir, bindings, *names, flags=()):
    before = snapshot(output_dir)
    capsys.readouterr()
    gin.clear_config()
    code = cli.main([f'--output_dir={output_dir}', *flags,
                     *[f'--config={binding}' for binding in bindings]])
    gin.clear_config()
    err = capsys.readouterr().err
    assert code == 2, err
    assert 'Traceback' not in err and 'In call to configurable' not in err
    notes, _, paragraph = err.partition('alpacka: error: ')
    assert paragraph and '\n\n' not in paragraph.strip(), err
    # Components built after the checkpoint is restored (the stepper, the
    # callbacks) are refused after the Runner's note that it resumes.
    assert all(line.startswith('Resuming from the checkpoint')
               for line in notes.splitlines()), err
    for name in names:
        assert name in paragraph, err
    assert snapshot(output_dir) == before
    return paragraph


@pytest.mark.parametrize('full_name, parameter, kind, literal', [
    pytest.param(*case, id=f'{case[0]}.{case[1]}:{case[2]}')
    for case in parameter_cases()])
def test_a_wrong_binding_is_refused(capsys, finished_run, full_name, parameter,
                                    kind, literal):
    del kind
    short_name = full_name.rsplit('.', 1)[1]
    err = _assert_refused(capsys, finished_run,
                          [f'{full_name}.{parameter} = {literal}'],
                          f'{short_name}.{parameter} = ')
    assert 'is not allowed: it must be' in err


def test_only_keras_objects_and_framework_arguments_go_unchecked():
    assert unchecked_parameters() == {
        'alpacka.agents.search_trace.SearchTraceCallback': ['agent'],
        'alpacka.networks.KerasNetwork': ['optimizer', 'loss', 'loss_weights',
                                          'metrics', 'train_callbacks'],
        'alpacka.networks.keras.categorical_crossentropy_from_logits': [
            'y_true', 'y_pred'],
        'alpacka.networks.keras.convnet': ['output_activation'],
        'alpacka.networks.keras.convnet_mnist': ['output_activation'],
        'alpacka.networks.keras.mlp': ['output_activation'],
        'alpacka.runner.callbacks.EvaluationCallback': ['runner'],
    }


# Each component the Runner builds, with the bindings that make it build it
# and a parameter given through a macro (so only construction can check it).
_BUILT_BY_THE_RUNNER = {
    'runner': ([], 'Runner.n_envs', '0'),
    'env': (['Runner.env_class = @alpacka.envs.NoisyCartPole'],
            'NoisyCartPole.flip_probability', '1.5'),
    'agent': (['Runner.agent_class = @alpacka.agents.ShootingAgent'],
              'ShootingAgent.n_rollouts', '0'),
    'network': (['Runner.agent_class = @alpacka.agents.SoftmaxAgent',
                 'Runner.network_class = @alpacka.networks.KerasNetwork'],
                'KerasNetwork.learning_rate', '-0.1'),
    'trainer': (['Runner.agent_class = @alpacka.agents.SoftmaxAgent',
                 'Runner.trainer_class = @alpacka.trainers.SupervisedTrainer'],
                'SupervisedTrainer.batch_size', "'abc'"),
    'stepper': (['Runner.batch_stepper_class = '
                 '@alpacka.batch_steppers.RayBatchStepper'],
                'RayBatchStepper.n_workers', '0'),
    'callback': (['Runner.callback_classes = '
                  '[@alpacka.runner.callbacks.EvaluationCallback]'],
                 'EvaluationCallback.n_episodes', '0'),
}


@pytest.mark.parametrize('component', sorted(_BUILT_BY_THE_RUNNER))
def test_construction_refuses_a_value_the_start_up_check_cannot_read(
        capsys, finished_run, component):
    bindings, parameter, literal = _BUILT_BY_THE_RUNNER[component]
    # The flag lets the changed bindings past the config-drift check, so the
    # experiment is built and construction refuses the value.
    err = _assert_refused(
        capsys, finished_run,
        [*bindings, f'BAD = {literal}', f'{parameter} = %BAD'],
        f'{parameter} = {literal}', flags=['--allow_config_change'])
    assert 'is not allowed: it must be' in err


def test_construction_refuses_env_kwargs(capsys, finished_run):
    _assert_refused(capsys, finished_run,
                    ['Runner.env_class = @alpacka.envs.NoisyCartPole',
                     "Runner.env_kwargs = {'flip_probability': 'often'}"],
                    "NoisyCartPole.flip_probability = 'often'",
                    flags=['--allow_config_change'])


def test_config_gin_is_kept(capsys, finished_run):
    config_path = run_directory.config_path(finished_run)
    with open(config_path, 'rb') as config_file:
        before = config_file.read()
    gin.clear_config()
    assert cli.main([f'--output_dir={finished_run}',
                     '--config=Runner.n_envs=0']) == 2
    capsys.readouterr()
    with open(config_path, 'rb') as config_file:
        assert config_file.read() == before
