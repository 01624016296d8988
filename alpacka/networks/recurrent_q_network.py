"""RecurrentQNetwork: a Q-network with an LSTM or GRU, trained on sequences.

R2D2-style (Kapturowski et al. 2019): the replay stores sequences with the
recurrent state the agent acted from at their first step; an update unrolls
the online and the target network from that stored state, the first
``burn_in`` steps only warming the state up. The models are in
``alpacka.networks.recurrent_q_models``; the maths is ``q_losses``' (the
same double-DQN targets and losses as QNetwork's, applied per step).
"""

from typing import Annotated, Any, Dict, Literal, Optional, Sequence

import numpy as np

from alpacka import data
from alpacka import errors
from alpacka.networks import q_losses
from alpacka.networks import q_models
from alpacka.networks import q_network
from alpacka.networks import recurrent_q_models
from alpacka.utils import validation

_PositiveInt = Annotated[int, validation.AtLeast(1)]
# The array keys of a sequence batch, in the order of the update's inputs
# (then the initial state's arrays).
SEQUENCE_KEYS = ('observation', 'action', 'return', 'discount',
                 'bootstrap_index', 'mask', 'starts_episode', 'weight')
# agent_info key of the state a step acted from (RecurrentQAgent records it,
# the sequence replay stores it at each sequence start).
STATE_INFO = 'state'


def recurrent_q_signature(observation_signature: data.TensorSignature,
                          n_actions: int, cell: recurrent_q_models.Cell,
                          recurrent_size: int) -> data.NetworkSignature:
    """``{'observation', 'state'}`` in, ``{'q' [n_actions], 'state'}`` out.

    The state is ``{'h', 'c'}`` (LSTM) or ``{'h'}`` (GRU), each
    [recurrent_size] float32.
    """
    state = {key: data.TensorSignature((recurrent_size,), np.float32)
             for key in recurrent_q_models.STATE_KEYS[cell]}
    return data.NetworkSignature(
        input={'observation': observation_signature, 'state': state},
        output={'q': data.TensorSignature((n_actions,), np.float32),
                'state': dict(state)})


def is_recurrent_signature(signature: Any) -> bool:
    """Whether a network signature is recurrent_q_signature's form."""
    return (signature is not None and isinstance(signature.input, dict) and
            set(signature.input) == {'observation', 'state'})


def sequence_priorities(td_errors: np.ndarray, mask: np.ndarray,
                        eta: float) -> np.ndarray:
    """R2D2's sequence priorities ``eta * max_t |d_t| + (1 - eta) * mean_t
    |d_t|`` over each sequence's valid steps.

    Args:
        td_errors: [B, T] TD errors.
        mask: [B, T], 1 on valid steps.
        eta: The weight of the maximum.

    Returns:
        [B] priorities (0 for a sequence without valid steps).
    """
    magnitude = np.abs(td_errors) * mask
    count = np.maximum(mask.sum(axis=1), 1.0)
    return eta * magnitude.max(axis=1) + (1 - eta) * magnitude.sum(axis=1) / count


def _check_signature(network_signature: Any) -> tuple:
    """(observation signature, n_actions, cell, recurrent_size)."""
    if (not is_recurrent_signature(network_signature) or
            not data.is_signature(network_signature.input['observation']) or
            not isinstance(network_signature.output, dict) or
            'q' not in network_signature.output):
        raise errors.NetworkSignatureError(
            f'RecurrentQNetwork needs the signature of a recurrent Q-learning '
            f'agent, {{"observation", "state"}} in and {{"q", "state"}} out '
            f'(alpacka.networks.recurrent_q_network.recurrent_q_signature); '
            f'got {network_signature}. Use it with '
            f'alpacka.agents.RecurrentQAgent (and '
            f'alpacka.trainers.RecurrentQLearningTrainer); a feed-forward '
            f'QAgent goes with QNetwork.')
    state = network_signature.input['state']
    try:
        cell = recurrent_q_models.cell_of_state_keys(list(state))
    except ValueError as error:
        raise errors.NetworkSignatureError(
            f'RecurrentQNetwork: {error}') from error
    sizes = {tuple(sig.shape) for sig in state.values()}
    if len(sizes) != 1 or len(next(iter(sizes))) != 1:
        raise errors.NetworkSignatureError(
            f'RecurrentQNetwork: the state arrays must all have the shape '
            f'(recurrent_size,); got {state}.')
    q_shape = tuple(network_signature.output['q'].shape)
    return (network_signature.input['observation'], q_shape[0], cell,
            next(iter(sizes))[0])


