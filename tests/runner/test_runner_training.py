"""The Runner with a real KerasNetwork and SupervisedTrainer, in process."""

import gin
import numpy as np
import pytest

from alpacka import errors
from alpacka import runner as runner_lib

# SoftmaxAgent's network scores actions; the trainer regresses those scores
# onto a fixed target, so the loss must fall as the network trains (enough to
# exercise gather -> replay -> train -> checkpoint -> resume).
TRAINING_CONFIG = """
Runner.env_class = @alpacka.envs.CartPole
Runner.agent_class = @alpacka.agents.SoftmaxAgent
Runner.network_class = @alpacka.networks.KerasNetwork
Runner.trainer_class = @alpacka.trainers.SupervisedTrainer
Runner.n_envs = 4
Runner.episode_time_limit = 30
Runner.seed = 3
KerasNetwork.model_fn = @alpacka.networks.keras.mlp
mlp.hidden_sizes = (16,)
KerasNetwork.learning_rate = 0.01
SupervisedTrainer.target = @prefer_right
SupervisedTrainer.batch_size = 16
SupervisedTrainer.n_steps_per_epoch = 20
"""


@gin.configurable
def prefer_right(episode):
    """[T, 2]: scores (-1, 1) at every step."""
    return np.tile(np.array([[-1.0, 1.0]], np.float32), (len(episode), 1))


def _runner(output_dir, *bindings):
    gin.clear_config()
    gin.parse_config([TRAINING_CONFIG, *bindings])
    return runner_lib.Runner(str(output_dir))


def test_training_lowers_loss_and_resume_restores_network(tmp_path):
    runner = _runner(tmp_path, 'Runner.n_epochs = 4')
    runner.run()
    losses = [record['value'] for record in _records(tmp_path, 'train/loss')]
    assert len(losses) == 4 and losses[-1] < 0.5 * losses[0]
    # The agent follows what the network learnt: mostly action 1.
    assert _records(tmp_path, 'agent/logits_entropy_mean')[-1]['value'] < 0.6
    trained_params = runner.network.params

    resumed = _runner(tmp_path, 'Runner.n_epochs = 5')
    try:
        assert resumed.epoch == 4
        for restored, trained in zip(resumed.network.params, trained_params):
            np.testing.assert_array_equal(restored, trained)
        # pylint: disable=protected-access
        assert len(resumed._trainer.replay_buffer) == sum(
            record['value'] for record in
            _records(tmp_path, 'episode/length_mean')) * 4
    finally:
        resumed.close()


def test_diverging_loss_is_a_clear_error(tmp_path):
    runner = _runner(tmp_path, 'Runner.n_epochs = 3',
                     'KerasNetwork.learning_rate = 1e30')
    with pytest.raises(FloatingPointError, match='learning rate'):
        runner.run()


def test_model_fn_with_wrong_head_is_a_signature_error(tmp_path):
    gin.clear_config()
    gin.parse_config([TRAINING_CONFIG, 'mlp.hidden_sizes = ()'])

    @gin.configurable
    def three_outputs(network_signature):
        import keras  # pylint: disable=import-outside-toplevel
        inputs = keras.Input(network_signature.input.shape)
        return keras.Model(inputs, keras.layers.Dense(3)(inputs))

    gin.bind_parameter('KerasNetwork.model_fn', three_outputs)
    with pytest.raises(errors.NetworkSignatureError, match='KerasNetwork'):
        runner_lib.Runner(str(tmp_path))


def _records(output_dir, name):
    from cli_helpers import read_metrics  # pylint: disable=import-outside-toplevel
    return [record for record in read_metrics(output_dir)
            if record['name'] == name]
