"""QNetwork: a Q-network, its target copy and the DQN update.

The update's maths is in ``alpacka.networks.q_losses``; the models in
``alpacka.networks.q_models``.
"""

from typing import (Annotated, Any, Dict, List, Literal, NamedTuple, Optional,
                    Sequence)

import numpy as np

from alpacka import data
from alpacka.networks import numpy_mlp
from alpacka.networks import q_losses
from alpacka.networks import q_models
from alpacka.networks import tensorflow_base
from alpacka.utils import validation

_PositiveInt = Annotated[int, validation.AtLeast(1)]
# The keys of a training batch, in the order of the compiled update's inputs.
BATCH_KEYS = ('observation', 'action', 'return', 'discount',
              'next_observation', 'weight')


def q_network_signature(observation_signature: data.TensorSignature,
                        n_actions: int) -> data.NetworkSignature:
    """The signature of a Q-network: observations in, [n_actions] Q values out."""
    return data.NetworkSignature(
        input=observation_signature,
        output=data.TensorSignature((n_actions,), np.float32))


def make_optimizer(keras: Any, optimizer: str, learning_rate: float,
                   adam_epsilon: float, rmsprop_rho: float,
                   rmsprop_epsilon: float, rmsprop_centered: bool) -> Any:
    """The Keras optimizer QNetwork names (see its Args)."""
    if optimizer == 'rmsprop':
        return keras.optimizers.RMSprop(
            learning_rate=learning_rate, rho=rmsprop_rho,
            epsilon=rmsprop_epsilon, centered=rmsprop_centered)
    return keras.optimizers.Adam(learning_rate=learning_rate,
                                 epsilon=adam_epsilon)


class UpdateRule(NamedTuple):
    """How an update is applied (see QNetwork's Args of the same names)."""
    max_grad_norm: Optional[float]
    target_update: str
    target_update_period: int
    polyak: float


def apply_q_update(tf: Any, optimizer: Any, variables: Sequence[Any],
                   gradients: Sequence[Any], loss: Any, n_updates: Any,
                   targets: tensorflow_base.TargetWeights,
                   rule: UpdateRule) -> Any:
    """Applies one update inside a compiled step: clips the gradients'
    global norm, applies them, counts the update and updates the targets
    (hard copy every k updates, or Polyak) -- all skipped when the loss is
    not finite (train() then raises).

    Returns:
        The gradients' global norm before clipping.
    """
    grad_norm = tf.linalg.global_norm(gradients)
    if rule.max_grad_norm is not None:
        gradients, _ = tf.clip_by_global_norm(
            gradients, rule.max_grad_norm, use_norm=grad_norm)

    def apply():
        optimizer.apply_gradients(zip(gradients, variables))
        n_updates.assign_add(1)
        if rule.target_update == 'polyak':
            targets.polyak_update(rule.polyak)
        else:
            targets.periodic_hard_update(tf, n_updates,
                                         rule.target_update_period)
        return tf.constant(True)

    tf.cond(tf.math.is_finite(loss), apply, lambda: tf.constant(False))
    return grad_norm


