"""The maths of Soft Actor-Critic, one named function per equation.

Box actions follow Haarnoja et al. 2018 ("Soft Actor-Critic Algorithms and
Applications", equation numbers refer to it); Discrete actions the variant of
Christodoulou 2019 ("Soft Actor-Critic for Discrete Action Settings"), where
the expectations over actions are exact sums instead of one-sample
estimates. The difference is all in ``PolicyEvaluation.expect`` (see
``alpacka.networks.sac_policies``), so each loss is written once.

``tf`` is the tensorflow module, passed in; ``soft_td_target`` works on
numpy arrays too.
"""

from typing import Any, List

from alpacka.networks import sac_policies


def soft_td_target(reward: Any, terminated: Any, next_value: Any,
                   discount: float) -> Any:
    """The critics' target ``y = r + discount * (1 - terminated) * V(s')``.

    ``next_value`` is the soft value of the next state (see soft_value, on
    the target critics). A truncated transition has ``terminated = 0`` and is
    bootstrapped; a terminal one is not. Works on numpy arrays and on
    TensorFlow tensors alike.

    Args:
        reward: [B] rewards.
        terminated: [B] 1.0 where s' is terminal, 0.0 otherwise.
        next_value: [B] soft values of the next states.
        discount: Per-step discount.

    Returns:
        [B] targets.
    """
    return reward + discount * (1.0 - terminated) * next_value


def soft_value(tf: Any, min_q: Any, policy: sac_policies.PolicyEvaluation,
               alpha: Any) -> Any:
    """``V(s) = E_{a~pi}[min_i Q_i(s, a) - alpha * log pi(a|s)]`` (eq. 3).

    Args:
        tf: The tensorflow module.
        min_q: min of the (target) critics at the policy's actions: [B] at a
            sampled action, or [B, n] at every action.
        policy: The policy at the states.
        alpha: The temperature.

    Returns:
        [B] soft values.
    """
    return policy.expect(tf, min_q - alpha * policy.log_prob)


def critic_loss(tf: Any, q_taken: List[Any], target: Any) -> Any:
    """``J_Q = sum_i 1/2 * mean_b (Q_i(s, a) - y)^2`` over the twin critics (eq. 5).

    Args:
        tf: The tensorflow module.
        q_taken: Each critic's Q(s, a) [B] at the batch's actions.
        target: [B] the targets y (soft_td_target), without gradient.

    Returns:
        The scalar loss.
    """
    return 0.5 * tf.add_n([tf.reduce_mean(tf.square(q - target))
                           for q in q_taken])


def joint_critic_loss(tf: Any, q_taken: List[Any], next_min_q: Any,
                      next_policy: sac_policies.PolicyEvaluation, alpha: Any,
                      reward: Any, terminated: Any, discount: float) -> Any:
    """CrossQ's critic loss (Bhatt et al. 2024): no target networks.

    ``J_Q = sum_i 1/2 mean_b (Q_i(s, a) - sg[y])^2`` with
    ``y = r + discount * (1 - terminated) * V(s')`` and V (soft_value) on the
    online critics' ``min_i Q_i(s', a')``, evaluated in the same
    training-mode forward pass as Q_i(s, a) (``joint_q`` of the policy
    heads); sg is stop_gradient, so the gradient flows through Q(s, a) only.

    Args:
        tf: The tensorflow module.
        q_taken: Each critic's Q(s, a) [B].
        next_min_q: min of the critics at the next states' policy actions:
            [B] at a sampled a', or [B, n] at every action.
        next_policy: The policy at the next states.
        alpha: The temperature.
        reward: [B] rewards.
        terminated: [B] 1.0 where s' is terminal.
        discount: Per-step discount.

    Returns:
        The scalar loss.
    """
    next_value = soft_value(tf, next_min_q, next_policy, alpha)
    target = tf.stop_gradient(soft_td_target(reward, terminated, next_value,
                                             discount))
    return critic_loss(tf, q_taken, target)


def actor_loss(tf: Any, min_q: Any, policy: sac_policies.PolicyEvaluation,
               alpha: Any) -> Any:
    """``J_pi = mean_s E_{a~pi}[alpha * log pi(a|s) - min_i Q_i(s, a)]`` (eq. 7).

    Box: a is reparameterised, so the gradient flows through Q into the
    actor. Discrete (Christodoulou 2019, eq. 12): the gradient flows through
    the probabilities; min_q is a constant. The temperature is a constant
    here.

    Args:
        tf: The tensorflow module.
        min_q: min of the critics at the policy's actions ([B] or [B, n]).
        policy: The policy at the batch's states.
        alpha: The temperature.

    Returns:
        The scalar loss.
    """
    return tf.reduce_mean(policy.expect(
        tf, tf.stop_gradient(alpha) * policy.log_prob - min_q))


def policy_entropy(tf: Any, policy: sac_policies.PolicyEvaluation) -> Any:
    """``H = -mean_s E_{a~pi}[log pi(a|s)]``: a one-sample estimate for Box
    actions (over the rescaled action), exact for Discrete ones."""
    return -tf.reduce_mean(policy.expect(tf, policy.log_prob))


def temperature_loss(tf: Any, log_alpha: Any, entropy: Any,
                     target_entropy: float) -> Any:
    """``J(alpha) = -log(alpha) * (target_entropy - H)`` (eq. 18, in log alpha).

    Its gradient raises alpha while the entropy H is below the target and
    lowers it above (Christodoulou 2019, eq. 11, with the exact H).

    Args:
        tf: The tensorflow module.
        log_alpha: The variable log(alpha).
        entropy: The policy's entropy H (policy_entropy), without gradient.
        target_entropy: The entropy aimed at.

    Returns:
        The scalar loss.
    """
    return -log_alpha * tf.stop_gradient(-entropy + target_entropy)
