"""SoftActorCriticNetwork: actor, twin critics, target critics and temperature.

Implements the update of Soft Actor-Critic (Haarnoja et al. 2018, "Soft
Actor-Critic Algorithms and Applications") for Box action spaces, and its
discrete-action variant (Christodoulou 2019, "Soft Actor-Critic for Discrete
Action Settings") for Discrete ones, where expectations over actions are
computed exactly instead of by sampling.
"""

import itertools
import math
import random
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import gin
import gymnasium
import numpy as np

from alpacka import data
from alpacka.networks import core
from alpacka.utils import pickle_files, seeding, tensorflow_import

_CHECKPOINT_FORMAT = 1
# Bounds of the Gaussian actor's log standard deviation.
_LOG_STD_MIN = -20.0
_LOG_STD_MAX = 2.0
# Sub-seed index of the action sampling generators under the run's seed.
_SAMPLING_SEED_INDEX = 10
_BATCH_KEYS = ('observation', 'action', 'reward', 'next_observation',
               'terminated')


def soft_td_target(reward: Any, terminated: Any, next_value: Any,
                   discount: float) -> Any:
    """The critics' target ``r + discount * (1 - terminated) * V(s')``.

    ``next_value`` is the soft value of the next state,
    ``min_i Q_targ_i(s', a') - alpha * log pi(a'|s')`` (for a sampled a' with
    Box actions, its expectation under pi for Discrete ones). A truncated
    transition has ``terminated = 0`` and is bootstrapped; a terminal one is
    not. Works on numpy arrays and on TensorFlow tensors alike.

    Args:
        reward: [B] rewards.
        terminated: [B] 1.0 where s' is terminal, 0.0 otherwise.
        next_value: [B] soft values of the next states.
        discount: Per-step discount.

    Returns:
        [B] targets.
    """
    return reward + discount * (1.0 - terminated) * next_value


def auto_target_entropy(action_space: gymnasium.Space) -> float:
    """The default target entropy.

    Box: ``-dim(A)`` (Haarnoja et al. 2018). Discrete: ``0.98 * log(n)``, 98%
    of the maximal entropy of a categorical over n actions (Christodoulou
    2019).
    """
    if isinstance(action_space, gymnasium.spaces.Discrete):
        return 0.98 * math.log(int(action_space.n))
    return -float(np.prod(action_space.shape))


def network_signature(observation_space: gymnasium.Space,
                      action_space: gymnasium.Space) -> data.NetworkSignature:
    """The signature of a SoftActorCriticNetwork for these spaces.

    The output signature describes what ``predict`` returns.
    """
    observation = data.TensorSignature(tuple(observation_space.shape),
                                       np.float32)
    if isinstance(action_space, gymnasium.spaces.Discrete):
        output = {'logits': data.TensorSignature((int(action_space.n),),
                                                 np.float32)}
    else:
        action = data.TensorSignature(tuple(action_space.shape), np.float32)
        output = {'mean': action, 'sample': action}
    return data.NetworkSignature(input=observation, output=output)


def resolve_action_space(action_space: Any,
                         signature: data.NetworkSignature) -> gymnasium.Space:
    """The action space from a space, a ``(low, high)`` pair or None.

    A ``(low, high)`` pair (scalars or lists, e.g. from a Gin file) means a
    Box of the shape of the output signature's 'mean' (or of the bounds).
    None means ``Discrete(n)`` when the output signature is
    ``{'logits': (n,)}``; a Box needs its bounds given.
    """
    if isinstance(action_space, gymnasium.Space):
        return action_space
    output = signature.output
    if action_space is None:
        if isinstance(output, dict) and 'logits' in output:
            return gymnasium.spaces.Discrete(int(output['logits'].shape[0]))
        raise ValueError(
            f'SoftActorCriticNetwork needs action_space (a gymnasium space or '
            f'(low, high) bounds) unless its output signature is '
            f'{{"logits": (n,)}}; the output signature is {output}.')
    low, high = action_space
    shape = None
    if isinstance(output, dict) and 'mean' in output:
        shape = tuple(output['mean'].shape)
    low = np.asarray(low, np.float32)
    high = np.asarray(high, np.float32)
    if shape is not None:
        low, high = np.broadcast_to(low, shape), np.broadcast_to(high, shape)
    return gymnasium.spaces.Box(low, high, dtype=np.float32)


