"""Stable-Baselines3's DQN as the Q-learning benchmarks' peer (not Alpacka code).

Used by sb3_peer.py in the 'sb3' virtualenv (peer_venvs.py); imports nothing
from Alpacka, and torch only inside functions (after sb3_peer.py has limited
its threads). The settings of each env are described in sb3_peer.py's
docstring; the numbers are here:

* CartPole-v1: rl-baselines3-zoo's tuned DQN (hyperparams/dqn.yml);
* CartPoleNoVel: the same on CartPole-v1 observing (x, theta) only, with
  the last 4 observations stacked (the zoo has no DQN entry for it);
* MinAtar/Breakout-v0 and -v1: MinAtar's published DQN baseline, as
  examples/dqn.py of github.com/kenjyoung/MinAtar (commit 4241f24) sets it;
* the update-speed mode: the zoo's Atari DQN settings (hyperparams/dqn.yml,
  ``atari``) on SB3's NatureCNN.
"""

import time
from typing import Any, Callable

import gymnasium
import numpy as np

CARTPOLE_NO_VEL = 'CartPoleNoVel'
# v0: MinAtar's full 6-action set, as its DQN script uses; v1: the
# minimal action set (3 actions in Breakout).
MINATAR_ENVS = ['MinAtar/Breakout-v0', 'MinAtar/Breakout-v1']
# rl-baselines3-zoo's DQN CartPole-v1 run is this long; its epsilon
# schedule is a fraction of it.
ZOO_DQN_CARTPOLE_STEPS = 50_000
CARTPOLE_STACK = 4
# CartPole's observation is (x, x_dot, theta, theta_dot): keep x, theta.
CARTPOLE_POSITIONS = (0, 2)

# examples/dqn.py's constants (MinAtar commit 4241f24).
MINATAR = {
    'batch_size': 32, 'buffer_size': 100_000, 'target_update': 1000,
    'learning_starts': 5000, 'gamma': 0.99, 'learning_rate': 2.5e-4,
    'rmsprop_alpha': 0.95, 'rmsprop_eps': 0.01, 'initial_eps': 1.0,
    'final_eps': 0.1, 'anneal_steps': 100_000, 'conv_filters': 16,
    'hidden': 128,
}
# The zoo's Atari DQN (hyperparams/dqn.yml, atari), for the update timing.
ATARI_SHAPE = (4, 84, 84)
ATARI_N_ACTIONS = 4  # Breakout's minimal action set.


class MaskVelocities(gymnasium.ObservationWrapper):
    """CartPole observing the cart's position and the pole's angle only."""

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        space = env.observation_space
        index = list(CARTPOLE_POSITIONS)
        self.observation_space = gymnasium.spaces.Box(
            space.low[index], space.high[index], dtype=space.dtype)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return observation[list(CARTPOLE_POSITIONS)]


def cartpole_no_vel() -> gymnasium.Env:
    """CartPole-v1 with velocities masked and the last 4 observations stacked
    (observations of shape [4, 2])."""
    return gymnasium.wrappers.FrameStackObservation(
        MaskVelocities(gymnasium.make('CartPole-v1')), CARTPOLE_STACK)


def register_envs(env_id: str) -> None:
    """Registers env_id with gymnasium where it is not a stock env, so that
    training and evaluation (peer_common.evaluate) make it by name."""
    if env_id == CARTPOLE_NO_VEL and env_id not in gymnasium.registry:
        gymnasium.register(env_id, entry_point=cartpole_no_vel)
    if env_id in MINATAR_ENVS and env_id not in gymnasium.registry:
        import minatar.gym  # pylint: disable=import-outside-toplevel,import-error
        minatar.gym.register_envs()


def make_dqn(env_id: str, seed: int, steps: int) -> Any:
    """SB3's DQN with the settings for env_id (module docstring).

    Args:
        env_id: 'CartPole-v1', CARTPOLE_NO_VEL or one of MINATAR_ENVS.
        seed: The model's seed.
        steps: The env steps it will learn for (the epsilon schedules are
            fractions of them).

    Returns:
        A stable_baselines3.DQN on the CPU.
    """
    import stable_baselines3  # pylint: disable=import-outside-toplevel,import-error
    register_envs(env_id)
    env = gymnasium.make(env_id)
    if env_id in MINATAR_ENVS:
        return _minatar_dqn(stable_baselines3, env, seed, steps)
    return stable_baselines3.DQN(
        'MlpPolicy', env, learning_rate=2.3e-3, batch_size=64,
        buffer_size=100_000, learning_starts=1000, gamma=0.99,
        target_update_interval=10, train_freq=256, gradient_steps=128,
        exploration_fraction=0.16 * ZOO_DQN_CARTPOLE_STEPS / steps,
        exploration_final_eps=0.04, policy_kwargs={'net_arch': [256, 256]},
        seed=seed, verbose=0, device='cpu')


