"""CartPole and Pendulum with cheap, hashable state cloning.

The dynamics are gymnasium's (CartPole-v1, Pendulum-v1), stepped in plain
Python floats: cloning a state is copying a short tuple, and a step costs a few
microseconds instead of gymnasium's numpy-scalar arithmetic.
"""

# gymnasium's envs set their state in reset() and step(), not __init__.
# pylint: disable=attribute-defined-outside-init

import math
from typing import Annotated, Any, Optional

import numpy as np
from gymnasium.envs.classic_control import cartpole, pendulum

from alpacka.envs import base
from alpacka.utils import validation


@validation.configurable(module='alpacka.envs')
class CartPole(cartpole.CartPoleEnv, base.ModelEnv):
    """CartPole-v1 dynamics without a built-in time limit.

    The state is ``(x, x_dot, theta, theta_dot, steps_beyond_terminated)``.
    Use ``Runner.episode_time_limit`` (or TimeLimitWrapper) to cap episodes.
    """

    def __init__(self, render_mode: Optional[str] = None):
        super().__init__(render_mode=render_mode)
        self._physics = None

    def reset(self, *, seed: Optional[int] = None,
              options: Optional[dict] = None) -> tuple:
        observation, info = super().reset(seed=seed, options=options)
        self.state = tuple(float(v) for v in self.state)
        return observation, info

    def step(self, action: Any) -> tuple:
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta = math.cos(theta)
        sintheta = math.sin(theta)
        temp = (force + self.polemass_length * theta_dot * theta_dot *
                sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * costheta * costheta /
                           self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = (x, x_dot, theta, theta_dot)

        terminated = (x < -self.x_threshold or x > self.x_threshold or
                      theta < -self.theta_threshold_radians or
                      theta > self.theta_threshold_radians)
        if not terminated:
            reward = 1.0
        elif self.steps_beyond_terminated is None:
            self.steps_beyond_terminated = 0
            reward = 1.0
        else:
            self.steps_beyond_terminated += 1
            reward = 0.0
        return (np.array(self.state, dtype=np.float32), reward, terminated,
                False, {})

    def clone_state(self) -> tuple:
        return self.state + (self.steps_beyond_terminated,)

    def restore_state(self, state: tuple) -> np.ndarray:
        self.state = state[:4]
        self.steps_beyond_terminated = state[4]
        return np.array(self.state, dtype=np.float32)


@validation.configurable(module='alpacka.envs')
class Pendulum(pendulum.PendulumEnv, base.ModelEnv):
    """Pendulum-v1 dynamics without a built-in time limit.

    The state is ``(theta, theta_dot)``. Pendulum-v1 caps episodes at 200
    steps; set ``Runner.episode_time_limit = 200`` to match it.

    Args:
        render_mode: As gymnasium's Pendulum.
        g: Gravity.
    """

    def __init__(self, render_mode: Optional[str] = None,
                 g: Annotated[float, validation.GreaterThan(0)] = 10.0):
        super().__init__(render_mode=render_mode, g=g)

    def reset(self, *, seed: Optional[int] = None,
              options: Optional[dict] = None) -> tuple:
        observation, info = super().reset(seed=seed, options=options)
        self.state = tuple(float(v) for v in self.state)
        return observation, info

    def step(self, u: Any) -> tuple:
        theta, theta_dot = self.state
        torque = min(max(float(np.asarray(u).reshape(-1)[0]),
                         -self.max_torque), self.max_torque)
        self.last_u = torque
        normalized = ((theta + math.pi) % (2 * math.pi)) - math.pi
        cost = normalized ** 2 + 0.1 * theta_dot ** 2 + 0.001 * torque ** 2
        new_theta_dot = theta_dot + (
            3 * self.g / (2 * self.l) * math.sin(theta) +
            3.0 / (self.m * self.l ** 2) * torque) * self.dt
        new_theta_dot = min(max(new_theta_dot, -self.max_speed), self.max_speed)
        self.state = (theta + new_theta_dot * self.dt, new_theta_dot)
        return self._observation(), -cost, False, False, {}

    def _observation(self) -> np.ndarray:
        theta, theta_dot = self.state
        return np.array([math.cos(theta), math.sin(theta), theta_dot],
                        dtype=np.float32)

    def clone_state(self) -> tuple:
        return self.state

    def restore_state(self, state: tuple) -> np.ndarray:
        self.state = state
        return self._observation()
