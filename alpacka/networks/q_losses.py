"""The maths of Q-learning (DQN and its variants), one named function each.

With n-step returns (computed by the trainer, ``alpacka.trainers.n_step``)
a datapoint carries ``R = sum_{k<n} gamma^k r_{t+k}`` and the bootstrap
discount ``D = gamma^n`` (0 when the window ends in a terminal state; a
truncated episode is bootstrapped). The regression target is

    y = R + D * Q_target(s', a*),

with ``a* = argmax_a Q_target(s', a)`` (DQN, Mnih et al. 2015) or
``a* = argmax_a Q_online(s', a)`` (double DQN, van Hasselt et al. 2016),
and the loss is ``mean_b w_b * rho(y_b - Q(s_b, a_b))``, rho Huber or
squared, w the importance weights of prioritized replay (Schaul et al.
2016; ones otherwise).

``tf`` is the tensorflow module, passed in (the tests call these functions
eagerly on hand-made batches); q_targets works on numpy arrays too.
"""

from typing import Any


def dueling_q_values(tf: Any, value: Any, advantages: Any) -> Any:
    """``Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a')`` (Wang et al. 2016, eq. 9).

    Args:
        tf: The tensorflow module.
        value: [B, 1] state values.
        advantages: [B, A] advantages.

    Returns:
        [B, A] Q values.
    """
    return value + advantages - tf.reduce_mean(advantages, axis=-1,
                                               keepdims=True)


def taken_q_values(tf: Any, q_values: Any, actions: Any) -> Any:
    """``Q(s_b, a_b)``: each row's value at its action.

    Args:
        tf: The tensorflow module.
        q_values: [B, A].
        actions: [B] integer actions.

    Returns:
        [B].
    """
    return tf.gather(q_values, tf.cast(actions, tf.int32), axis=1,
                     batch_dims=1)


def bootstrap_values(tf: Any, next_q_target: Any, next_q_online: Any,
                     double_dqn: bool) -> Any:
    """``Q_target(s', a*)``, with a* chosen by the online network (double
    DQN) or by the target network itself (DQN).

    Args:
        tf: The tensorflow module.
        next_q_target: [B, A] target-network Q values at s'.
        next_q_online: [B, A] online-network Q values at s' (unused
            without double DQN; may be None then).
        double_dqn: Choose a* with the online network.

    Returns:
        [B].
    """
    if not double_dqn:
        return tf.reduce_max(next_q_target, axis=-1)
    best = tf.argmax(next_q_online, axis=-1, output_type=tf.int32)
    return tf.gather(next_q_target, best, axis=1, batch_dims=1)


def q_targets(returns: Any, discounts: Any, bootstrap: Any) -> Any:
    """``y = R + D * Q_target(s', a*)`` (see the module docstring).

    Works on numpy arrays and TensorFlow tensors alike.

    Args:
        returns: [B] n-step partial returns R.
        discounts: [B] bootstrap discounts D (0 after a terminal state).
        bootstrap: [B] bootstrap values.

    Returns:
        [B] targets.
    """
    return returns + discounts * bootstrap


def td_loss(tf: Any, td_errors: Any, weights: Any, loss: str,
            huber_delta: float = 1.0) -> Any:
    """``mean_b w_b * rho(delta_b)``, rho Huber (``'huber'``) or ``delta^2 / 2``.

    Huber: ``delta^2 / 2`` for ``|delta| <= huber_delta``, else
    ``huber_delta * (|delta| - huber_delta / 2)`` (the gradient is clipped
    to ``huber_delta``, as in the Nature DQN).

    Args:
        tf: The tensorflow module.
        td_errors: [B] ``y - Q(s, a)``.
        weights: [B] importance weights.
        loss: 'huber' or 'squared'.
        huber_delta: Where the Huber loss turns linear.

    Returns:
        The scalar loss.
    """
    if loss == 'squared':
        per_example = 0.5 * tf.square(td_errors)
    else:
        magnitude = tf.abs(td_errors)
        quadratic = tf.minimum(magnitude, huber_delta)
        per_example = (0.5 * tf.square(quadratic) +
                       huber_delta * (magnitude - quadratic))
    return tf.reduce_mean(weights * per_example)
