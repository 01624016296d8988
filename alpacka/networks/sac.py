"""SoftActorCriticNetwork: actor, twin critics, target critics and temperature.

Implements the update of Soft Actor-Critic (Haarnoja et al. 2018, "Soft
Actor-Critic Algorithms and Applications") for Box action spaces, and its
discrete-action variant (Christodoulou 2019, "Soft Actor-Critic for Discrete
Action Settings") for Discrete ones, where expectations over actions are
computed exactly instead of by sampling.

Options of the literature for sample efficiency at a low update-to-data
ratio: wider critics (``critic_hidden_sizes``), layer normalisation or
Batch Renormalization in the hidden layers (``critic_normalization``,
``actor_normalization``; ``normalization``), no target networks
(``target_critics=False``: CrossQ, Bhatt et al. 2024), a delayed actor
(``policy_delay``) and Adam's ``adam_beta1``.

The maths is in ``sac_losses`` (one function per loss), the two kinds of
policy in ``sac_policies``, the signature and action space in
``sac_spaces``, the update step's composition in ``sac_update``; this
module builds the models and compiles the update. The TensorFlow plumbing (seeded build,
checkpoints, clone, the train loop, target weights) is
``tensorflow_base.TensorFlowNetwork``'s.
"""

import math
from typing import (Annotated, Any, Dict, List, Literal, Optional, Sequence,
                    Tuple, Union)

import gymnasium
import numpy as np

from alpacka import data
from alpacka.networks import normalization
from alpacka.networks import sac_losses
from alpacka.networks import sac_models
from alpacka.networks import sac_policies
from alpacka.networks import sac_spaces
from alpacka.networks import sac_update
from alpacka.networks import tensorflow_base
from alpacka.utils import seeding
from alpacka.utils import validation

# Importable from here, as before.
soft_td_target = sac_losses.soft_td_target
auto_target_entropy = sac_spaces.auto_target_entropy
network_signature = sac_spaces.network_signature
resolve_action_space = sac_spaces.resolve_action_space

_BATCH_KEYS = ('observation', 'action', 'reward', 'next_observation',
               'terminated')
_PARAMS_HINT = ('were they written by a network with other spaces, hidden '
                'sizes or normalization?')
_Sizes = Sequence[Annotated[int, validation.AtLeast(1)]]
_Normalization = Literal['none', 'layer', 'batch_renorm']


