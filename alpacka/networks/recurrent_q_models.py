"""The Keras model of a recurrent Q-network: torso, LSTM or GRU, Q head.

``RecurrentQModel.unroll(tf, observations [B, T, ...], state)`` runs the
torso (``q_models.torso_features``: MLP or conv net) on every time step, the
recurrent layer over the T steps from ``state`` and the Q head
(``q_models.q_head``: plain or dueling) on every step's output, returning
``(Q values [B, T, n_actions], the state after the T steps)``. Acting is an
unroll of one step; training unrolls whole sequences.

A state is a dict of float32 arrays [B, recurrent_size]: ``{'h', 'c'}`` for
an LSTM (hidden and cell state), ``{'h'}`` for a GRU. Zeros start an
episode.
"""

from typing import Any, Dict, Literal, Sequence, Tuple

import numpy as np

from alpacka.networks import q_models

Cell = Literal['lstm', 'gru']
# The state's keys of each cell, in the order Keras' layers take them.
STATE_KEYS = {'lstm': ('h', 'c'), 'gru': ('h',)}


def cell_of_state_keys(keys: Sequence[str]) -> Cell:
    """The cell whose state has these keys.

    Raises:
        ValueError: no cell has them.
    """
    for cell, cell_keys in STATE_KEYS.items():
        if tuple(keys) == cell_keys:
            return cell
    raise ValueError(f'A recurrent state has the keys {STATE_KEYS["lstm"]} '
                     f'(LSTM) or {STATE_KEYS["gru"]} (GRU); got '
                     f'{tuple(keys)}.')


def zero_state(cell: Cell, recurrent_size: int,
               batch_size: int) -> Dict[str, np.ndarray]:
    """The state an episode starts from: zeros [batch_size, recurrent_size]."""
    return {key: np.zeros((batch_size, recurrent_size), np.float32)
            for key in STATE_KEYS[cell]}


class RecurrentQModel:
    """Torso per step, a recurrent layer, the Q head (see the module).

    Args:
        keras: The keras module.
        observation_shape: One observation's shape.
        observation_dtype: Its dtype.
        n_actions: Number of actions.
        torso, hidden_sizes, conv_layout, input_scale: The torso's, as in
            q_models.torso_features.
        dueling: Dueling head.
        cell: 'lstm' or 'gru'.
        recurrent_size: Units of the recurrent layer.
        name: A prefix of the layers' names.
    """

    def __init__(self, keras: Any, observation_shape: Tuple[int, ...],
                 observation_dtype: Any, n_actions: int,
                 torso: q_models.Torso, hidden_sizes: Sequence[int],
                 dueling: bool, conv_layout: q_models.ConvLayout,
                 input_scale: float, cell: Cell, recurrent_size: int,
                 name: str):
        self._observation_shape = tuple(observation_shape)
        self._n_actions = n_actions
        self._recurrent_size = recurrent_size
        self._state_keys = STATE_KEYS[cell]
        inputs = keras.Input(self._observation_shape,
                             dtype=np.dtype(observation_dtype).name)
        features = q_models.torso_features(
            keras, inputs, self._observation_shape, torso, hidden_sizes,
            conv_layout, input_scale)
        self._torso = keras.Model(inputs, features, name=f'{name}_torso')
        self._feature_size = int(features.shape[-1])
        layer = keras.layers.LSTM if cell == 'lstm' else keras.layers.GRU
        # Unrolled over the (static) sequence length: for the short
        # sequences of acting (1 step) and replay (tens of steps) several
        # times faster on CPU than a while loop over time.
        self._rnn = layer(recurrent_size, return_sequences=True,
                          return_state=True, unroll=True,
                          name=f'{name}_{cell}')
        self._rnn.build((None, None, self._feature_size))
        head_inputs = keras.Input((recurrent_size,))
        self._head = keras.Model(
            head_inputs, q_models.q_head(keras, head_inputs, n_actions,
                                         dueling), name=f'{name}_head')

    @property
    def weights(self) -> list:
        """All variables: torso, recurrent layer, head."""
        return self._torso.weights + self._rnn.weights + self._head.weights

    @property
    def trainable_variables(self) -> list:
        """The trainable variables, in the order of weights."""
        return (self._torso.trainable_variables +
                self._rnn.trainable_variables +
                self._head.trainable_variables)

    def get_weights(self) -> list:
        """The weights as numpy arrays."""
        return [np.array(variable.numpy()) for variable in self.weights]

    def set_weights(self, values: Sequence[np.ndarray]) -> None:
        """Assigns numpy arrays to the weights (checked by the caller)."""
        for variable, value in zip(self.weights, values):
            variable.assign(value)

    def unroll(self, tf: Any, observations: Any, state: Dict[str, Any],
               training: bool = False) -> Tuple[Any, Dict[str, Any]]:
        """Q values along a batch of sequences, and the final state.

        Args:
            tf: The tensorflow module.
            observations: [B, T, *observation_shape], T static (known when
                the function is traced).
            state: The state before the first step, {key: [B, H]}.
            training: Keras' training flag.

        Returns:
            ``(Q values [B, T, n_actions], state after step T {key: [B, H]})``.
        """
        steps = int(observations.shape[1])
        flat = tf.reshape(observations, (-1,) + self._observation_shape)
        features = tf.reshape(self._torso(flat, training=training),
                              (-1, steps, self._feature_size))
        outputs = self._rnn(features, initial_state=[
            state[key] for key in self._state_keys], training=training)
        sequence, final = outputs[0], outputs[1:]
        q_values = self._head(tf.reshape(sequence, (-1, self._recurrent_size)),
                              training=training)
        return (tf.reshape(q_values, (-1, steps, self._n_actions)),
                dict(zip(self._state_keys, final)))
