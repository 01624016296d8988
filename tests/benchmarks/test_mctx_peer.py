"""The mctx peer of the search-speed benchmark, from Alpacka's virtualenv:
its CartPole dynamics (written for JAX, run here on numpy) against
alpacka.envs.CartPole, and mcts_speed's fallback when mctx cannot run."""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), 'benchmarks'))
import mcts_speed  # pylint: disable=wrong-import-position,import-error
import mctx_peer  # pylint: disable=wrong-import-position,import-error
import peer_venvs  # pylint: disable=wrong-import-position,import-error
from alpacka import envs  # pylint: disable=wrong-import-position


def test_jax_cartpole_dynamics_match_the_env():
    # cartpole_step takes the array module: numpy has every function it uses.
    env = envs.CartPole()
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    states, actions, expected, ends = [], [], [], []
    for _ in range(200):
        action = int(rng.integers(2))
        state = env.clone_state()
        _, _, terminated, _, _ = env.step(action)
        states.append(state[:4])
        actions.append(action)
        expected.append(env.clone_state()[:4])
        ends.append(terminated)
        if terminated:
            env.reset(seed=int(rng.integers(1000)))
    next_states, terminated = mctx_peer.cartpole_step(
        np, np.array(states), np.array(actions))
    np.testing.assert_allclose(next_states, np.array(expected), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_array_equal(terminated, ends)
    assert any(ends) and not all(ends)


def test_speed_benchmark_falls_back_to_labelled_figures(tmp_path, monkeypatch):
    # No virtualenv and installing disabled: the earlier figures, labelled.
    monkeypatch.setattr(peer_venvs, 'CACHE_DIR', str(tmp_path))
    figures, label = mcts_speed.measure_mctx(50, 1, install=False)
    assert figures == mcts_speed.MCTX_FALLBACK
    assert label.startswith('not measured (') and 'earlier run' in label
    assert 'installing disabled' in label and '\n' not in label
    # A Python without JAX: the peer fails, and the reason is its last line.
    figures, label = mcts_speed.measure_mctx(50, 1, python=sys.executable)
    assert figures == mcts_speed.MCTX_FALLBACK
    assert 'mctx_peer.py --network mlp failed' in label
    assert 'jax' in label and '\n' not in label
