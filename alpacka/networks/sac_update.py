"""SoftActorCriticNetwork's update step, composed from ``sac_losses``.

One update trains the critics, then (every ``policy_delay``-th update) the
actor and the temperature, then moves the target critics. The critics learn
either from target critics (SAC: ``y`` on Polyak-averaged copies) or, without
target networks, from themselves in one joint training-mode pass over
``(s, a)`` and ``(s', a')`` (CrossQ, Bhatt et al. 2024). All losses are
computed with the parameters from before the step; nothing changes if any
loss is not finite.

TensorFlow is passed in (``tf``), never imported here.
"""

from typing import Any, Dict, List, Optional

from alpacka.networks import sac_losses
from alpacka.networks import sac_models
from alpacka.networks import tensorflow_base


class SacUpdate:
    """The update step of Soft Actor-Critic (see the module docstring).

    Args:
        tf: The tensorflow module.
        policy: The policy head (``sac_policies``).
        models: The models and log_alpha.
        optimizers: The Adam optimizers of the actor, critics and log_alpha.
        rng: The tf.random.Generator of action sampling.
        discount: Per-step discount.
        polyak: Rate of the target critics' update.
        target_entropy: The entropy the temperature aims at.
        policy_delay: The actor and temperature learn on every
            policy_delay-th update (the critics on every one).
    """

    def __init__(self, tf: Any, policy: Any, models: sac_models.SacModels,
                 optimizers: List[Any], rng: Any, discount: float,
                 polyak: float, target_entropy: float, policy_delay: int):
        self._tf = tf
        self._policy = policy
        self._models = models
        self._actor_optimizer, self._critic_optimizer, self._alpha_optimizer = (
            optimizers)
        self._rng = rng
        self._discount = discount
        self._polyak = polyak
        self._target_entropy = target_entropy
        self._policy_delay = policy_delay
        self.targets = tensorflow_base.TargetWeights(
            tf, sources=[var for critic in models.critics
                         for var in critic.weights] if models.target_critics
            else [],
            targets=[var for critic in models.target_critics
                     for var in critic.weights])
        self.actor_vars = list(models.actor.trainable_variables)
        self.critic_vars = [var for critic in models.critics
                            for var in critic.trainable_variables]
        # Updates done, and the metrics of the last actor update (reported
        # on the updates between two actor updates): saved in checkpoints.
        self.update_count = tf.Variable(0, dtype=tf.int64, trainable=False,
                                        name='update_count')
        self.last_actor_metrics = tf.Variable(
            tf.zeros(3), trainable=False, name='last_actor_metrics')

    def critic_target(self, reward: Any, terminated: Any,
                      next_observation: Any) -> Any:
        """``y = r + discount * (1 - terminated) * V(s')`` [B], no gradient.

        V on the target critics, or on the online critics (in inference
        mode) without target critics.
        """
        tf, models = self._tf, self._models
        alpha = tf.exp(models.log_alpha)
        policy = self._policy.evaluate(
            models.actor(next_observation, training=False), self._rng)
        min_q = self._policy.policy_q(
            models.target_critics or models.critics, next_observation, policy)
        next_value = sac_losses.soft_value(tf, min_q, policy, alpha)
        return tf.stop_gradient(sac_losses.soft_td_target(
            reward, terminated, next_value, self._discount))

    def _critic_terms(self, observation, action, reward, next_observation,
                      terminated, alpha):
        """The critics' loss, its gradients and Q(s, a) per critic."""
        tf, models, policy = self._tf, self._models, self._policy
        if models.target_critics:
            target = self.critic_target(reward, terminated, next_observation)
            with tf.GradientTape() as tape:
                q_taken = policy.q_taken(models.critics, observation, action,
                                         training=True)
                loss = sac_losses.critic_loss(tf, q_taken, target)
        else:
            next_policy = policy.evaluate(
                models.actor(next_observation, training=False), self._rng)
            with tf.GradientTape() as tape:
                q_taken, next_min_q = policy.joint_q(
                    models.critics, observation, action, next_observation,
                    next_policy)
                loss = sac_losses.joint_critic_loss(
                    tf, q_taken, next_min_q, next_policy, alpha, reward,
                    terminated, self._discount)
        return loss, tape.gradient(loss, self.critic_vars), q_taken

    def _actor_terms(self, observation, alpha):
        """Actor and temperature: ``([actor_loss, alpha_loss, entropy],
        actor gradients, log_alpha gradient)``."""
        tf, models = self._tf, self._models
        with tf.GradientTape(persistent=True) as tape:
            policy = self._policy.evaluate(
                models.actor(observation, training=True), self._rng)
            min_q = self._policy.policy_q(models.critics, observation, policy)
            actor_loss = sac_losses.actor_loss(tf, min_q, policy, alpha)
            entropy = sac_losses.policy_entropy(tf, policy)
            alpha_loss = sac_losses.temperature_loss(
                tf, models.log_alpha, entropy, self._target_entropy)
        actor_grads = tape.gradient(actor_loss, self.actor_vars)
        alpha_grads = tape.gradient(alpha_loss, [models.log_alpha])
        del tape
        return [actor_loss, alpha_loss, entropy], actor_grads, alpha_grads

    def _skipped_actor_terms(self):
        """_actor_terms on an update without actor update: the last metrics,
        zero gradients."""
        tf = self._tf
        metrics = self.last_actor_metrics
        return ([metrics[0], metrics[1], metrics[2]],
                [tf.zeros_like(var) for var in self.actor_vars],
                [tf.zeros_like(self._models.log_alpha)])

    def step(self, observation: Any, action: Any, reward: Any,
             next_observation: Any, terminated: Any) -> Dict[str, Any]:
        """One update (see the module docstring); returns its metrics."""
        tf, models = self._tf, self._models
        alpha = tf.exp(models.log_alpha)
        critic_loss, critic_grads, q_taken = self._critic_terms(
            observation, action, reward, next_observation, terminated, alpha)
        actor_due: Optional[Any] = None  # Every update when None.
        if self._policy_delay == 1:
            terms = self._actor_terms(observation, alpha)
        else:
            actor_due = tf.equal((self.update_count + 1) % self._policy_delay,
                                 0)
            terms = tf.cond(actor_due,
                            lambda: self._actor_terms(observation, alpha),
                            self._skipped_actor_terms)
        (actor_loss, alpha_loss, entropy), actor_grads, alpha_grads = terms
        finite = tf.reduce_all(tf.math.is_finite(
            tf.stack([critic_loss, actor_loss, alpha_loss])))

        def apply_actor():
            self._actor_optimizer.apply_gradients(
                zip(actor_grads, self.actor_vars))
            self._alpha_optimizer.apply_gradients(
                zip(alpha_grads, [models.log_alpha]))
            return tf.constant(True)

        def apply():
            self._critic_optimizer.apply_gradients(
                zip(critic_grads, self.critic_vars))
            if actor_due is None:
                apply_actor()
            else:
                tf.cond(actor_due, apply_actor, lambda: tf.constant(False))
            if models.target_critics:
                self.targets.polyak_update(self._polyak)
            self.last_actor_metrics.assign(
                tf.stack([actor_loss, alpha_loss, entropy]))
            self.update_count.assign_add(1)
            return tf.constant(True)

        tf.cond(finite, apply, lambda: tf.constant(False))
        return {'critic_loss': critic_loss, 'actor_loss': actor_loss,
                'alpha_loss': alpha_loss, 'alpha': alpha, 'entropy': entropy,
                'q_mean': tf.reduce_mean(tf.add_n(q_taken) / 2.0)}
