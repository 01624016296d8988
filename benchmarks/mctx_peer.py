"""DeepMind's mctx as the search-speed peer of benchmarks/mcts_speed.py (not
Alpacka code).

Runs in the 'mctx' virtualenv (peer_venvs.py: mctx with JAX on the CPU) and
imports nothing from Alpacka. It times ``mctx.muzero_policy`` (or
``gumbel_muzero_policy``) on a batch of CartPole searches whose dynamics are
written in JAX, the way mctx is meant to be used: the whole search, model
steps included, is one jit-compiled XLA program.

* Dynamics: CartPole-v1's equations (gymnasium's constants, Euler steps),
  reward 1 per step up to and including the one that ends the episode, 0
  after it; discount ``--discount`` until the episode ends, 0 from then on.
* ``--network mlp``: a 64x64 ReLU MLP from the 4 observations to a value
  and 2 policy logits (random weights, float32), evaluated at the root and
  at every simulated step, as Alpacka's agent evaluates its leaves;
  ``--network none``: zero value and uniform prior logits.
* Each search starts from ``--batch`` CartPole states drawn as gymnasium's
  reset does (uniform in [-0.05, 0.05]). The jit-compiled search is run once
  to compile it, then timed over ``--repeats`` calls (each with a fresh
  rng key), waiting for the result each time.

Prints one JSON line: ``{"policy", "network", "batch", "simulations",
"threads", "clock", "compile_s", "search_s" (median seconds per search
call, by ``--clock``: wall, or the CPU time of all the process's threads),
"sims_per_s" (batch * simulations / search_s)}``.

Usage:
    python mctx_peer.py --network mlp [--batch 16] [--simulations 50] \\
        [--repeats 30] [--policy muzero] [--threads 1] [--clock wall]
"""

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any, Callable, Dict, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common  # pylint: disable=wrong-import-position

# CartPole-v1 (gymnasium.envs.classic_control.cartpole).
GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
TOTAL_MASS = MASS_CART + MASS_POLE
LENGTH = 0.5
POLEMASS_LENGTH = MASS_POLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02
THETA_THRESHOLD = 12 * 2 * 3.141592653589793 / 360
X_THRESHOLD = 2.4

HIDDEN_SIZES = (64, 64)
N_ACTIONS = 2


def cartpole_step(jnp: Any, state: Any, action: Any) -> Tuple[Any, Any]:
    """One CartPole-v1 step of a batch.

    Args:
        jnp: jax.numpy.
        state: [B, 4] (x, x_dot, theta, theta_dot).
        action: [B] int, 1 pushes right.

    Returns:
        ``(next_state [B, 4], terminated [B] bool)``.
    """
    x, x_dot, theta, theta_dot = (state[:, i] for i in range(4))
    force = jnp.where(action == 1, FORCE_MAG, -FORCE_MAG)
    costheta, sintheta = jnp.cos(theta), jnp.sin(theta)
    temp = (force + POLEMASS_LENGTH * theta_dot ** 2 * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        LENGTH * (4.0 / 3.0 - MASS_POLE * costheta ** 2 / TOTAL_MASS))
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    next_state = jnp.stack([x + TAU * x_dot, x_dot + TAU * xacc,
                            theta + TAU * theta_dot,
                            theta_dot + TAU * thetaacc], axis=1)
    terminated = ((jnp.abs(next_state[:, 0]) > X_THRESHOLD) |
                  (jnp.abs(next_state[:, 2]) > THETA_THRESHOLD))
    return next_state, terminated


def init_mlp(jax: Any, seed: int) -> Dict[str, Any]:
    """Random weights of the 4 -> 64 -> 64 -> (value, logits) MLP."""
    sizes = (4, *HIDDEN_SIZES)
    keys = jax.random.split(jax.random.PRNGKey(seed), len(sizes) + 1)
    params = {}
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f'w{index}'] = jax.random.normal(
            keys[index], (fan_in, fan_out)) / fan_in ** 0.5
        params[f'b{index}'] = jax.numpy.zeros(fan_out)
    params['w_head'] = jax.random.normal(
        keys[-1], (sizes[-1], 1 + N_ACTIONS)) / sizes[-1] ** 0.5
    params['b_head'] = jax.numpy.zeros(1 + N_ACTIONS)
    return params