@gin.configurable(module='alpacka.networks')
class SoftActorCriticNetwork(core.TrainableNetwork):
    """The networks and the update of Soft Actor-Critic.

    Holds an actor, two critics, their two target copies (updated by Polyak
    averaging) and ``log_alpha``, the log of the entropy temperature (tuned
    automatically towards ``target_entropy``). All of it is updated by one
    compiled step per batch.

    Box actions: the actor outputs the mean and log std of a Gaussian over
    u; the action is ``low + (tanh(u) + 1) / 2 * (high - low)``, and its
    log-probability includes the tanh and rescaling corrections (so it is a
    density over the actual action). The critics take ``(s, a)`` and output
    one Q value. Discrete actions: the actor outputs the logits of a
    categorical; the critics take s and output n Q values; the soft value,
    the actor loss and the temperature loss are exact expectations over the
    actions.

    ``predict(observations [B, ...])`` returns, for Box spaces,
    ``{'mean': [B, A], 'sample': [B, A]}``: the deterministic action
    (squashed and rescaled Gaussian mean) and a stochastic action drawn from
    the policy, both within the action bounds; for Discrete spaces
    ``{'logits': [B, n]}``, the unnormalised log-probabilities of the policy.

    Training batches (from ``train``'s data stream) are dicts with keys
    ``observation [B, ...], action [B, A] float or [B] int, reward [B],
    next_observation [B, ...], terminated [B]`` (or 5-tuples in that order).

    Args:
        network_signature: Its input is the observation's TensorSignature
            (any shape; flattened). Its output is not used (see
            ``network_signature()`` in this module for the matching one).
        action_space: A gymnasium Box (finite bounds) or Discrete space;
            or ``(low, high)`` bounds of a Box shaped like the output
            signature's 'mean'; or None for ``Discrete(n)`` when the output
            signature is ``{'logits': (n,)}`` (see resolve_action_space).
            Gin configs use the last two forms, as the runner builds networks
            from the signature alone.
        hidden_sizes: Hidden layer widths of the actor and of each critic.
        actor_learning_rate: Adam learning rate of the actor.
        critic_learning_rate: Adam learning rate of the critics.
        alpha_learning_rate: Adam learning rate of log_alpha.
        discount: Per-step discount.
        polyak: Rate rho of the target update
            ``target <- (1 - rho) * target + rho * online``.
        target_entropy: Entropy the temperature tuning aims at; None or
            'auto' for ``auto_target_entropy(action_space)``.
        initial_alpha: Initial temperature.
        seed: Seed of the weight initialisation and of action sampling
            (None: derived from the run's seed, or unseeded).
        numpy_inference: Evaluate ``predict`` in numpy (from a cached copy
            of the actor's weights) instead of TensorFlow: a TensorFlow call
            costs several hundred microseconds whatever the batch, numpy
            tens of microseconds for the small batches an acting agent asks
            for. Training always runs in TensorFlow.
    """

    def __init__(self, network_signature: data.NetworkSignature,  # pylint: disable=redefined-outer-name
                 action_space: Any = None,
                 hidden_sizes: Sequence[int] = (256, 256),
                 actor_learning_rate: float = 3e-4,
                 critic_learning_rate: float = 3e-4,
                 alpha_learning_rate: float = 3e-4,
                 discount: float = 0.99,
                 polyak: float = 0.005,
                 target_entropy: Any = None,
                 initial_alpha: float = 1.0,
                 seed: Optional[int] = None,
                 numpy_inference: bool = True):
        super().__init__(network_signature)
        if network_signature is None or not data.is_signature(
                network_signature.input):
            raise ValueError(
                f'SoftActorCriticNetwork needs a network signature whose input '
                f'is one TensorSignature (the observation); got '
                f'{network_signature}.')
        action_space = resolve_action_space(action_space, network_signature)
        self._discrete = isinstance(action_space, gymnasium.spaces.Discrete)
        if not self._discrete:
            if not isinstance(action_space, gymnasium.spaces.Box) or not (
                    np.all(np.isfinite(action_space.low)) and
                    np.all(np.isfinite(action_space.high))):
                raise ValueError(
                    f'SoftActorCriticNetwork needs a Discrete action space or a '
                    f'Box with finite bounds; got {action_space!r}.')
        if not 0.0 < polyak <= 1.0:
            raise ValueError(f'polyak must be in (0, 1], got {polyak}.')
        if initial_alpha <= 0:
            raise ValueError(f'initial_alpha must be positive, got '
                             f'{initial_alpha}.')
        self._init_kwargs = {
            'action_space': action_space, 'hidden_sizes': tuple(hidden_sizes),
            'actor_learning_rate': actor_learning_rate,
            'critic_learning_rate': critic_learning_rate,
            'alpha_learning_rate': alpha_learning_rate, 'discount': discount,
            'polyak': polyak, 'target_entropy': target_entropy,
            'initial_alpha': initial_alpha, 'seed': seed,
            'numpy_inference': numpy_inference}
        self._tf, self._keras = tensorflow_import.import_tensorflow()
        tf = self._tf
        self._action_space = action_space
        self._discount = float(discount)
        self._polyak = float(polyak)
        if target_entropy is None or target_entropy == 'auto':
            target_entropy = auto_target_entropy(action_space)
        self._target_entropy = float(target_entropy)
        self._observation_shape = tuple(network_signature.input.shape)
        if self._discrete:
            self._n_actions = int(action_space.n)
            self._action_dim = None
        else:
            self._action_dim = int(np.prod(action_space.shape))
            self._action_shape = tuple(action_space.shape)
            low = np.asarray(action_space.low, np.float32).reshape(-1)
            high = np.asarray(action_space.high, np.float32).reshape(-1)
            self._action_center = tf.constant((high + low) / 2)
            self._action_scale = tf.constant((high - low) / 2)
            self._log_scale_sum = float(np.sum(np.log((high - low) / 2)))

        self._build_models(tuple(hidden_sizes), seed)
        self._log_alpha = tf.Variable(math.log(initial_alpha), dtype=tf.float32,
                                      trainable=True, name='log_alpha')
        sampling_seed = seed
        if sampling_seed is None:  # Reproducible in a seeded run.
            sampling_seed = seeding.derive_seed(seeding.global_seed(),
                                                _SAMPLING_SEED_INDEX)
        if sampling_seed is None:
            self._rng = tf.random.Generator.from_non_deterministic_state()
        else:
            self._rng = tf.random.Generator.from_seed(sampling_seed)
        self._numpy_inference = numpy_inference
        self._numpy_rng = np.random.default_rng(sampling_seed)
        self._numpy_actor = None  # Cached actor weights; None when stale.
        # Params set but not yet assigned to the variables (see params).
        self._pending_params = None

        self._build_optimizers(actor_learning_rate, critic_learning_rate,
                               alpha_learning_rate)
        self._compile()

    # -- Building. -----------------------------------------------------------

    def _build_optimizers(self, actor_learning_rate: float,
                          critic_learning_rate: float,
                          alpha_learning_rate: float) -> None:
        adam = self._keras.optimizers.Adam
        self._actor_optimizer = adam(learning_rate=actor_learning_rate)
        self._critic_optimizer = adam(learning_rate=critic_learning_rate)
        self._alpha_optimizer = adam(learning_rate=alpha_learning_rate)
        self._actor_vars = list(self._actor.trainable_variables)
        self._critic_vars = (list(self._critics[0].trainable_variables) +
                             list(self._critics[1].trainable_variables))
        self._actor_optimizer.build(self._actor_vars)
        self._critic_optimizer.build(self._critic_vars)
        self._alpha_optimizer.build([self._log_alpha])
        self._optimizers = (self._actor_optimizer, self._critic_optimizer,
                            self._alpha_optimizer)

    def _compile(self) -> None:
        tf = self._tf
        obs_spec = tf.TensorSpec((None,) + self._observation_shape, tf.float32)
        if self._discrete:
            action_spec = tf.TensorSpec((None,), tf.int64)
        else:
            action_spec = tf.TensorSpec((None, self._action_dim), tf.float32)
        scalar_spec = tf.TensorSpec((None,), tf.float32)
        batch_specs = [obs_spec, action_spec, scalar_spec, obs_spec,
                       scalar_spec]
        self._predict_fn = tf.function(
            self._predict_step, input_signature=[obs_spec],
            autograph=False).get_concrete_function()
        self._update_fn = tf.function(
            self._update_step, input_signature=batch_specs,
            autograph=False).get_concrete_function()
        variables = self._variables()
        self._read_fn = tf.function(
            lambda: [tf.identity(var) for var in variables],
            autograph=False).get_concrete_function()

        def assign(*values):
            for var, value in zip(variables, values):
                var.assign(value)
            return tf.constant(True)

        self._assign_fn = tf.function(
            assign, input_signature=[tf.TensorSpec(var.shape, var.dtype)
                                     for var in variables],
            autograph=False).get_concrete_function()
        self._target_fn = tf.function(
            self._critic_target, input_signature=[scalar_spec, scalar_spec,
                                                  obs_spec],
            autograph=False).get_concrete_function()

    def _dense(self, width: int, fan_in: int, activation: Optional[str]) -> Any:
        """A Dense layer initialised uniformly within 1/sqrt(fan_in).

        The initialisation of PyTorch's Linear layers, which the reference
        SAC implementations use: smaller initial weights than Keras' Glorot
        default (1/16 against 1/9 for 256x256), so the first Q values and
        log-stds start near zero.
        """
        keras = self._keras
        bound = 1.0 / math.sqrt(fan_in)
        return keras.layers.Dense(
            width, activation=activation,
            kernel_initializer=keras.initializers.RandomUniform(-bound, bound),
            bias_initializer=keras.initializers.RandomUniform(-bound, bound))

    def _mlp(self, input_shapes: List[tuple], n_outputs: int,
             hidden_sizes: tuple, name: str) -> Any:
        keras = self._keras
        inputs = [keras.Input(shape) for shape in input_shapes]
        flat = [keras.layers.Flatten()(x) if len(shape) != 1 else x
                for x, shape in zip(inputs, input_shapes)]
        x = flat[0] if len(flat) == 1 else keras.layers.Concatenate()(flat)
        for width in hidden_sizes:
            x = self._dense(width, int(x.shape[-1]), 'relu')(x)
        outputs = self._dense(n_outputs, int(x.shape[-1]), None)(x)
        return keras.Model(inputs=inputs[0] if len(inputs) == 1 else inputs,
                           outputs=outputs, name=name)

    def _build_models(self, hidden_sizes: tuple, seed: Optional[int]) -> None:
        python_state, numpy_state = random.getstate(), np.random.get_state()
        try:
            if seed is not None:
                self._keras.utils.set_random_seed(seed)
            obs = self._observation_shape
            if self._discrete:
                actor_out, critic_inputs = self._n_actions, [obs]
                critic_out = self._n_actions
            else:
                actor_out = 2 * self._action_dim
                critic_inputs, critic_out = [obs, (self._action_dim,)], 1
            self._actor = self._mlp([obs], actor_out, hidden_sizes, 'actor')
            self._critics = [self._mlp(critic_inputs, critic_out, hidden_sizes,
                                       f'critic_{i}') for i in range(2)]
            self._target_critics = [
                self._mlp(critic_inputs, critic_out, hidden_sizes,
                          f'target_critic_{i}') for i in range(2)]
        finally:
            if seed is not None:
                random.setstate(python_state)
                np.random.set_state(numpy_state)
        for target, online in zip(self._target_critics, self._critics):
            target.set_weights(online.get_weights())

    # -- The policy and the critics, in TensorFlow. ----------------------------

    def _gaussian(self, observation):
        tf = self._tf
        out = self._actor(observation)
        mean, log_std = out[:, :self._action_dim], out[:, self._action_dim:]
        return mean, tf.clip_by_value(log_std, _LOG_STD_MIN, _LOG_STD_MAX)

    def _squash(self, u):
        return self._action_center + self._action_scale * self._tf.tanh(u)

    def _sample_box(self, observation):
        """A reparameterised action [B, A] and its log-probability [B]."""
        tf = self._tf
        mean, log_std = self._gaussian(observation)
        noise = self._rng.normal(tf.shape(mean))
        u = mean + tf.exp(log_std) * noise
        gaussian_log_prob = tf.reduce_sum(
            -0.5 * tf.square(noise) - log_std - 0.5 * math.log(2 * math.pi),
            axis=-1)
        # log(1 - tanh(u)^2) = 2 * (log 2 - u - softplus(-2u)), stably.
        log_det_tanh = tf.reduce_sum(
            2.0 * (math.log(2.0) - u - tf.nn.softplus(-2.0 * u)), axis=-1)
        log_prob = gaussian_log_prob - log_det_tanh - self._log_scale_sum
        return self._squash(u), log_prob

    def _min_q(self, critics, observation, action=None):
        """min of the two critics: [B] for Box, [B, n] for Discrete."""
        if self._discrete:
            q_values = [critic(observation) for critic in critics]
        else:
            q_values = [critic([observation, action])[:, 0]
                        for critic in critics]
        return self._tf.minimum(q_values[0], q_values[1])

    def _next_value(self, next_observation):
        """The soft value [B] of the next states under the target critics."""
        tf = self._tf
        alpha = tf.exp(self._log_alpha)
        if self._discrete:
            log_pi = tf.nn.log_softmax(self._actor(next_observation))
            q_next = self._min_q(self._target_critics, next_observation)
            return tf.reduce_sum(tf.exp(log_pi) * (q_next - alpha * log_pi),
                                 axis=-1)
        next_action, next_log_prob = self._sample_box(next_observation)
        q_next = self._min_q(self._target_critics, next_observation,
                             next_action)
        return q_next - alpha * next_log_prob

    def _critic_target(self, reward, terminated, next_observation):
        return self._tf.stop_gradient(soft_td_target(
            reward, terminated, self._next_value(next_observation),
            self._discount))

    def _predict_step(self, observation):
        tf = self._tf
        if self._discrete:
            return {'logits': self._actor(observation)}
        mean, _ = self._gaussian(observation)
        sample, _ = self._sample_box(observation)
        shape = tf.concat([tf.shape(observation)[:1],
                           tf.constant(self._action_shape, tf.int32)], axis=0)
        return {'mean': tf.reshape(self._squash(mean), shape),
                'sample': tf.reshape(sample, shape)}

    def _update_step(self, observation, action, reward, next_observation,
                     terminated):
        """One update of critics, actor, temperature and targets.

        All losses are computed with the parameters from before the step;
        nothing changes if any loss is not finite.
        """
        tf = self._tf
        alpha = tf.exp(self._log_alpha)
        target = self._critic_target(reward, terminated, next_observation)
        with tf.GradientTape(persistent=True) as tape:
            if self._discrete:
                q_taken = [tf.gather(critic(observation), action, axis=1,
                                     batch_dims=1)
                           for critic in self._critics]
            else:
                q_taken = [critic([observation, action])[:, 0]
                           for critic in self._critics]
            critic_loss = 0.5 * tf.add_n(
                [tf.reduce_mean(tf.square(q - target)) for q in q_taken])
            if self._discrete:
                log_pi = tf.nn.log_softmax(self._actor(observation))
                pi = tf.exp(log_pi)
                q_pi = tf.stop_gradient(self._min_q(self._critics, observation))
                actor_loss = tf.reduce_mean(tf.reduce_sum(
                    pi * (tf.stop_gradient(alpha) * log_pi - q_pi), axis=-1))
                log_prob = tf.reduce_sum(pi * log_pi, axis=-1)
            else:
                new_action, log_prob = self._sample_box(observation)
                q_pi = self._min_q(self._critics, observation, new_action)
                actor_loss = tf.reduce_mean(
                    tf.stop_gradient(alpha) * log_prob - q_pi)
            entropy = -tf.reduce_mean(log_prob)
            alpha_loss = -self._log_alpha * tf.stop_gradient(
                -entropy + self._target_entropy)
        critic_grads = tape.gradient(critic_loss, self._critic_vars)
        actor_grads = tape.gradient(actor_loss, self._actor_vars)
        alpha_grads = tape.gradient(alpha_loss, [self._log_alpha])
        del tape
        finite = tf.reduce_all(tf.math.is_finite(
            tf.stack([critic_loss, actor_loss, alpha_loss])))

        def apply():
            self._critic_optimizer.apply_gradients(
                zip(critic_grads, self._critic_vars))
            self._actor_optimizer.apply_gradients(
                zip(actor_grads, self._actor_vars))
            self._alpha_optimizer.apply_gradients(
                zip(alpha_grads, [self._log_alpha]))
            rho = self._polyak
            for target_critic, critic in zip(self._target_critics,
                                             self._critics):
                for target_var, var in zip(target_critic.weights,
                                           critic.weights):
                    target_var.assign((1.0 - rho) * target_var + rho * var)
            return tf.constant(True)

        tf.cond(finite, apply, lambda: tf.constant(False))
        return {'critic_loss': critic_loss, 'actor_loss': actor_loss,
                'alpha_loss': alpha_loss, 'alpha': alpha, 'entropy': entropy,
                'q_mean': tf.reduce_mean(tf.add_n(q_taken) / 2.0)}

    # -- Network API. ------------------------------------------------------------

    @property
    def action_space(self) -> gymnasium.Space:
        """The action space the actor acts in."""
        return self._action_space

    @property
    def target_entropy(self) -> float:
        """The entropy the temperature tuning aims at."""
        return self._target_entropy

    @property
    def alpha(self) -> float:
        """The current temperature exp(log_alpha)."""
        self._sync_variables()
        return float(np.exp(self._log_alpha.numpy()))

    def _observations(self, observation: Any) -> np.ndarray:
        observation = np.asarray(observation, np.float32)
        if observation.shape[1:] != self._observation_shape:
            raise ValueError(
                f'SoftActorCriticNetwork: observations must have shape '
                f'[B] + {self._observation_shape}, got {observation.shape}.')
        return observation

    def predict(self, inputs: Any) -> Dict[str, np.ndarray]:
        """The policy on a batch of observations (see the class docstring).

        Args:
            inputs: Observations [B, ...].

        Returns:
            Box: ``{'mean': [B, A], 'sample': [B, A]}`` actions within the
            bounds. Discrete: ``{'logits': [B, n]}``.
        """
        observation = self._observations(inputs)
        if self._numpy_inference:
            return self._numpy_predict(observation)
        self._sync_variables()
        outputs = self._predict_fn(observation)
        return {key: value.numpy() for key, value in outputs.items()}

    def _numpy_predict(self, observation: np.ndarray) -> Dict[str, np.ndarray]:
        """predict() in numpy, from the cached actor weights."""
        if self._numpy_actor is None:
            self._numpy_actor = self._actor.get_weights()
        weights = self._numpy_actor
        x = observation.reshape(len(observation), -1)
        for index in range(0, len(weights), 2):
            x = x @ weights[index] + weights[index + 1]
            if index + 2 < len(weights):
                x = np.maximum(x, 0.0)
        if self._discrete:
            return {'logits': x.astype(np.float32, copy=False)}
        mean = x[:, :self._action_dim]
        log_std = np.clip(x[:, self._action_dim:], _LOG_STD_MIN, _LOG_STD_MAX)
        u = mean + np.exp(log_std) * self._numpy_rng.standard_normal(
            mean.shape, dtype=np.float32)
        center = self._action_center.numpy()
        scale = self._action_scale.numpy()
        shape = (len(observation),) + self._action_shape
        return {
            'mean': (center + scale * np.tanh(mean)).reshape(shape),
            'sample': (center + scale * np.tanh(u)).reshape(shape)}

    def q_values(self, observation: Any, action: Any = None,
                 target: bool = False) -> List[np.ndarray]:
        """The two (target) critics' values, for tests and diagnostics.

        Returns:
            Two arrays: [B, n] for Discrete (action ignored), [B] for Box.
        """
        self._sync_variables()
        critics = self._target_critics if target else self._critics
        observation = self._observations(observation)
        if self._discrete:
            return [critic(observation).numpy() for critic in critics]
        action = np.asarray(action, np.float32).reshape(len(observation), -1)
        return [critic([observation, action]).numpy()[:, 0]
                for critic in critics]

    def critic_targets(self, reward: Any, terminated: Any,
                       next_observation: Any) -> np.ndarray:
        """The critics' TD targets [B] the update step would use.

        Box: the next action is sampled (advancing the sampling generator).
        """
        self._sync_variables()
        return self._target_fn(
            np.asarray(reward, np.float32).reshape(-1),
            np.asarray(terminated, np.float32).reshape(-1),
            self._observations(next_observation)).numpy()

    def _batch_arrays(self, batch: Any) -> list:
        if isinstance(batch, dict):
            missing = [key for key in _BATCH_KEYS if key not in batch]
            if missing:
                raise ValueError(f'SoftActorCriticNetwork: a training batch '
                                 f'lacks {missing}; it needs {_BATCH_KEYS}.')
            batch = [batch[key] for key in _BATCH_KEYS]
        elif len(batch) != len(_BATCH_KEYS):
            raise ValueError(f'SoftActorCriticNetwork: a training batch must '
                             f'be a dict or a tuple of {_BATCH_KEYS}.')
        observation, action, reward, next_observation, terminated = batch
        observation = self._observations(observation)
        n = len(observation)
        if self._discrete:
            action = np.asarray(action, np.int64).reshape(n)
        else:
            action = np.asarray(action, np.float32).reshape(n, self._action_dim)
        return [observation, action,
                np.asarray(reward, np.float32).reshape(n),
                self._observations(next_observation),
                np.asarray(terminated, np.float32).reshape(n)]

    def update(self, batch: Any) -> Dict[str, float]:
        """One update step on a batch; returns its metrics.

        Raises:
            FloatingPointError: a loss is NaN or infinite (nothing was
                changed by the step).
        """
        self._sync_variables()
        self._numpy_actor = None
        metrics = {key: float(value) for key, value in
                   self._update_fn(*self._batch_arrays(batch)).items()}
        bad = {key: value for key, value in metrics.items()
               if key.endswith('loss') and not math.isfinite(value)}
        if bad:
            raise FloatingPointError(
                f'SoftActorCriticNetwork: non-finite losses {bad}; the step '
                f'was skipped. Lower the learning rates or check the rewards '
                f'and observations for NaN/inf.')
        return metrics

    def train(self, data_stream: Callable[[], Iterator[Any]],
              n_steps: int) -> Dict[str, float]:
        """Performs up to n_steps updates (fewer if the stream ends).

        Args:
            data_stream: Zero-argument callable returning an iterator of
                batches (see the class docstring).
            n_steps: Maximum number of updates.

        Returns:
            Means over the steps of critic_loss, actor_loss, alpha_loss,
            alpha (before each step), entropy (of the policy at the batch's
            observations: a one-sample estimate for Box, over the rescaled
            action, exact for Discrete) and q_mean (mean of the critics at
            the batch's actions); empty if there was no batch.

        Raises:
            FloatingPointError: a loss became NaN or infinite.
        """
        history = [self.update(batch) for batch in
                   itertools.islice(data_stream(), n_steps)]
        if not history:
            return {}
        return {key: float(np.mean([step[key] for step in history]))
                for key in history[0]}

    def _variables(self) -> list:
        models = [self._actor] + self._critics + self._target_critics
        return [var for model in models for var in model.weights] + [
            self._log_alpha]

    @property
    def params(self) -> List[np.ndarray]:
        """Weights of actor, critics, target critics, then log_alpha.

        Read and written with one compiled call each; setting them only
        stores the arrays (checked against the variables' shapes), which
        reach the variables on the next TensorFlow use. An acting copy of
        the network with numpy_inference, whose params are set before every
        batch of steps, thus never touches TensorFlow.
        """
        if self._pending_params is not None:
            return [np.array(value) for value in self._pending_params]
        return [tensor.numpy() for tensor in self._read_fn()]

    @params.setter
    def params(self, new_params: Sequence[np.ndarray]) -> None:
        new_params = list(new_params)
        self._check_fit(self._variables(), new_params, 'params')
        self._pending_params = new_params
        self._numpy_actor = [np.asarray(value) for value in
                             new_params[:len(self._actor.weights)]]

    def _sync_variables(self) -> None:
        """Assigns pending params to the variables (see params)."""
        if self._pending_params is not None:
            pending, self._pending_params = self._pending_params, None
            self._assign_fn(*pending)

    @staticmethod
    def _check_fit(variables: list, values: list, what: str) -> None:
        if len(values) != len(variables) or any(
                tuple(np.shape(value)) != tuple(var.shape)
                for var, value in zip(variables, values)):
            raise ValueError(
                f'SoftActorCriticNetwork: the {what} do not fit this network '
                f'({len(values)} arrays for {len(variables)} variables, or '
                f'shapes differ); were they written by a network with other '
                f'spaces or hidden sizes?')

    def _assign(self, variables: list, values: list, what: str) -> None:
        self._check_fit(variables, values, what)
        for var, value in zip(variables, values):
            var.assign(value)

    def _optimizer_variables(self) -> list:
        return [var for optimizer in self._optimizers
                for var in optimizer.variables]

    def save(self, checkpoint_path: str) -> None:
        """Writes weights, the three optimizers' states, log_alpha and the
        sampling generator's state to one file, atomically."""
        pickle_files.save_pickle(checkpoint_path, {
            'format': _CHECKPOINT_FORMAT,
            'params': self.params,
            'optimizers': [np.array(var.numpy())
                           for var in self._optimizer_variables()],
            'rng_state': self._rng.state.numpy(),
            'numpy_rng_state': self._numpy_rng.bit_generator.state,
        })

    def restore(self, checkpoint_path: str) -> None:
        """Reads a checkpoint written by save().

        Raises:
            ValueError: the file is not a checkpoint of a network like this.
        """
        state = pickle_files.load_pickle(checkpoint_path)
        if not isinstance(state, dict) or state.get(
                'format') != _CHECKPOINT_FORMAT:
            raise ValueError(f'{checkpoint_path} is not a SoftActorCriticNetwork '
                             f'checkpoint of format {_CHECKPOINT_FORMAT}.')
        self.params = state['params']
        self._assign(self._optimizer_variables(), state['optimizers'],
                     'optimizer states')
        self._rng.reset(state['rng_state'])
        self._numpy_rng.bit_generator.state = state['numpy_rng_state']

    def clone(self) -> 'SoftActorCriticNetwork':
        """A network with the same configuration and equal params.

        The clone's optimizers are fresh (their state is not copied).
        """
        new_network = type(self)(network_signature=self._network_signature,
                                 **self._init_kwargs)
        new_network.params = self.params
        return new_network
