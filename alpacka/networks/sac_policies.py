"""The policy heads of SoftActorCriticNetwork: Gaussian (Box) and categorical.

A head turns the actor's raw output into the policy: it samples actions,
gives their log-probabilities, takes expectations over actions (one sample
for the Gaussian, an exact sum for the categorical), says what the critics
take and what ``predict`` returns, and names its default target entropy.
The SAC losses (``alpacka.networks.sac_losses``) are written once on top of
these, so no SAC code branches on the kind of action space.

TensorFlow is passed in (``tf``), never imported here.
"""

import math
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import gymnasium
import numpy as np

from alpacka import data

# Bounds of the Gaussian actor's log standard deviation.
LOG_STD_MIN = -20.0
LOG_STD_MAX = 2.0


class PolicyEvaluation(NamedTuple):
    """The policy at a batch of states, as the losses need it.

    Attributes:
        log_prob: Gaussian: [B] log-density of ``action``. Categorical:
            [B, n] log pi(a|s) of every action.
        probs: None (Gaussian), or [B, n] pi(a|s) (categorical).
        action: Gaussian: [B, A] a reparameterised sample of pi(.|s), within
            the bounds. Categorical: None (every action is weighed).
    """
    log_prob: Any
    probs: Any = None
    action: Any = None

    def expect(self, tf: Any, values: Any) -> Any:
        """E_{a~pi(.|s)}[values(s, a)]: [B].

        Gaussian: values [B] at the one sampled action (a one-sample
        estimate). Categorical: values [B, n], weighed by pi exactly.
        """
        if self.probs is None:
            return values
        return tf.reduce_sum(self.probs * values, axis=-1)