class QValueNetwork(tensorflow_base.TensorFlowNetwork):
    """What QNetwork and RecurrentQNetwork share: an online and a target
    model, the optimizer and update counter, params, targets, checkpoints.

    A subclass calls ``_build_q_models`` in its constructor and writes
    ``_predict_with(index, inputs)`` (0: online, 1: target) and its update;
    ``_weights_changed()`` is called whenever weights change outside it.

    Args:
        network_signature: The network's signature.
        init_kwargs: The constructor's other keyword arguments, for clone().
        n_actions: Number of actions.
    """

    def __init__(self, network_signature: Optional[data.NetworkSignature],
                 init_kwargs: Dict[str, Any], n_actions: int):
        super().__init__(network_signature, init_kwargs)
        self._n_actions = n_actions
        self._model = self._target_model = None
        self._targets: Optional[tensorflow_base.TargetWeights] = None
        self._optimizer = None
        self._n_updates = None

    def _build_q_models(self, build: Any, seed: Optional[int],
                        optimizer: Any) -> None:
        """Builds online and target models (seeded), the TargetWeights, the
        optimizer's slots and the update counter.

        Args:
            build: fn(name) -> a model (with weights, trainable_variables,
                get_weights and set_weights).
            seed: The seed of the build (see _build_seeded).
            optimizer: The Keras optimizer (make_optimizer's).
        """
        tf = self._tf
        self._model, self._target_model = self._build_seeded(
            lambda: (build('q_online'), build('q_target')), seed)
        self._target_model.set_weights(self._model.get_weights())
        self._targets = tensorflow_base.TargetWeights(
            tf, self._model.weights, self._target_model.weights)
        self._optimizer = optimizer
        self._optimizer.build(self._model.trainable_variables)
        self._optimizers = [self._optimizer]
        self._n_updates = tf.Variable(0, dtype=tf.int64, trainable=False,
                                      name='q_updates')

    def _weights_changed(self) -> None:
        """Called after params or targets were set from outside."""

    def _predict_with(self, index: int, inputs: Any) -> Any:
        raise NotImplementedError

    @property
    def n_actions(self) -> int:
        """Number of actions."""
        return self._n_actions

    @property
    def n_updates(self) -> int:
        """Updates applied so far (the target schedule's counter)."""
        return int(self._n_updates.numpy())

    def predict(self, inputs: Any) -> Any:
        """The online network's Q values (see the subclass)."""
        return self._predict_with(0, inputs)

    def predict_target(self, inputs: Any) -> Any:
        """The target network's Q values (as predict)."""
        return self._predict_with(1, inputs)

    def update_target(self) -> None:
        """Copies the online weights into the target network now."""
        self._targets.hard_update()
        self._weights_changed()

    @property
    def params(self) -> List[np.ndarray]:
        """The online model's weights, as numpy arrays."""
        return [np.array(w) for w in self._model.get_weights()]

    @params.setter
    def params(self, new_params: Sequence[np.ndarray]) -> None:
        new_params = list(new_params)
        name = type(self).__name__
        tensorflow_base.check_fit(
            self._model.weights, new_params, f'{name}.params',
            f'were they written by a {name} of another architecture?')
        self._model.set_weights(new_params)
        self._weights_changed()

    @property
    def target_params(self) -> List[np.ndarray]:
        """The target model's weights, as numpy arrays."""
        return self._targets.numpy()

    @target_params.setter
    def target_params(self, new_params: Optional[Sequence[np.ndarray]]) -> None:
        if new_params is None:  # From a clone of a network without targets.
            return
        self._targets.assign(new_params, f'{type(self).__name__}.target_params')
        self._weights_changed()

    def _checkpoint_state(self) -> Dict[str, Any]:
        return {**super()._checkpoint_state(),
                'n_updates': self.n_updates}

    def _load_checkpoint_state(self, state: Dict[str, Any],
                               checkpoint_path: str) -> None:
        super()._load_checkpoint_state(state, checkpoint_path)
        self._n_updates.assign(state['n_updates'])


