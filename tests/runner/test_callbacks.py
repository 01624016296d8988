"""Tests for Runner callbacks: the evaluation callback."""

import gin
import numpy as np

from alpacka import agents
from alpacka import runner as runner_lib
from alpacka.runner import callbacks


@gin.configurable
class ModeAgent(agents.OnlineAgent):
    """Pushes left while training and right while evaluated."""

    def act(self, observation):
        return int(self.evaluation), {'evaluation': float(self.evaluation)}

    @staticmethod
    def compute_metrics(episodes):
        return {'evaluation_mean': float(np.mean(
            [episode.transition_batch.agent_info['evaluation'].mean()
             for episode in episodes]))}


def test_make_evaluation_agent_sets_the_flag():
    assert not agents.RandomAgent().evaluation
    assert callbacks.make_evaluation_agent(agents.RandomAgent).evaluation


def test_evaluation_callback_logs_greedy_episodes(tmp_path):
    gin.clear_config()
    gin.parse_config("""
        Runner.env_class = @alpacka.envs.CartPole
        Runner.agent_class = @ModeAgent
        Runner.n_envs = 2
        Runner.episode_time_limit = 50
        Runner.n_epochs = 4
        Runner.seed = 0
        Runner.callback_classes = [@alpacka.runner.callbacks.EvaluationCallback]
        EvaluationCallback.every_n_epochs = 2
        EvaluationCallback.n_episodes = 3
        EvaluationCallback.time_limit = 5
    """)
    runner_lib.Runner(str(tmp_path)).run()
    from cli_helpers import metric_values  # pylint: disable=import-outside-toplevel
    eval_counts = metric_values(tmp_path, 'eval_episode/count')
    assert eval_counts == {1: 3, 3: 3}
    # Evaluation uses its own time limit and does not feed training counters.
    assert set(metric_values(tmp_path, 'eval_episode/length_mean').values()) == {5}
    assert metric_values(tmp_path, 'counters/episodes')[3] == 8
    # Training episodes (pushing left) are not the evaluated ones.
    assert all(value > 5 for value in
               metric_values(tmp_path, 'episode/length_mean').values())
    assert np.isfinite(metric_values(tmp_path, 'eval_episode/return_mean')[3])
    # The evaluated agents ran in evaluation mode; the training ones did not.
    assert metric_values(tmp_path, 'eval_agent/evaluation_mean') == {1: 1.0,
                                                                     3: 1.0}
    assert set(metric_values(tmp_path, 'agent/evaluation_mean').values()) == {
        0.0}
