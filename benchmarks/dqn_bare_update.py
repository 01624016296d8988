"""A bare double-DQN update in TensorFlow, written without Alpacka.

The reference that benchmarks/dqn_update_speed.py measures Alpacka's
Q-learning update against: the Nature DQN conv net (Mnih et al. 2015: conv
32 8x8 stride 4, 64 4x4 stride 2, 64 3x3 stride 1, dense 512, one output per
action) on [84, 84, 4] uint8 frames scaled to [0, 1] inside the network, a
target network copied every ``target_every`` updates, the double-DQN target
(the online network picks the next action, the target network values it),
the Huber loss, Adam or RMSprop, one ``tf.function`` per update, and batches
drawn from plain numpy arrays and fed each step. No replay buffer class, no
trainer, no checks.
"""

from typing import Any, Dict, Literal

import numpy as np

import sac_bare_update

FRAME_SHAPE = (84, 84, 4)


def nature_q_network(keras: Any, n_actions: int) -> Any:
    """The Nature DQN conv net: [batch, 84, 84, 4] uint8 -> [batch,
    n_actions] Q-values."""
    inputs = keras.Input(FRAME_SHAPE, dtype='uint8')
    x = keras.layers.Rescaling(1 / 255)(inputs)
    for filters, kernel, stride in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
        x = keras.layers.Conv2D(filters, kernel, stride, activation='relu')(x)
    x = keras.layers.Dense(512, activation='relu')(keras.layers.Flatten()(x))
    return keras.Model(inputs, keras.layers.Dense(n_actions)(x))


def random_atari_batches(n_transitions: int, n_actions: int, seed: int = 0
                         ) -> Dict[str, np.ndarray]:
    """n_transitions random transitions of 84x84x4 uint8 frames.

    Returns:
        ``observation`` and ``next_observation`` [n, 84, 84, 4] uint8,
        ``action`` [n] int32, ``reward`` and ``terminated`` [n] float32.
    """
    rng = np.random.default_rng(seed)
    return {
        'observation': rng.integers(0, 256, (n_transitions, *FRAME_SHAPE),
                                    np.uint8),
        'next_observation': rng.integers(
            0, 256, (n_transitions, *FRAME_SHAPE), np.uint8),
        'action': rng.integers(n_actions, size=n_transitions).astype(
            np.int32),
        'reward': rng.random(n_transitions, np.float32),
        'terminated': (rng.random(n_transitions) < 0.01).astype(np.float32),
    }


class BareDQNUpdate:
    """A minimal double-DQN learner on the Nature conv net.

    Args:
        tf: The tensorflow module.
        keras: The keras module.
        n_actions: Outputs of the Q-network.
        learning_rate: The optimizer's learning rate.
        optimizer: 'adam' or 'rmsprop'.
        gamma: The discount.
        target_every: Copy the online network to the target every this
            many updates.
        seed: Seeds the networks' initial weights.
        jit_compile: Compile the update with XLA (``tf.function(...,
            jit_compile=True)``; on one CPU thread, about 1.35x the updates/s
            of the plain graph on the Nature net).
    """

    def __init__(self, tf: Any, keras: Any, n_actions: int,
                 learning_rate: float = 1e-4,
                 optimizer: Literal['adam', 'rmsprop'] = 'adam',
                 gamma: float = 0.99, target_every: int = 1000,
                 seed: int = 0, jit_compile: bool = False):
        self._tf = tf
        keras.utils.set_random_seed(seed)
        self.online = nature_q_network(keras, n_actions)
        self.target = nature_q_network(keras, n_actions)
        self.target.set_weights(self.online.get_weights())
        self.optimizer = (keras.optimizers.Adam(learning_rate)
                          if optimizer == 'adam' else
                          keras.optimizers.RMSprop(learning_rate))
        self._gamma = gamma
        self._target_every = target_every
        self._n_updates = 0
        self.update = tf.function(self._update, autograph=False,
                                  jit_compile=jit_compile)
        self.copy_target = tf.function(self._copy_target, autograph=False)

    def _update(self, observation, action, reward, next_observation,
                terminated):
        tf = self._tf
        next_action = tf.argmax(self.online(next_observation), axis=-1)
        next_q = tf.gather(self.target(next_observation), next_action,
                           batch_dims=1)
        target = tf.stop_gradient(
            reward + self._gamma * (1.0 - terminated) * next_q)
        variables = self.online.trainable_variables
        with tf.GradientTape() as tape:
            q = tf.gather(self.online(observation), action, batch_dims=1)
            error = tf.abs(q - target)
            # Huber with delta 1: quadratic inside, linear outside.
            loss = tf.reduce_mean(tf.where(error < 1.0, 0.5 * error ** 2,
                                           error - 0.5))
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables),
                                           variables))
        return loss

    def _copy_target(self):
        for target_var, var in zip(self.target.weights, self.online.weights):
            target_var.assign(var)

    def train(self, data: Dict[str, np.ndarray], n_updates: int,
              rng: np.random.Generator, batch_size: int = 32) -> float:
        """Runs n_updates updates on uniformly sampled batches of data
        (random_atari_batches' keys).

        Returns:
            The last loss (fetched once, at the end).
        """
        loss = None
        for batch in sac_bare_update.uniform_batches(data, n_updates, rng,
                                                     batch_size):
            loss = self.update(*batch)
            self._n_updates += 1
            if self._n_updates % self._target_every == 0:
                self.copy_target()
        return float(loss)
