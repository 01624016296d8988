"""The Runner's step-based collection (Runner.env_steps_per_epoch)."""

import gin
import pytest
from cli_helpers import metric_values

from alpacka import agents
from alpacka import errors
from alpacka import runner as runner_lib
from alpacka import trainers
from alpacka.runner import epoch_metrics

STEP_CONFIG = """
Runner.env_class = @alpacka.envs.CartPole
Runner.agent_class = @alpacka.agents.RandomAgent
Runner.trainer_class = @RecordingTrainer
Runner.n_envs = 4
Runner.episode_time_limit = 30
Runner.env_steps_per_epoch = 40
Runner.env_steps_per_train = 8
Runner.seed = 1
"""


@gin.configurable
class RecordingTrainer(trainers.Trainer):
    """Counts what it is given; each train_epoch reports 2 updates and a
    'loss' equal to the number of its previous calls."""

    def __init__(self, network_signature):
        super().__init__(network_signature)
        self.transitions = 0
        self.train_calls = 0

    def add_episode(self, episode):
        raise AssertionError('step-based collection adds transitions')

    def add_transitions(self, transition_batch):
        assert transition_batch.terminated is not None
        self.transitions += len(transition_batch.reward)

    def train_epoch(self, network):
        self.train_calls += 1
        return {'n_updates': 2.0, 'loss': float(self.train_calls - 1)}

    def state_dict(self):
        return {'transitions': self.transitions,
                'train_calls': self.train_calls}

    def load_state_dict(self, state):
        self.transitions = state['transitions']
        self.train_calls = state['train_calls']


@gin.configurable
class EpisodeTrainer(trainers.Trainer):
    """Learns from whole episodes only (no add_transitions)."""

    def add_episode(self, episode):
        del episode

    def train_epoch(self, network):
        return {}


@gin.configurable
class WholeEpisodeAgent(agents.RandomAgent):
    """Plays whole episodes in its own solve()."""

    def solve(self, env, epoch=None, init_state=None, time_limit=None):
        return (yield from super().solve(env, epoch, init_state, time_limit))


def _runner(output_dir, *bindings):
    gin.clear_config()
    gin.parse_config([STEP_CONFIG, *bindings])
    return runner_lib.Runner(str(output_dir))




def test_each_epoch_takes_fixed_steps_and_trains_in_between(tmp_path):
    runner = _runner(tmp_path, 'Runner.n_epochs = 3')
    trainer = runner._trainer  # pylint: disable=protected-access
    runner.run()
    assert trainer.transitions == 120
    assert trainer.train_calls == 15  # 40 / 8 per epoch.
    assert metric_values(tmp_path, 'counters/env_steps') == {0: 40, 1: 80, 2: 120}
    assert metric_values(tmp_path, 'train/n_updates') == {0: 10, 1: 10, 2: 10}
    # Means over the epoch's five calls, weighted by their n_updates.
    assert metric_values(tmp_path, 'train/loss') == {0: 2.0, 1: 7.0, 2: 12.0}
    # episode/* covers the episodes that ended in the epoch.
    counts = metric_values(tmp_path, 'episode/count')
    assert sum(counts.values()) == metric_values(tmp_path, 'counters/episodes')[2]
    assert all(length <= 30 for length in
               metric_values(tmp_path, 'episode/length_mean').values())


def test_resume_continues_the_step_count(tmp_path):
    _runner(tmp_path, 'Runner.n_epochs = 2').run()
    resumed = _runner(tmp_path, 'Runner.n_epochs = 3')
    trainer = resumed._trainer  # pylint: disable=protected-access
    assert trainer.transitions == 80
    resumed.run()
    assert trainer.transitions == 120
    assert metric_values(tmp_path, 'counters/env_steps') == {0: 40, 1: 80, 2: 120}


def test_precollect_epochs_gather_without_training(tmp_path):
    runner = _runner(tmp_path, 'Runner.n_epochs = 2',
                     'Runner.n_precollect_epochs = 1')
    trainer = runner._trainer  # pylint: disable=protected-access
    runner.run()
    assert trainer.transitions == 80 and trainer.train_calls == 5
    assert list(metric_values(tmp_path, 'train/n_updates')) == [1]


@pytest.mark.parametrize('binding, message', [
    ('Runner.env_steps_per_epoch = 42', 'multiple of Runner.n_envs = 4'),
    ('Runner.env_steps_per_train = 6', 'multiple of Runner.n_envs = 4'),
    ('Runner.trainer_class = @EpisodeTrainer',
     'EpisodeTrainer learns from whole episodes'),
    ('Runner.agent_class = @WholeEpisodeAgent',
     'WholeEpisodeAgent plays whole episodes in its own solve'),
])
def test_misconfigured_step_collection_is_a_config_error(
        tmp_path, binding, message):
    with pytest.raises(errors.ConfigError, match=message):
        _runner(tmp_path, binding)


def test_merge_train_metrics():
    merged = epoch_metrics.merge_train_metrics(
        [{'n_updates': 0.0}, {'n_updates': 1.0, 'loss': 4.0},
         {'n_updates': 3.0, 'loss': 0.0}, {}])
    assert merged == {'n_updates': 4.0, 'loss': 1.0}
    assert epoch_metrics.merge_train_metrics(
        [{'loss': 1.0}, {'loss': 3.0}]) == {'loss': 2.0}
    assert not epoch_metrics.merge_train_metrics([])