class GaussianPolicy:
    """A tanh-squashed Gaussian, rescaled to the bounds of a Box.

    ``u ~ N(mean(s), std(s))``, ``a = center + scale * tanh(u)`` with
    ``center = (high + low) / 2`` and ``scale = (high - low) / 2``. The
    log-probability includes the tanh and rescaling corrections, so it is a
    density over the actual action. The actor outputs [B, 2A]: the mean and
    the log std (clipped to [LOG_STD_MIN, LOG_STD_MAX]); the critics take
    ``[s, a]`` and output one Q value.

    Args:
        tf: The tensorflow module.
        action_space: A Box with finite bounds.
    """

    def __init__(self, tf: Any, action_space: gymnasium.spaces.Box):
        self._tf = tf
        self._action_shape = tuple(action_space.shape)
        self._action_dim = int(np.prod(action_space.shape))
        low = np.asarray(action_space.low, np.float32).reshape(-1)
        high = np.asarray(action_space.high, np.float32).reshape(-1)
        self._center = (high + low) / 2
        self._scale = (high - low) / 2
        self._center_tensor = tf.constant(self._center)
        self._scale_tensor = tf.constant(self._scale)
        self._log_scale_sum = float(np.sum(np.log(self._scale)))

    @staticmethod
    def default_target_entropy(action_space: gymnasium.Space) -> float:
        """``-dim(A)`` (Haarnoja et al. 2018)."""
        return -float(np.prod(action_space.shape))

    @staticmethod
    def output_signature(action_space: gymnasium.Space) -> Dict[str, Any]:
        """What predict returns: ``{'mean', 'sample'}`` actions [B, *shape]."""
        action = data.TensorSignature(tuple(action_space.shape), np.float32)
        return {'mean': action, 'sample': action}

    @property
    def n_actor_outputs(self) -> int:
        """The actor's width: mean and log std."""
        return 2 * self._action_dim

    def critic_input_shapes(self, observation_shape: tuple) -> List[tuple]:
        """The critics take the state and the action."""
        return [observation_shape, (self._action_dim,)]

    @property
    def n_critic_outputs(self) -> int:
        """One Q value."""
        return 1

    def action_spec(self) -> Any:
        """The TensorSpec of a batch of actions, [B, A] float32."""
        return self._tf.TensorSpec((None, self._action_dim), self._tf.float32)

    def action_batch(self, action: Any, batch_size: int) -> np.ndarray:
        """A training batch's actions as [B, A] float32."""
        return np.asarray(action, np.float32).reshape(batch_size,
                                                      self._action_dim)

    def _squash(self, u: Any) -> Any:
        return self._center_tensor + self._scale_tensor * self._tf.tanh(u)

    def _mean_and_log_std(self, actor_out: Any) -> tuple:
        mean = actor_out[:, :self._action_dim]
        log_std = actor_out[:, self._action_dim:]
        return mean, self._tf.clip_by_value(log_std, LOG_STD_MIN, LOG_STD_MAX)

    def evaluate(self, actor_out: Any, rng: Any) -> PolicyEvaluation:
        """A reparameterised action [B, A] and its log-probability [B].

        ``log pi(a|s) = log N(u; mean, std) - sum log(1 - tanh(u)^2)
        - sum log(scale)``.
        """
        tf = self._tf
        mean, log_std = self._mean_and_log_std(actor_out)
        noise = rng.normal(tf.shape(mean))
        u = mean + tf.exp(log_std) * noise
        gaussian_log_prob = tf.reduce_sum(
            -0.5 * tf.square(noise) - log_std - 0.5 * math.log(2 * math.pi),
            axis=-1)
        # log(1 - tanh(u)^2) = 2 * (log 2 - u - softplus(-2u)), stably.
        log_det_tanh = tf.reduce_sum(
            2.0 * (math.log(2.0) - u - tf.nn.softplus(-2.0 * u)), axis=-1)
        log_prob = gaussian_log_prob - log_det_tanh - self._log_scale_sum
        return PolicyEvaluation(log_prob=log_prob, action=self._squash(u))

    def q_taken(self, critics: List[Any], observation: Any, action: Any,
                training: bool = False) -> List[Any]:
        """Each critic's Q(s, a) [B] at the batch's actions.

        ``training`` is the critics' mode (their normalisation layers').
        """
        return [critic([observation, action], training=training)[:, 0]
                for critic in critics]

    def policy_q(self, critics: List[Any], observation: Any,
                 policy: PolicyEvaluation) -> Any:
        """``min_i Q_i(s, a)`` [B] at the sampled action (gradient flows
        through the action into the actor); critics in inference mode."""
        q_values = self.q_taken(critics, observation, policy.action)
        return self._tf.minimum(q_values[0], q_values[1])

    def joint_q(self, critics: List[Any], observation: Any, action: Any,
                next_observation: Any, next_policy: PolicyEvaluation
                ) -> Tuple[List[Any], Any]:
        """Q at ``(s, a)`` and at ``(s', a' ~ pi(s'))`` from ONE training-mode
        pass over the two batches concatenated (CrossQ: the batch statistics
        of the critics' normalisation layers cover both).

        Returns:
            ``(q_taken, next_min_q)``: each critic's Q(s, a) [B], and
            ``min_i Q_i(s', a')`` [B].
        """
        tf = self._tf
        both = self.q_taken(
            critics, tf.concat([observation, next_observation], axis=0),
            tf.concat([action, next_policy.action], axis=0), training=True)
        n = tf.shape(observation)[0]
        return [q[:n] for q in both], tf.minimum(both[0][n:], both[1][n:])

    def critic_values(self, critics: List[Any], observation: Any,
                      action: Any) -> List[Any]:
        """Each critic's Q(s, a) [B] (for diagnostics)."""
        return self.q_taken(critics, observation, action)

    def predict(self, actor_out: Any, rng: Any) -> Dict[str, Any]:
        """``{'mean': squashed mean, 'sample': sampled action}`` [B, *shape]."""
        tf = self._tf
        mean, _ = self._mean_and_log_std(actor_out)
        sample = self.evaluate(actor_out, rng).action
        shape = tf.concat([tf.shape(actor_out)[:1],
                           tf.constant(self._action_shape, tf.int32)], axis=0)
        return {'mean': tf.reshape(self._squash(mean), shape),
                'sample': tf.reshape(sample, shape)}

    def predict_numpy(self, actor_out: np.ndarray,
                      rng: np.random.Generator) -> Dict[str, np.ndarray]:
        """predict() in numpy, with the numpy sampling generator."""
        mean = actor_out[:, :self._action_dim]
        log_std = np.clip(actor_out[:, self._action_dim:], LOG_STD_MIN,
                          LOG_STD_MAX)
        u = mean + np.exp(log_std) * rng.standard_normal(mean.shape,
                                                         dtype=np.float32)
        shape = (len(actor_out),) + self._action_shape
        return {
            'mean': (self._center + self._scale * np.tanh(mean)).reshape(shape),
            'sample': (self._center + self._scale * np.tanh(u)).reshape(shape)}