@validation.configurable(module='alpacka.networks')
class RecurrentQNetwork(q_network.QValueNetwork):
    """Q values from an LSTM or GRU over the episode so far.

    ``predict({'observation': [B, ...], 'state': {key: [B, H]}}) ->
    {'q': [B, n_actions], 'state': {key: [B, H]}}``: one step from the given
    state (zeros at an episode start), and the state after it. The state is
    ``{'h', 'c'}`` for an LSTM and ``{'h'}`` for a GRU.

    The cell and its size are the agent's (``RecurrentQAgent.cell`` and
    ``.recurrent_size``), which puts them into the network signature: the
    network reads them from there. Setting ``cell`` or ``recurrent_size``
    here only checks that they agree.

    Training batches (from RecurrentQLearningTrainer) are sequences of L
    steps: ``observation [B, L + 1, ...]`` (the L states acted in and the
    state after the last step), ``action [B, L]``, ``return [B, L]`` and
    ``discount [B, L]`` (the n-step partial return R_t and bootstrap
    discount D_t, see q_losses), ``bootstrap_index [B, L]`` (the index
    b_t in 1..L of the state bootstrapped from), ``mask [B, L]`` (1 on
    valid steps, 0 on the padding after an episode's end),
    ``initial_state {key: [B, H]}`` (the agent's state at the first step),
    ``starts_episode [B]`` (1 for a sequence that begins an episode: its
    zero state is exact whatever the weights), ``weight [B]`` (importance
    weights) and ``burn_in`` (an int).

    One update unrolls the target network over all L + 1 states from the
    initial state, and the online network from it too, the first
    ``burn_in`` steps only warming the state up: no loss on them and no
    gradient through the state they reach, except in sequences that start
    an episode, which need no warm-up and are trained on from their first
    step. The trained steps regress Q(s_t, a_t) on
    ``y_t = R_t + D_t * Q_target(s_{b_t}, a*)``, a* the online network's
    argmax at s_{b_t} (double DQN) or the target's; masked steps do not
    count, and the loss is the weighted mean over the trained steps. The
    trainer sets b_t = min(t + n, valid length): a window that would run
    past the sequence's end is cut there and bootstraps from the last state
    the sequence holds (a shorter, still unbiased, n-step target; a
    terminal end is not bootstrapped, a truncated one is). After each
    update ``last_td_errors`` [B, L] holds the TD errors (0 on the steps
    not trained on) and ``last_priorities`` [B] the R2D2 sequence priorities
    (sequence_priorities with ``priority_eta``).

    Target updates, gradient clipping and optimizers are QNetwork's
    (q_network.apply_q_update, q_network.make_optimizer).

    Args:
        network_signature: recurrent_q_signature's.
        cell: 'lstm' or 'gru' (None: the signature's).
        recurrent_size: Units of the recurrent layer (None: the signature's).
        torso: The per-step torso: 'mlp', 'nature', 'minatar' or a callable
            (see q_models).
        hidden_sizes: Widths of the 'mlp' torso's layers.
        dueling: Dueling head.
        double_dqn: Choose the bootstrap action with the online network.
        loss: 'huber' or 'squared'.
        huber_delta: Where the Huber loss turns linear.
        optimizer: 'adam' or 'rmsprop'.
        learning_rate: The optimizer's learning rate.
        adam_epsilon: Adam's epsilon.
        rmsprop_rho: RMSProp's decay.
        rmsprop_epsilon: RMSProp's epsilon.
        rmsprop_centered: Centered RMSProp.
        max_grad_norm: Clip the gradients' global norm (None: no clipping).
        target_update: 'hard' (every target_update_period updates) or
            'polyak'.
        target_update_period: Updates between hard copies.
        polyak: Rate of Polyak averaging.
        conv_layout: How conv torsos read rank-3 observations.
        input_scale: Factor on the observations (None: 1/255 for integer
            observations, else 1).
        priority_eta: eta of the sequence priorities.
        jit_compile: Compile the update with XLA (fuses the unrolled
            recurrence's many small ops: about 1.5x faster updates on CPU,
            a few seconds more to compile).
        seed: Seed of the weight initialisation (None: Keras' global seed).
    """

    def __init__(
            self,
            network_signature: Optional[data.NetworkSignature],
            cell: Optional[recurrent_q_models.Cell] = None,
            recurrent_size: Optional[_PositiveInt] = None,
            torso: q_models.Torso = 'mlp',
            hidden_sizes: Sequence[_PositiveInt] = (64,),
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
            priority_eta: Annotated[float, validation.InRange(0, 1)] = 0.9,
            jit_compile: bool = False,
            seed: Optional[int] = None):
        observation, n_actions, signature_cell, size = _check_signature(
            network_signature)
        for name, given, actual in (('cell', cell, signature_cell),
                                    ('recurrent_size', recurrent_size, size)):
            if given is not None and given != actual:
                raise errors.ConfigError(
                    f'RecurrentQNetwork.{name} = {given!r}, but the agent\'s '
                    f'network signature has {name} {actual!r}: the state '
                    f'the agent carries must fit the network. Set '
                    f'RecurrentQAgent.{name} (the network reads it from the '
                    f'signature) and leave RecurrentQNetwork.{name} unset.')
        super().__init__(network_signature, {
            'cell': cell, 'recurrent_size': recurrent_size, 'torso': torso,
            'hidden_sizes': tuple(hidden_sizes), 'dueling': dueling,
            'double_dqn': double_dqn, 'loss': loss, 'huber_delta': huber_delta,
            'optimizer': optimizer, 'learning_rate': learning_rate,
            'adam_epsilon': adam_epsilon, 'rmsprop_rho': rmsprop_rho,
            'rmsprop_epsilon': rmsprop_epsilon,
            'rmsprop_centered': rmsprop_centered,
            'max_grad_norm': max_grad_norm, 'target_update': target_update,
            'target_update_period': target_update_period, 'polyak': polyak,
            'conv_layout': conv_layout, 'input_scale': input_scale,
            'priority_eta': priority_eta, 'jit_compile': jit_compile,
            'seed': seed}, n_actions)
        keras = self._keras
        self._observation = observation
        self._state_keys = recurrent_q_models.STATE_KEYS[signature_cell]
        self._recurrent_size = size
        self._double_dqn = double_dqn
        self._loss = loss
        self._huber_delta = float(huber_delta)
        self._priority_eta = float(priority_eta)
        self._jit_compile = jit_compile
        self._update_rule = q_network.UpdateRule(
            max_grad_norm, target_update, target_update_period, float(polyak))
        if input_scale is None:
            input_scale = q_models.default_input_scale(observation.dtype)

        def build(name):
            return recurrent_q_models.RecurrentQModel(
                keras, tuple(observation.shape), observation.dtype, n_actions,
                torso, tuple(hidden_sizes), dueling, conv_layout,
                float(input_scale), signature_cell, size, name)

        self._build_q_models(build, seed, q_network.make_optimizer(
            keras, optimizer, learning_rate, adam_epsilon, rmsprop_rho,
            rmsprop_epsilon, rmsprop_centered))
        self.last_td_errors: Optional[np.ndarray] = None
        self.last_priorities: Optional[np.ndarray] = None
        # Compiled on first use: a learner that never acts never traces them.
        self._predict_fns = [None, None]

    # -- Compiled functions. -------------------------------------------------

    def _specs(self, n_steps: int) -> tuple:
        """TensorSpecs of observation sequences [B, n_steps, ...] and of a
        state."""
        tf = self._tf
        observations = tf.TensorSpec(
            (None, n_steps) + tuple(self._observation.shape),
            tf.as_dtype(np.dtype(self._observation.dtype)))
        state = [tf.TensorSpec((None, self._recurrent_size), tf.float32)
                 for _ in self._state_keys]
        return observations, state

    def _predict_fn_of(self, model: Any) -> Any:
        tf = self._tf
        observations, state = self._specs(1)

        def step(observation, *state_values):
            q_values, new_state = model.unroll(
                tf, observation, dict(zip(self._state_keys, state_values)))
            return [q_values[:, 0]] + [new_state[key]
                                       for key in self._state_keys]

        return tf.function(step, input_signature=[observations] + state,
                           autograph=False).get_concrete_function()

    def _update_fn(self, burn_in: int, length: int) -> Any:
        """The compiled update of sequences of length steps (traced once per
        burn-in and length)."""
        def signature() -> list:
            tf = self._tf
            observations, state = self._specs(length + 1)
            steps = tf.TensorSpec((None, length), tf.float32)
            indices = tf.TensorSpec((None, length), tf.int64)
            per_sequence = tf.TensorSpec((None,), tf.float32)
            return [observations, indices, steps, steps, indices, steps,
                    per_sequence, per_sequence] + state

        return self._traced_once(
            ('update', burn_in, length),
            lambda *args: self._update_step(burn_in, *args), signature,
            self._jit_compile)

    # -- The update. ---------------------------------------------------------

    def _update_step(self, burn_in, observation, action, returns, discount,
                     bootstrap_index, mask, starts_episode, weight,
                     *state_values):
        """One update on a batch of sequences (see the class docstring)."""
        tf = self._tf
        state = dict(zip(self._state_keys, state_values))
        q_target, _ = self._target_model.unroll(tf, observation, state)
        # The steps trained on: those after the burn-in, and all of a
        # sequence that starts an episode (its zero state is exact).
        starts = starts_episode[:, None]
        trained = mask * tf.concat(
            [tf.tile(starts, [1, burn_in]), tf.ones_like(mask[:, burn_in:])],
            axis=1)

        def flat(x, *tail):
            return tf.reshape(x, (-1,) + tail)

        variables = self._model.trainable_variables
        with tf.GradientTape() as tape:
            if burn_in:
                q_burn_in, warmed = self._model.unroll(
                    tf, observation[:, :burn_in], state, training=True)
                # No gradient from the later steps into the burn-in, except
                # for sequences that start an episode.
                warmed = {key: starts * value +
                          (1 - starts) * tf.stop_gradient(value)
                          for key, value in warmed.items()}
                q_rest, _ = self._model.unroll(
                    tf, observation[:, burn_in:], warmed, training=True)
                q_online = tf.concat([q_burn_in, q_rest], axis=1)
            else:
                q_online, _ = self._model.unroll(tf, observation, state,
                                                 training=True)
            next_q_online = tf.gather(tf.stop_gradient(q_online),
                                      bootstrap_index, axis=1, batch_dims=1)
            next_q_target = tf.gather(q_target, bootstrap_index, axis=1,
                                      batch_dims=1)
            target = tf.stop_gradient(q_losses.q_targets(
                flat(returns), flat(discount), q_losses.bootstrap_values(
                    tf, flat(next_q_target, self._n_actions),
                    flat(next_q_online, self._n_actions), self._double_dqn)))
            q_taken = q_losses.taken_q_values(
                tf, flat(q_online[:, :-1], self._n_actions), flat(action))
            td_errors = flat(trained) * (target - q_taken)
            # The weighted mean over the trained steps.
            n_trained = tf.maximum(tf.reduce_sum(trained), 1.0)
            weights = flat(weight[:, None] * trained) * (
                tf.cast(tf.size(trained), tf.float32) / n_trained)
            loss = q_losses.td_loss(tf, td_errors, weights, self._loss,
                                    self._huber_delta)
        grad_norm = q_network.apply_q_update(
            tf, self._optimizer, variables, tape.gradient(loss, variables),
            loss, self._n_updates, self._targets, self._update_rule)
        return {'loss': loss,
                'td_errors': tf.reshape(td_errors, tf.shape(mask)),
                'trained': trained,
                'q_mean': tf.reduce_sum(q_taken * flat(trained)) / n_trained,
                'grad_norm': grad_norm}

    def _train_step(self, batch: Dict[str, Any]) -> Dict[str, float]:
        try:
            arrays = [batch[key] for key in SEQUENCE_KEYS]
            state = [batch['initial_state'][key] for key in self._state_keys]
            burn_in = int(batch['burn_in'])
        except KeyError as error:
            raise ValueError(
                f'RecurrentQNetwork trains on sequence batches with keys '
                f'{list(SEQUENCE_KEYS) + ["initial_state", "burn_in"]} (state '
                f'keys {list(self._state_keys)}), as RecurrentQLearningTrainer '
                f'samples them; the batch has {sorted(batch)}.') from error
        length = np.shape(batch['action'])[1]
        outputs = self._update_fn(burn_in, length)(*arrays, *state)
        self.last_td_errors = outputs['td_errors'].numpy()
        self.last_priorities = sequence_priorities(
            self.last_td_errors, outputs['trained'].numpy(),
            self._priority_eta)
        return {'loss': float(outputs['loss']),
                'q_mean': float(outputs['q_mean']),
                'grad_norm': float(outputs['grad_norm'])}

    # -- Network API. --------------------------------------------------------

    @property
    def state_keys(self) -> tuple:
        """The keys of a state: ('h', 'c') or ('h',)."""
        return self._state_keys

    def initial_state(self, batch_size: int) -> Dict[str, np.ndarray]:
        """Zeros {key: [batch_size, H]}: the state at an episode start."""
        return {key: np.zeros((batch_size, self._recurrent_size), np.float32)
                for key in self._state_keys}

    def unroll(self, observations: np.ndarray,
               state: Dict[str, np.ndarray], target: bool = False) -> tuple:
        """Q values along sequences from a state (e.g. a stored one).

        Args:
            observations: [B, T, ...].
            state: {key: [B, H]}, the state before the first step.
            target: Unroll the target network.

        Returns:
            ``(Q values [B, T, n_actions], final state {key: [B, H]})``.
        """
        model = self._target_model if target else self._model
        q_values, final = model.unroll(
            self._tf, np.asarray(observations, self._observation.dtype),
            {key: np.asarray(state[key], np.float32)
             for key in self._state_keys})
        return q_values.numpy(), {key: value.numpy()
                                  for key, value in final.items()}

    def _predict_with(self, index: int, inputs: Any) -> Dict[str, Any]:
        if not isinstance(inputs, dict) or set(inputs) != {'observation',
                                                           'state'}:
            raise ValueError(
                f'RecurrentQNetwork.predict takes {{"observation": [B, ...], '
                f'"state": {{{", ".join(self._state_keys)}: [B, H]}}}}, as '
                f'RecurrentQAgent asks; got {data.signatures.describe(inputs)}.')
        observation = np.asarray(inputs['observation'])
        if observation.shape[1:] != tuple(self._observation.shape):
            raise ValueError(
                f'RecurrentQNetwork: observations must have shape [B] + '
                f'{tuple(self._observation.shape)}, got {observation.shape}.')
        state = [np.asarray(inputs['state'][key], np.float32)
                 for key in self._state_keys]
        if self._predict_fns[index] is None:
            self._predict_fns[index] = self._predict_fn_of(
                (self._model, self._target_model)[index])
        outputs = self._predict_fns[index](
            observation.astype(self._observation.dtype,
                               copy=False)[:, np.newaxis], *state)
        return {'q': outputs[0].numpy(),
                'state': {key: value.numpy() for key, value
                          in zip(self._state_keys, outputs[1:])}}
