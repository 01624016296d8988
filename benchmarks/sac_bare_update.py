"""A bare Soft Actor-Critic update in TensorFlow, written without Alpacka.

The reference that benchmarks/sac_pendulum.py measures the framework's
update against: the same networks (256x256 MLPs: an actor giving a tanh-
squashed Gaussian, two critics, two target critics), the same losses, one
``tf.function`` for critics, actor, temperature and targets, and batches
drawn from plain numpy arrays. No replay buffer class, no trainer, no
checks.
"""

import math
from typing import Any, Dict, Iterator, Tuple

import numpy as np


class BareSACUpdate:
    """A minimal SAC learner for Box actions in [-scale, scale].

    Args:
        tf: The tensorflow module.
        keras: The keras module.
        observation_dim: Size of an observation.
        action_dim: Size of an action.
        action_scale: Half the width of the action range.
        hidden: Hidden layer widths.
    """

    def __init__(self, tf: Any, keras: Any, observation_dim: int,
                 action_dim: int, action_scale: float, hidden=(256, 256)):
        self._tf = tf

        def mlp(n_inputs, n_outputs):
            inputs = keras.Input((n_inputs,))
            x = inputs
            for width in hidden:
                x = keras.layers.Dense(width, activation='relu')(x)
            return keras.Model(inputs, keras.layers.Dense(n_outputs)(x))

        self.actor = mlp(observation_dim, 2 * action_dim)
        self.critics = [mlp(observation_dim + action_dim, 1) for _ in range(2)]
        self.targets = [mlp(observation_dim + action_dim, 1) for _ in range(2)]
        for target, critic in zip(self.targets, self.critics):
            target.set_weights(critic.get_weights())
        self.log_alpha = tf.Variable(0.0)
        self.optimizers = [keras.optimizers.Adam(1e-3) for _ in range(3)]
        self._action_dim = action_dim
        self._scale = action_scale
        self._target_entropy = -float(action_dim)
        self.update = tf.function(self._update, autograph=False)

    def _sample(self, observation):
        tf = self._tf
        out = self.actor(observation)
        mean = out[:, :self._action_dim]
        log_std = tf.clip_by_value(out[:, self._action_dim:], -20.0, 2.0)
        noise = tf.random.normal(tf.shape(mean))
        u = mean + tf.exp(log_std) * noise
        log_prob = tf.reduce_sum(
            -0.5 * tf.square(noise) - log_std - 0.5 * math.log(2 * math.pi)
            - 2.0 * (math.log(2.0) - u - tf.nn.softplus(-2.0 * u)), axis=-1)
        return self._scale * tf.tanh(u), log_prob - math.log(self._scale)

    def _q(self, critics, observation, action):
        inputs = self._tf.concat([observation, action], axis=-1)
        return self._tf.minimum(critics[0](inputs)[:, 0],
                                critics[1](inputs)[:, 0])

    def _update(self, observation, action, reward, next_observation,
                terminated):
        tf = self._tf
        alpha = tf.exp(self.log_alpha)
        next_action, next_log_prob = self._sample(next_observation)
        target = tf.stop_gradient(reward + 0.99 * (1.0 - terminated) * (
            self._q(self.targets, next_observation, next_action)
            - alpha * next_log_prob))
        critic_vars = (self.critics[0].trainable_variables +
                       self.critics[1].trainable_variables)
        with tf.GradientTape(persistent=True) as tape:
            inputs = tf.concat([observation, action], axis=-1)
            critic_loss = 0.5 * tf.add_n(
                [tf.reduce_mean(tf.square(critic(inputs)[:, 0] - target))
                 for critic in self.critics])
            new_action, log_prob = self._sample(observation)
            actor_loss = tf.reduce_mean(
                alpha * log_prob - self._q(self.critics, observation,
                                           new_action))
            alpha_loss = -self.log_alpha * tf.stop_gradient(
                tf.reduce_mean(log_prob) + self._target_entropy)
        for optimizer, loss, variables in zip(
                self.optimizers, (critic_loss, actor_loss, alpha_loss),
                (critic_vars, self.actor.trainable_variables,
                 [self.log_alpha])):
            optimizer.apply_gradients(zip(tape.gradient(loss, variables),
                                          variables))
        for target, critic in zip(self.targets, self.critics):
            for target_var, var in zip(target.weights, critic.weights):
                target_var.assign(0.995 * target_var + 0.005 * var)
        return critic_loss

    def train(self, data: Dict[str, np.ndarray], n_updates: int,
              rng: np.random.Generator, batch_size: int = 256) -> float:
        """Runs n_updates updates on uniformly sampled batches of data.

        Returns:
            The last critic loss (fetched once, at the end).
        """
        loss = None
        for batch in uniform_batches(data, n_updates, rng, batch_size):
            loss = self.update(*batch)
        return float(loss)


BATCH_KEYS = ('observation', 'action', 'reward', 'next_observation',
              'terminated')


def uniform_batches(data: Dict[str, np.ndarray], n_updates: int,
                    rng: np.random.Generator, batch_size: int
                    ) -> Iterator[Tuple[np.ndarray, ...]]:
    """n_updates batches of batch_size rows of data drawn uniformly (with
    replacement): tuples of its BATCH_KEYS arrays, in that order."""
    size = len(data['reward'])
    for _ in range(n_updates):
        index = rng.integers(size, size=batch_size)
        yield tuple(data[key][index] for key in BATCH_KEYS)