@validation.configurable(module='alpacka.networks')
class SoftActorCriticNetwork(tensorflow_base.TensorFlowNetwork):
    """The networks and the update of Soft Actor-Critic.

    Holds an actor, two critics, their two target copies (target weights
    beside the critics, updated by Polyak averaging inside the update step:
    see ``tensorflow_base.TargetWeights``) and ``log_alpha``, the log of the
    entropy temperature (tuned automatically towards ``target_entropy``).
    All of it is updated by one compiled step per batch, which composes the
    losses of ``sac_losses``:

        y      = r + discount * (1 - terminated) * V_target(s')
        J_Q    = sum_i 1/2 mean (Q_i(s, a) - y)^2
        J_pi   = mean E_{a~pi}[alpha log pi(a|s) - min_i Q_i(s, a)]
        J_alpha = -log(alpha) * (target_entropy - H(pi))
        Q_target <- (1 - polyak) * Q_target + polyak * Q

    The policy head (``sac_policies``) depends on the action space. Box
    actions (GaussianPolicy): the actor outputs the mean and log std of a
    Gaussian over u; the action is ``low + (tanh(u) + 1) / 2 * (high -
    low)``, and its log-probability includes the tanh and rescaling
    corrections (so it is a density over the actual action). The critics
    take ``(s, a)`` and output one Q value. Discrete actions
    (CategoricalPolicy): the actor outputs the logits of a categorical; the
    critics take s and output n Q values; the soft value, the actor loss and
    the temperature loss are exact expectations over the actions.

    CrossQ (``target_critics=False``, Bhatt et al. 2024) has no target
    critics: the critics evaluate ``(s, a)`` and ``(s', a' ~ pi(s'))`` in
    one training-mode pass over the two batches concatenated, so that their
    Batch Renormalization statistics cover both, and y uses the second half
    without gradient (``sac_losses.joint_critic_loss``). Training calls the
    models in training mode (batch statistics, updating the moving ones);
    predict, the next actions of the TD target and the critics inside the
    actor loss use inference mode (moving statistics).

    ``params`` are the weights of the actor and of the critics (with the
    normalisation layers' moving statistics), then log_alpha; the target
    critics are ``target_params`` ([] without them; saved in checkpoints,
    not sent to acting copies). Checkpoints also hold the update counter
    of ``policy_delay``.

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
        hidden_sizes: Hidden layer widths of the actor (and of each critic
            unless critic_hidden_sizes is given).
        critic_hidden_sizes: Hidden layer widths of each critic; None for
            hidden_sizes (CrossQ uses much wider critics than actors, e.g.
            1024 or 2048).
        critic_normalization: A normalisation layer in the critics' hidden
            layers (``model_builders.fan_in_uniform_mlp``): 'none',
            'layer' (LayerNormalization before each relu) or 'batch_renorm'
            (Batch Renormalization of the inputs and after each relu).
        actor_normalization: The same for the actor.
        batch_renorm_momentum: Momentum of the Batch Renormalization
            layers' moving statistics.
        batch_renorm_warmup: Training calls during which each Batch
            Renormalization layer is plain batch normalisation (r = 1,
            d = 0); then r and d are clipped to 3 and 5.
        target_critics: Learn from Polyak-averaged target critics (SAC);
            False for CrossQ (see above): target_params is then empty and
            update_target a no-op.
        policy_delay: The actor and the temperature are updated on every
            policy_delay-th update only (CrossQ uses 3), the critics on
            every update. On the other updates the actor_loss, alpha_loss
            and entropy metrics repeat the last actor update's (0 before
            the first).
        adam_beta1: Adam's first-moment decay, for all three optimizers
            (CrossQ uses 0.5).
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


    # 1: target critics inside params; 2: target critics in target_params.
    CHECKPOINT_FORMAT = 2

    def __init__(self,
                 # None gets the message below.
                 network_signature: Optional[data.NetworkSignature],  # pylint: disable=redefined-outer-name
                 action_space: Optional[Union[gymnasium.spaces.Space,
                                              Tuple[Any, Any]]] = None,
                 hidden_sizes: _Sizes = (256, 256),
                 actor_learning_rate: Annotated[
                     float, validation.GreaterThan(0)] = 3e-4,
                 critic_learning_rate: Annotated[
                     float, validation.GreaterThan(0)] = 3e-4,
                 alpha_learning_rate: Annotated[
                     float, validation.GreaterThan(0)] = 3e-4,
                 discount: Annotated[float, validation.InRange(0, 1)] = 0.99,
                 polyak: Annotated[float, validation.InRange(
                     0, 1, low_open=True)] = 0.005,
                 target_entropy: Union[None, float, Literal['auto']] = None,
                 initial_alpha: Annotated[
                     float, validation.GreaterThan(0)] = 1.0,
                 seed: Optional[int] = None,
                 numpy_inference: bool = True,
                 critic_hidden_sizes: Optional[_Sizes] = None,
                 critic_normalization: _Normalization = 'none',
                 actor_normalization: _Normalization = 'none',
                 batch_renorm_momentum: Annotated[float, validation.InRange(
                     0, 1, high_open=True)] = normalization.DEFAULT_MOMENTUM,
                 batch_renorm_warmup: Annotated[int, validation.InRange(
                     0, normalization.MAX_WARMUP_STEPS)] = (
                         normalization.DEFAULT_WARMUP_STEPS),
                 target_critics: bool = True,
                 policy_delay: Annotated[int, validation.AtLeast(1)] = 1,
                 adam_beta1: Annotated[float, validation.InRange(
                     0, 1, high_open=True)] = 0.9):
        if network_signature is None or not data.is_signature(
                network_signature.input):
            raise ValueError(
                f'SoftActorCriticNetwork needs a network signature whose input '
                f'is one TensorSignature (the observation); got '
                f'{network_signature}.')
        action_space = resolve_action_space(action_space, network_signature)
        if not isinstance(action_space, gymnasium.spaces.Discrete):
            if not isinstance(action_space, gymnasium.spaces.Box) or not (
                    np.all(np.isfinite(action_space.low)) and
                    np.all(np.isfinite(action_space.high))):
                raise ValueError(
                    f'SoftActorCriticNetwork needs a Discrete action space or a '
                    f'Box with finite bounds; got {action_space!r}.')
        super().__init__(network_signature, {
            'action_space': action_space, 'hidden_sizes': tuple(hidden_sizes),
            'actor_learning_rate': actor_learning_rate,
            'critic_learning_rate': critic_learning_rate,
            'alpha_learning_rate': alpha_learning_rate, 'discount': discount,
            'polyak': polyak, 'target_entropy': target_entropy,
            'initial_alpha': initial_alpha, 'seed': seed,
            'numpy_inference': numpy_inference,
            'critic_hidden_sizes': critic_hidden_sizes,
            'critic_normalization': critic_normalization,
            'actor_normalization': actor_normalization,
            'batch_renorm_momentum': batch_renorm_momentum,
            'batch_renorm_warmup': batch_renorm_warmup,
            'target_critics': target_critics, 'policy_delay': policy_delay,
            'adam_beta1': adam_beta1})
        tf = self._tf
        self._action_space = action_space
        self._policy = sac_policies.policy_class(action_space)(tf, action_space)
        if target_entropy is None or target_entropy == 'auto':
            target_entropy = self._policy.default_target_entropy(action_space)
        self._target_entropy = float(target_entropy)
        self._observation_shape = tuple(network_signature.input.shape)

        actor, critics, targets = self._build_seeded(
            lambda: sac_models.build_models(
                self._keras, self._policy, self._observation_shape,
                tuple(hidden_sizes),
                tuple(critic_hidden_sizes or hidden_sizes),
                actor_normalization, critic_normalization,
                {'momentum': batch_renorm_momentum,
                 'warmup_steps': batch_renorm_warmup}, target_critics), seed)
        for target, online in zip(targets, critics):
            target.set_weights(online.get_weights())
        self._actor, self._critics, self._target_critics = (actor, critics,
                                                            targets)
        self._log_alpha = tf.Variable(math.log(initial_alpha), dtype=tf.float32,
                                      trainable=True, name='log_alpha')
        sampling_seed = seed
        if sampling_seed is None:  # Reproducible in a seeded run.
            sampling_seed = seeding.derive_seed(
                seeding.global_seed(), seeding.FromRunSeed.SAC_ACTION_SAMPLING)
        if sampling_seed is None:
            self._rng = tf.random.Generator.from_non_deterministic_state()
        else:
            self._rng = tf.random.Generator.from_seed(sampling_seed)
        self._numpy_inference = numpy_inference
        self._numpy_rng = np.random.default_rng(sampling_seed)
        # The actor in numpy, from cached weights (re-read after an update).
        self._numpy_actor = sac_models.numpy_actor(
            actor, len(hidden_sizes), self._policy.n_actor_outputs,
            actor_normalization)
        # Params set but not yet assigned to the variables (see params).
        self._pending_params = None

        models = sac_models.SacModels(actor, critics, targets,
                                      self._log_alpha)
        self._optimizers = sac_models.build_optimizers(
            self._keras, models, [actor_learning_rate, critic_learning_rate,
                                  alpha_learning_rate], adam_beta1)
        self._update = sac_update.SacUpdate(
            tf, self._policy, models, self._optimizers, self._rng,
            float(discount), float(polyak), self._target_entropy,
            policy_delay)
        self._targets = self._update.targets
        self._compile()

    # -- Building. -----------------------------------------------------------

    def _compile(self) -> None:
        """Traces inference and the params' read and write now; the update
        and the TD targets on first use (``TensorFlowNetwork._traced_once``).
        """
        tf = self._tf
        obs_spec = tf.TensorSpec((None,) + self._observation_shape, tf.float32)
        scalar_spec = tf.TensorSpec((None,), tf.float32)
        batch_specs = [obs_spec, self._policy.action_spec(), scalar_spec,
                       obs_spec, scalar_spec]
        self._predict_fn = tf.function(
            self._predict_step, input_signature=[obs_spec],
            autograph=False).get_concrete_function()
        self._batch_specs = batch_specs
        self._target_specs = [scalar_spec, scalar_spec, obs_spec]
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

    # -- Inference. --------------------------------------------------------------

    def _predict_step(self, observation):
        return self._policy.predict(self._actor(observation, training=False),
                                    self._rng)

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
            actor_out, = self._numpy_actor([observation])
            return self._policy.predict_numpy(actor_out, self._numpy_rng)
        self._sync_variables()
        outputs = self._predict_fn(observation)
        return {key: value.numpy() for key, value in outputs.items()}

    def q_values(self, observation: Any, action: Any = None,
                 target: bool = False) -> List[np.ndarray]:
        """The two (target) critics' values (inference mode), for tests and
        diagnostics.

        Returns:
            Two arrays: [B, n] for Discrete (action ignored), [B] for Box.

        Raises:
            ValueError: target values asked of a network without target
                critics.
        """
        if target and not self._target_critics:
            raise ValueError('SoftActorCriticNetwork: this network has no '
                             'target critics (target_critics=False).')
        self._sync_variables()
        critics = self._target_critics if target else self._critics
        observation = self._observations(observation)
        if action is not None:
            action = np.asarray(action, np.float32).reshape(len(observation),
                                                            -1)
        return [q.numpy() for q in self._policy.critic_values(
            critics, observation, action)]

    def critic_targets(self, reward: Any, terminated: Any,
                       next_observation: Any) -> np.ndarray:
        """The critics' TD targets [B] the update step would use.

        Box: the next action is sampled (advancing the sampling generator).
        Without target critics, on the online critics in inference mode
        (with Batch Renormalization critics the update's own targets use
        the statistics of its joint batch instead).
        """
        self._sync_variables()
        return self._traced_once('target', self._update.critic_target,
                                 lambda: self._target_specs)(
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
        return [observation, self._policy.action_batch(action, n),
                np.asarray(reward, np.float32).reshape(n),
                self._observations(next_observation),
                np.asarray(terminated, np.float32).reshape(n)]

    def _train_step(self, batch: Any) -> Dict[str, float]:
        self._sync_variables()
        self._numpy_actor.invalidate()
        return {key: float(value) for key, value in
                self._traced_once('update', self._update.step,
                                  lambda: self._batch_specs)(
                                      *self._batch_arrays(batch)).items()}

    def update(self, batch: Any) -> Dict[str, float]:
        """One update step on a batch; returns its metrics.

        Raises:
            FloatingPointError: a loss is NaN or infinite (nothing was
                changed by the step).
        """
        metrics = self._train_step(batch)
        self._raise_if_not_finite(metrics, 'in update()')
        return metrics

    # train() is TensorFlowNetwork's: up to n_steps updates, returning the
    # means over the steps of critic_loss, actor_loss, alpha_loss, alpha
    # (before each step), entropy (of the policy at the batch's observations:
    # a one-sample estimate for Box, over the rescaled action, exact for
    # Discrete) and q_mean (mean of the critics at the batch's actions).

    def _variables(self) -> list:
        models = [self._actor] + self._critics
        return [var for model in models for var in model.weights] + [
            self._log_alpha]

    @property
    def params(self) -> List[np.ndarray]:
        """Weights of the actor and the critics, then log_alpha.

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
        tensorflow_base.check_fit(self._variables(), new_params,
                                  'SoftActorCriticNetwork.params',
                                  _PARAMS_HINT)
        self._pending_params = new_params
        self._numpy_actor.set_weights(new_params[:len(self._actor.weights)])

    def _sync_variables(self) -> None:
        """Assigns pending params to the variables (see params)."""
        if self._pending_params is not None:
            pending, self._pending_params = self._pending_params, None
            self._assign_fn(*pending)

    # -- Target weights: the target critics, Polyak-averaged by the update. --

    def update_target(self) -> None:
        """Copies the critics into the target critics (hard update; nothing
        without target critics)."""
        self._sync_variables()
        self._targets.hard_update()

    @property
    def target_params(self) -> List[np.ndarray]:
        """Weights of the two target critics ([] without them)."""
        return self._targets.numpy()

    @target_params.setter
    def target_params(self, new_params: Sequence[np.ndarray]) -> None:
        self._targets.assign(new_params, 'SoftActorCriticNetwork.target_params')

    # -- Checkpoints. --------------------------------------------------------

    def _checkpoint_state(self) -> Dict[str, Any]:
        """Params, targets, the three optimizers, the sampling generators,
        the update counter (and the last actor update's metrics)."""
        return dict(super()._checkpoint_state(),
                    rng_state=self._rng.state.numpy(),
                    numpy_rng_state=self._numpy_rng.bit_generator.state,
                    update_count=int(self._update.update_count.numpy()),
                    last_actor_metrics=(
                        self._update.last_actor_metrics.numpy()))

    def _load_checkpoint_state(self, state: Dict[str, Any],
                               checkpoint_path: str) -> None:
        super()._load_checkpoint_state(state, checkpoint_path)
        self._rng.reset(state['rng_state'])
        self._numpy_rng.bit_generator.state = state['numpy_rng_state']
        # Checkpoints from before policy_delay have neither.
        self._update.update_count.assign(state.get('update_count', 0))
        self._update.last_actor_metrics.assign(state.get(
            'last_actor_metrics', np.zeros(3, np.float32)))

    def _read_old_checkpoint(self, state: Any, checkpoint_path: str) -> None:
        """Format 1: the target critics' weights inside params."""
        if not isinstance(state, dict) or state.get('format') != 1:
            super()._read_old_checkpoint(state, checkpoint_path)
        params = list(state['params'])
        n_online = len(self._variables()) - 1
        n_targets = len(self._targets.variables)
        self._load_checkpoint_state(dict(
            state, params=params[:n_online] + params[-1:],
            target_params=params[n_online:n_online + n_targets],
            optimizer=state['optimizers']), checkpoint_path)