class CategoricalPolicy:
    """A categorical over Discrete(n): the actor outputs its n logits.

    The critics take the state and output n Q values; expectations over
    actions (soft value, actor loss, entropy) are exact sums over them
    (Christodoulou 2019).

    Args:
        tf: The tensorflow module.
        action_space: A Discrete space.
    """

    def __init__(self, tf: Any, action_space: gymnasium.spaces.Discrete):
        self._tf = tf
        self._n_actions = int(action_space.n)

    @staticmethod
    def default_target_entropy(action_space: gymnasium.Space) -> float:
        """``0.98 * log(n)``: 98% of the maximal entropy (Christodoulou 2019)."""
        return 0.98 * math.log(int(action_space.n))

    @staticmethod
    def output_signature(action_space: gymnasium.Space) -> Dict[str, Any]:
        """What predict returns: ``{'logits'}`` [B, n]."""
        return {'logits': data.TensorSignature((int(action_space.n),),
                                               np.float32)}

    @property
    def n_actor_outputs(self) -> int:
        """The actor's width: one logit per action."""
        return self._n_actions

    def critic_input_shapes(self, observation_shape: tuple) -> List[tuple]:
        """The critics take the state alone."""
        return [observation_shape]

    @property
    def n_critic_outputs(self) -> int:
        """One Q value per action."""
        return self._n_actions

    def action_spec(self) -> Any:
        """The TensorSpec of a batch of actions, [B] int64."""
        return self._tf.TensorSpec((None,), self._tf.int64)

    @staticmethod
    def action_batch(action: Any, batch_size: int) -> np.ndarray:
        """A training batch's actions as [B] int64."""
        return np.asarray(action, np.int64).reshape(batch_size)

    def evaluate(self, actor_out: Any, rng: Optional[Any] = None
                 ) -> PolicyEvaluation:
        """log pi(.|s) [B, n] and pi(.|s) [B, n] (rng is unused)."""
        del rng
        log_pi = self._tf.nn.log_softmax(actor_out)
        return PolicyEvaluation(log_prob=log_pi, probs=self._tf.exp(log_pi))

    def _taken(self, q_values: Any, action: Any) -> Any:
        return self._tf.gather(q_values, action, axis=1, batch_dims=1)

    def q_taken(self, critics: List[Any], observation: Any, action: Any,
                training: bool = False) -> List[Any]:
        """Each critic's Q(s, a) [B] at the batch's actions.

        ``training`` is the critics' mode (their normalisation layers').
        """
        return [self._taken(critic(observation, training=training), action)
                for critic in critics]

    def policy_q(self, critics: List[Any], observation: Any,
                 policy: PolicyEvaluation) -> Any:
        """``min_i Q_i(s, .)`` [B, n], a constant for the actor (its gradient
        flows through the probabilities); critics in inference mode."""
        del policy
        q_values = self.critic_values(critics, observation, None)
        return self._tf.stop_gradient(self._tf.minimum(q_values[0],
                                                       q_values[1]))

    def joint_q(self, critics: List[Any], observation: Any, action: Any,
                next_observation: Any, next_policy: PolicyEvaluation
                ) -> Tuple[List[Any], Any]:
        """Q at s and at s' from ONE training-mode pass over the two batches
        concatenated (CrossQ; see GaussianPolicy.joint_q).

        Returns:
            ``(q_taken, next_min_q)``: each critic's Q(s, a) [B], and
            ``min_i Q_i(s', .)`` [B, n].
        """
        del next_policy  # Every next action is weighed.
        tf = self._tf
        both = [critic(tf.concat([observation, next_observation], axis=0),
                       training=True) for critic in critics]
        n = tf.shape(observation)[0]
        return ([self._taken(q[:n], action) for q in both],
                tf.minimum(both[0][n:], both[1][n:]))

    @staticmethod
    def critic_values(critics: List[Any], observation: Any,
                      action: Any) -> List[Any]:
        """Each critic's Q(s, .) [B, n] (for diagnostics; action unused)."""
        del action
        return [critic(observation, training=False) for critic in critics]

    @staticmethod
    def predict(actor_out: Any, rng: Any) -> Dict[str, Any]:
        """``{'logits': [B, n]}``."""
        del rng
        return {'logits': actor_out}

    @staticmethod
    def predict_numpy(actor_out: np.ndarray,
                      rng: np.random.Generator) -> Dict[str, np.ndarray]:
        """predict() in numpy."""
        del rng
        return {'logits': actor_out.astype(np.float32, copy=False)}


def policy_class(action_space: gymnasium.Space) -> type:
    """The head for an action space: GaussianPolicy or CategoricalPolicy."""
    if isinstance(action_space, gymnasium.spaces.Discrete):
        return CategoricalPolicy
    return GaussianPolicy