def make_evaluate(jax: Any, network: str) -> Callable:
    """``(params, state [B, 4]) -> (value [B], logits [B, 2])``."""
    jnp = jax.numpy

    def mlp(params, state):
        features = state
        for index in range(len(HIDDEN_SIZES)):
            features = jax.nn.relu(features @ params[f'w{index}'] +
                                   params[f'b{index}'])
        out = features @ params['w_head'] + params['b_head']
        return out[:, 0], out[:, 1:]

    def zero(params, state):
        del params
        batch = state.shape[0]
        return jnp.zeros(batch), jnp.zeros((batch, N_ACTIONS))

    return mlp if network == 'mlp' else zero


def make_search(jax: Any, mctx: Any, policy: str, network: str,
                n_simulations: int, discount: float) -> Callable:
    """The jit-compiled ``(params, rng_key, states [B, 4]) -> PolicyOutput``."""
    jnp = jax.numpy
    evaluate = make_evaluate(jax, network)

    def recurrent_fn(params, rng_key, action, embedding):
        del rng_key
        state, done = embedding
        next_state, terminated = cartpole_step(jnp, state, action)
        # Reward 1 up to and including the step that ends the episode.
        reward = jnp.where(done, 0.0, 1.0)
        next_done = done | terminated
        value, logits = evaluate(params, next_state)
        output = mctx.RecurrentFnOutput(
            reward=reward, discount=jnp.where(next_done, 0.0, discount),
            prior_logits=logits, value=jnp.where(next_done, 0.0, value))
        return output, (next_state, next_done)

    def search(params, rng_key, states):
        value, logits = evaluate(params, states)
        root = mctx.RootFnOutput(
            prior_logits=logits, value=value,
            embedding=(states, jnp.zeros(states.shape[0], bool)))
        if policy == 'gumbel':
            return mctx.gumbel_muzero_policy(
                params, rng_key, root, recurrent_fn,
                num_simulations=n_simulations)
        return mctx.muzero_policy(params, rng_key, root, recurrent_fn,
                                  num_simulations=n_simulations)

    return jax.jit(search)


def measure(args: argparse.Namespace) -> Dict[str, Any]:
    """Compiles and times the search; returns the JSON line's fields."""
    # Only in the mctx virtualenv, not in Alpacka's.
    import jax  # pylint: disable=import-outside-toplevel,import-error
    import mctx  # pylint: disable=import-outside-toplevel,import-error
    clock = time.process_time if args.clock == 'cpu' else time.perf_counter
    search = make_search(jax, mctx, args.policy, args.network,
                         args.simulations, args.discount)
    params = init_mlp(jax, args.seed)
    key = jax.random.PRNGKey(args.seed)
    key, reset_key = jax.random.split(key)
    states = jax.random.uniform(reset_key, (args.batch, 4), minval=-0.05,
                                maxval=0.05)
    start = clock()
    jax.block_until_ready(search(params, key, states))
    compile_s = clock() - start
    times = []
    for _ in range(args.repeats):
        key, search_key = jax.random.split(key)
        start = clock()
        jax.block_until_ready(search(params, search_key, states))
        times.append(clock() - start)
    search_s = statistics.median(times)
    return {'policy': args.policy, 'network': args.network,
            'batch': args.batch, 'simulations': args.simulations,
            'threads': args.threads, 'clock': args.clock,
            'compile_s': compile_s,
            'search_s': search_s,
            'sims_per_s': args.batch * args.simulations / search_s}


def main() -> None:
    """Parses the flags, runs the measurement, prints the JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--network', choices=['mlp', 'none'], default='mlp')
    parser.add_argument('--policy', choices=['muzero', 'gumbel'],
                        default='muzero')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--simulations', type=int, default=50)
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--discount', type=float, default=0.99)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--clock', choices=['wall', 'cpu'], default='wall',
                        help="wall time, or the process's CPU time (all its "
                             "threads)")
    peer_common.add_threads_argument(parser, default=None)
    args = parser.parse_args()
    if args.threads is not None:
        peer_common.limit_threads(args.threads, pin_cpus=True)
    print(json.dumps(measure(args)), flush=True)


if __name__ == '__main__':
    main()