@validation.configurable(module='alpacka.networks')
class QNetwork(QValueNetwork):
    """Q values of discrete actions, with a target network and the DQN update.

    ``predict(observations [B, ...]) -> Q values [B, n_actions]`` (float32).
    Training batches (from the Q-learning trainer) are dicts of
    ``observation [B, ...], action [B] int, return [B], discount [B],
    next_observation [B, ...], weight [B]`` (see q_losses for what return
    and discount mean); one update regresses ``Q(s, a)`` on
    ``y = return + discount * Q_target(s', a*)``. After each update
    ``last_td_errors`` holds its ``y - Q(s, a)`` [B] (for the priorities of
    prioritized replay).

    The target network is a second model of the same architecture
    (``TargetWeights``, see ``tensorflow_base``), updated inside the
    compiled step: a hard copy every ``target_update_period`` updates, or
    Polyak averaging at rate ``polyak`` after every update. The update
    counter, target weights and optimizer state are in the checkpoint.

    Args:
        network_signature: Input: one observation's TensorSignature (any
            shape and dtype; integer observations are pixels, see
            q_models); output: TensorSignature((n_actions,)).
        torso: 'mlp', 'nature', 'minatar' or a callable (see q_models).
        hidden_sizes: Widths of the 'mlp' torso's hidden layers.
        dueling: Dueling head (value and advantages).
        double_dqn: Choose the bootstrap action with the online network.
        loss: 'huber' or 'squared' (see q_losses.td_loss).
        huber_delta: Where the Huber loss turns linear.
        optimizer: 'adam' or 'rmsprop'.
        learning_rate: The optimizer's learning rate.
        adam_epsilon: Adam's epsilon.
        rmsprop_rho: RMSProp's decay of the squared-gradient average.
        rmsprop_epsilon: RMSProp's epsilon, added under the square root:
            ``g / sqrt(E[g^2] - E[g]^2 + epsilon)`` (Keras' and TensorFlow
            1's convention). PyTorch adds its eps outside the root, so
            torch's ``eps = e`` is close to ``rmsprop_epsilon = e ** 2``.
        rmsprop_centered: Centered RMSProp (as the DQN papers used).
        max_grad_norm: Clip the gradients' global norm to this (None: no
            clipping).
        target_update: 'hard' (copy every target_update_period updates) or
            'polyak' (average at rate polyak after every update).
        target_update_period: Updates between hard copies.
        polyak: Rate rho of ``target <- (1 - rho) * target + rho * online``.
        conv_layout: How conv torsos read rank-3 observations (q_models).
        input_scale: Factor on the observations inside the model (None:
            1/255 for integer observations, 1 otherwise).
        seed: Seed of the weight initialisation (None: Keras' global seed,
            which a seeded run sets).
        numpy_inference: Predict in numpy for the 'mlp' torso (tens of
            microseconds at the batch sizes acting asks for, against a few
            hundred for a TensorFlow call). Conv torsos predict in TensorFlow.
        jit_compile: Compile the update and TensorFlow predictions with XLA
            (faster for conv torsos on CPU; the numbers differ from the plain
            graph's in the last bits).
    """

    def __init__(
            self,
            network_signature: Optional[data.NetworkSignature],
            torso: q_models.Torso = 'mlp',
            hidden_sizes: Sequence[_PositiveInt] = (64, 64),
            dueling: bool = False,
            double_dqn: bool = True,
            loss: Literal['huber', 'squared'] = 'huber',
            huber_delta: Annotated[float, validation.GreaterThan(0)] = 1.0,
            optimizer: Literal['adam', 'rmsprop'] = 'adam',
            learning_rate: Annotated[float, validation.GreaterThan(0)] = 1e-3,
            adam_epsilon: Annotated[float, validation.GreaterThan(0)] = 1e-7,
            rmsprop_rho: Annotated[float, validation.InRange(
                0, 1, high_open=True)] = 0.95,
            rmsprop_epsilon: Annotated[float, validation.GreaterThan(0)] = 0.01,
            rmsprop_centered: bool = True,
            max_grad_norm: Optional[Annotated[
                float, validation.GreaterThan(0)]] = 10.0,
            target_update: Literal['hard', 'polyak'] = 'hard',
            target_update_period: _PositiveInt = 1000,
            polyak: Annotated[float, validation.InRange(
                0, 1, low_open=True)] = 0.005,
            conv_layout: q_models.ConvLayout = 'auto',
            input_scale: Optional[Annotated[
                float, validation.GreaterThan(0)]] = None,
            seed: Optional[int] = None,
            numpy_inference: bool = True,
            jit_compile: bool = False):
        observation, n_actions = self._check_signature(network_signature)
        super().__init__(network_signature, {
            'torso': torso, 'hidden_sizes': tuple(hidden_sizes),
            'dueling': dueling, 'double_dqn': double_dqn, 'loss': loss,
            'huber_delta': huber_delta, 'optimizer': optimizer,
            'learning_rate': learning_rate, 'adam_epsilon': adam_epsilon,
            'rmsprop_rho': rmsprop_rho, 'rmsprop_epsilon': rmsprop_epsilon,
            'rmsprop_centered': rmsprop_centered,
            'max_grad_norm': max_grad_norm, 'target_update': target_update,
            'target_update_period': target_update_period, 'polyak': polyak,
            'conv_layout': conv_layout, 'input_scale': input_scale,
            'seed': seed, 'numpy_inference': numpy_inference,
            'jit_compile': jit_compile}, n_actions)
        keras = self._keras
        self._jit_compile = jit_compile
        self._observation = observation
        self._double_dqn = double_dqn
        self._loss = loss
        self._huber_delta = float(huber_delta)
        self._update_rule = UpdateRule(max_grad_norm, target_update,
                                       target_update_period, float(polyak))
        if input_scale is None:
            input_scale = q_models.default_input_scale(observation.dtype)

        def build(name):
            return q_models.build_q_model(
                keras, tuple(observation.shape), observation.dtype, n_actions,
                torso, tuple(hidden_sizes), dueling, conv_layout,
                float(input_scale), name)

        self._build_q_models(build, seed, make_optimizer(
            keras, optimizer, learning_rate, adam_epsilon, rmsprop_rho,
            rmsprop_epsilon, rmsprop_centered))
        self.last_td_errors: Optional[np.ndarray] = None
        self._numpy_models = None
        if numpy_inference and not q_models.is_conv_torso(torso):
            self._numpy_models = [
                self._numpy_mirror(model, len(hidden_sizes), dueling,
                                   float(input_scale))
                for model in (self._model, self._target_model)]
        self._compile()

    @staticmethod
    def _check_signature(network_signature: Any) -> tuple:
        if (network_signature is None or
                not data.is_signature(network_signature.input) or
                not data.is_signature(network_signature.output) or
                len(network_signature.output.shape) != 1):
            raise ValueError(
                f'QNetwork needs a signature with one observation input and '
                f'an output of shape (n_actions,) (see '
                f'alpacka.networks.q_network.q_network_signature); got '
                f'{network_signature}. Use it with a Q-learning agent '
                f'(alpacka.agents.QAgent).')
        return network_signature.input, network_signature.output.shape[0]

    # -- Building. -----------------------------------------------------------

    def _numpy_mirror(self, model: Any, n_hidden: int, dueling: bool,
                      input_scale: float) -> Any:
        """A numpy evaluator of an 'mlp' Q model: obs -> Q [B, A]."""
        names = [f'hidden_{i}' for i in range(n_hidden)]
        heads = ([q_models.VALUE_HEAD, q_models.ADVANTAGE_HEAD] if dueling
                 else [q_models.Q_HEAD])
        layers = [model.get_layer(name) for name in names + heads]
        shapes = [(1,), (self._n_actions,)] if dueling else [(self._n_actions,)]
        mlp = numpy_mlp.NumpyMLP(
            ['relu'] * n_hidden + ['linear'] * len(heads), shapes,
            read_weights=lambda: [np.asarray(variable) for layer in layers
                                  for variable in (layer.kernel, layer.bias)])

        def evaluate(observation: np.ndarray) -> np.ndarray:
            x = np.asarray(observation, np.float32)
            if input_scale != 1.0:
                x = x * np.float32(input_scale)
            outputs = mlp([x])
            if not dueling:
                return outputs[0]
            value, advantages = outputs
            return value + advantages - advantages.mean(axis=-1, keepdims=True)

        evaluate.invalidate = mlp.invalidate
        return evaluate

    def _compile(self) -> None:
        tf = self._tf
        obs_spec = tf.TensorSpec((None,) + tuple(self._observation.shape),
                                 tf.as_dtype(np.dtype(self._observation.dtype)))
        scalar = tf.TensorSpec((None,), tf.float32)
        specs = [obs_spec, tf.TensorSpec((None,), tf.int64), scalar, scalar,
                 obs_spec, scalar]
        # Traced on the first update (see TensorFlowNetwork._traced_once).
        self._update_specs = specs
        self._predict_fns = [self._predict_fn_of(model, obs_spec)
                             for model in (self._model, self._target_model)]

    def _predict_fn_of(self, model: Any, obs_spec: Any) -> Any:
        return self._tf.function(
            lambda x: model(x, training=False), input_signature=[obs_spec],
            autograph=False, jit_compile=self._jit_compile
        ).get_concrete_function()

    # -- The update. ---------------------------------------------------------

    def _update_step(self, observation, action, returns, discount,
                     next_observation, weight):
        """One DQN update (see the class docstring); a compiled function."""
        tf = self._tf
        next_q_target = self._target_model(next_observation, training=False)
        next_q_online = (self._model(next_observation, training=False)
                         if self._double_dqn else None)
        target = tf.stop_gradient(q_losses.q_targets(
            returns, discount, q_losses.bootstrap_values(
                tf, next_q_target, next_q_online, self._double_dqn)))
        variables = self._model.trainable_variables
        with tf.GradientTape() as tape:
            q_values = self._model(observation, training=True)
            td_errors = target - q_losses.taken_q_values(tf, q_values, action)
            loss = q_losses.td_loss(tf, td_errors, weight, self._loss,
                                    self._huber_delta)
        grad_norm = apply_q_update(
            tf, self._optimizer, variables, tape.gradient(loss, variables),
            loss, self._n_updates, self._targets, self._update_rule)
        return {'loss': loss, 'td_errors': td_errors,
                'q_mean': tf.reduce_mean(q_values), 'grad_norm': grad_norm}

    def _train_step(self, batch: Dict[str, np.ndarray]) -> Dict[str, float]:
        try:
            arrays = [batch[key] for key in BATCH_KEYS]
        except KeyError as error:
            raise ValueError(
                f'QNetwork trains on dicts with keys {list(BATCH_KEYS)}; the '
                f'batch has {sorted(batch)}.') from error
        outputs = self._traced_once('update', self._update_step,
                                    lambda: self._update_specs,
                                    self._jit_compile)(*arrays)
        self.last_td_errors = outputs['td_errors'].numpy()
        self._weights_changed()
        return {'loss': float(outputs['loss']),
                'q_mean': float(outputs['q_mean']),
                'grad_norm': float(outputs['grad_norm'])}

    def _weights_changed(self) -> None:
        for mirror in self._numpy_models or ():
            mirror.invalidate()

    # -- Network API. --------------------------------------------------------

    def _predict_with(self, index: int, inputs: Any) -> np.ndarray:
        observation = np.asarray(inputs)
        if observation.shape[1:] != tuple(self._observation.shape):
            raise ValueError(
                f'QNetwork: observations must have shape [B] + '
                f'{tuple(self._observation.shape)}, got {observation.shape}.')
        if self._numpy_models is not None:
            return self._numpy_models[index](observation)
        observation = observation.astype(self._observation.dtype, copy=False)
        return self._predict_fns[index](observation).numpy()