def minatar_epsilon(steps: int) -> Callable[[float], float]:
    """examples/dqn.py's epsilon as an SB3 schedule of a steps-long run.

    SB3 calls the schedule with the progress remaining (1 at the start, 0
    at steps); the script holds epsilon at 1 during the random steps, then
    anneals it linearly to 0.1 over the next 100,000.
    """
    def epsilon(progress_remaining: float) -> float:
        since_random = (1 - progress_remaining) * steps - MINATAR[
            'learning_starts']
        fraction = min(max(since_random / MINATAR['anneal_steps'], 0.0), 1.0)
        return MINATAR['initial_eps'] + fraction * (
            MINATAR['final_eps'] - MINATAR['initial_eps'])
    return epsilon


def minatar_extractor() -> type:
    """The features extractor of MinAtar's DQN: Conv2d(C, 16, 3x3, stride
    1) + ReLU, flatten, Linear(-> 128) + ReLU, on [10, 10, C] boolean
    observations (channels last, as MinAtar gives them)."""
    # pylint: disable=import-outside-toplevel,import-error
    import torch
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    class MinAtarFeatures(BaseFeaturesExtractor):
        """MinAtar's DQN body (examples/dqn.py's QNetwork without its
        output layer, which SB3's Q head is)."""

        def __init__(self, observation_space: gymnasium.spaces.Box):
            super().__init__(observation_space, MINATAR['hidden'])
            height, width, channels = observation_space.shape
            self.conv = torch.nn.Conv2d(channels, MINATAR['conv_filters'],
                                        kernel_size=3, stride=1)
            self.hidden = torch.nn.Linear(
                (height - 2) * (width - 2) * MINATAR['conv_filters'],
                MINATAR['hidden'])

        def forward(self, observations: Any) -> Any:  # pylint: disable=arguments-renamed
            """[batch, 10, 10, C] observations -> [batch, 128] features."""
            x = torch.relu(self.conv(observations.permute(0, 3, 1, 2)))
            return torch.relu(self.hidden(x.flatten(1)))

    return MinAtarFeatures


def _minatar_dqn(stable_baselines3: Any, env: gymnasium.Env, seed: int,
                 steps: int) -> Any:
    import torch  # pylint: disable=import-outside-toplevel,import-error
    model = stable_baselines3.DQN(
        'MlpPolicy', env, learning_rate=MINATAR['learning_rate'],
        buffer_size=MINATAR['buffer_size'],
        learning_starts=MINATAR['learning_starts'],
        batch_size=MINATAR['batch_size'], gamma=MINATAR['gamma'],
        train_freq=1, gradient_steps=1,
        target_update_interval=MINATAR['target_update'],
        # The script clips no gradients.
        max_grad_norm=float('inf'),
        policy_kwargs={
            'features_extractor_class': minatar_extractor(), 'net_arch': [],
            'normalize_images': False,
            'optimizer_class': torch.optim.RMSprop,
            'optimizer_kwargs': {'alpha': MINATAR['rmsprop_alpha'],
                                 'centered': True,
                                 'eps': MINATAR['rmsprop_eps']}},
        seed=seed, verbose=0, device='cpu')
    model.exploration_schedule = minatar_epsilon(steps)
    return model


class RandomAtari(gymnasium.Env):  # pylint: disable=abstract-method
    """An env of 4x84x84 uint8 observations: only its spaces matter (the
    update timing fills the replay directly)."""

    observation_space = gymnasium.spaces.Box(0, 255, ATARI_SHAPE, np.uint8)
    action_space = gymnasium.spaces.Discrete(ATARI_N_ACTIONS)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def time_dqn_updates(seed: int, fill: int, n_updates: int) -> float:
    """DQN.train's gradient updates per second at batch 32 on NatureCNN.

    Args:
        seed: The model's seed (and the random observations').
        fill: Random transitions put in the replay first.
        n_updates: Updates timed (after min(20, n_updates) to warm up).

    Returns:
        Updates per second.
    """
    # pylint: disable=import-outside-toplevel,import-error
    import stable_baselines3
    from stable_baselines3.common import logger
    model = stable_baselines3.DQN(
        'CnnPolicy', RandomAtari(), learning_rate=1e-4, buffer_size=fill,
        batch_size=32, learning_starts=0, target_update_interval=1000,
        train_freq=4, gradient_steps=1, exploration_fraction=0.1,
        exploration_final_eps=0.01, optimize_memory_usage=False, seed=seed,
        verbose=0, device='cpu')
    model.set_logger(logger.configure(None, []))
    rng = np.random.default_rng(seed)
    for _ in range(fill):
        model.replay_buffer.add(
            rng.integers(0, 256, (1, *ATARI_SHAPE), np.uint8),
            rng.integers(0, 256, (1, *ATARI_SHAPE), np.uint8),
            rng.integers(ATARI_N_ACTIONS, size=(1, 1)),
            rng.random(1, np.float32), rng.random(1) < 0.01, [{}])
    model.train(gradient_steps=min(20, n_updates), batch_size=32)  # Warm-up.
    start = time.perf_counter()
    model.train(gradient_steps=n_updates, batch_size=32)
    return n_updates / (time.perf_counter() - start)
