"""Asynchronous actor-learner training: overlap, learner utilisation, scaling.

Three parts, each printing its figures:

overlap: SAC at one update per env step on a Pendulum whose step burns about
    as much CPU as one learner update (cpu_burning_env.py, calibrated here
    against the measured update time), synchronous step-based Runner
    (sac_pendulum.gin) against asynchronous (sac_pendulum_async.gin), same
    agent, networks and ratio, --seeds seeds each, interleaved seed by
    seed through harness.py, one run at a time: the synchronous run on one
    core (it can use no more), the asynchronous one on two (collector and
    learner). Reports env steps/s (steps over the training wall time:
    collection and updates, evaluation excluded) and the evaluation return
    per 1,000 steps, IQM [95% CI] over seeds. The limit on two cores is 2x.
utilisation: the shipped sac_pendulum_async.gin (20,000 steps, four updates
    per step) as it is; per epoch, the fraction of wall time the learner
    spent in updates (async/learner_busy_fraction), and where the rest went:
    waiting for batches (held by the rate limiter, or sampling behind),
    parameter broadcasts, and the epoch's end (logging, evaluation,
    checkpoint).
scaling: collection only: RayCollectors of a random agent on the burning
    Pendulum, one collector against two (one env each), alternating rounds
    of --round_s seconds; env steps/s of each and the ratio (limit 2x).

Usage:
    python benchmarks/async_training.py [--parts overlap utilisation scaling]
        [--seeds 3] [--steps 5000] [--root DIR] [--round_s 10] [--rounds 3]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

import numpy as np

BENCHMARKS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCHMARKS_DIR)
import cpu_burning_env  # pylint: disable=wrong-import-position
import harness  # pylint: disable=wrong-import-position

REPO_ROOT = os.path.dirname(BENCHMARKS_DIR)
CONFIGS = os.path.join(REPO_ROOT, 'alpacka', 'configs')
SYNC_CONFIG = os.path.join(CONFIGS, 'sac_pendulum.gin')
ASYNC_CONFIG = os.path.join(CONFIGS, 'sac_pendulum_async.gin')


def _update_seconds(n_updates: int = 300) -> float:
    """Seconds per SAC update of sac_pendulum.gin's networks at batch 256,
    one thread, measured in a fresh process."""
    script = f"""
import os, sys, time, json
import gin, numpy as np
sys.path.insert(0, {REPO_ROOT!r})
from alpacka.runner import cli
from alpacka import networks, trainers, agents, envs, data
cli.parse_gin([{SYNC_CONFIG!r}], [])
env = envs.Pendulum()
signature = agents.SoftActorCriticAgent().network_signature(
    env.observation_space, env.action_space)
network = networks.SoftActorCriticNetwork(network_signature=signature)
trainer = trainers.SoftActorCriticTrainer(signature, updates_per_step=1.0,
                                          min_replay_size=0)
rng = np.random.default_rng(0)
n = 2000
trainer.add_transitions(data.Transition(
    observation=rng.normal(size=(n, 3)).astype(np.float32),
    action=rng.uniform(-2, 2, size=(n, 1)).astype(np.float32),
    reward=rng.normal(size=n).astype(np.float32), done=np.zeros(n, bool),
    next_observation=rng.normal(size=(n, 3)).astype(np.float32),
    agent_info={{}}, terminated=np.zeros(n, bool), truncated=np.zeros(n, bool)))
network.train(trainer._data_stream(network, 50), 50)
start = time.perf_counter()
network.train(trainer._data_stream(network, {n_updates}), {n_updates})
print(json.dumps((time.perf_counter() - start) / {n_updates}))
"""
    result = subprocess.run(
        [sys.executable, '-c', script], capture_output=True, text=True,
        check=True, env=dict(os.environ, **harness.ONE_THREAD))
    return float(result.stdout.strip().splitlines()[-1])


def overlap(args: argparse.Namespace) -> None:
    """The overlap part (see the module docstring)."""
    update_s = _update_seconds()
    iterations = cpu_burning_env.iterations_for(update_s)
    print(f'One SAC update (64x64, batch 256, one thread): '
          f'{update_s * 1e3:.2f} ms; the env burns {iterations:,} '
          f'iterations per step (about as long).')
    os.environ['PYTHONPATH'] = os.pathsep.join(
        [BENCHMARKS_DIR] + [path for path in
                            os.environ.get('PYTHONPATH', '').split(os.pathsep)
                            if path])
    bindings = [
        'import cpu_burning_env',
        'Runner.env_class = @benchmarks.BurningPendulum',
        f'BurningPendulum.burn_iterations = {iterations}',
        'SoftActorCriticTrainer.updates_per_step = 1.0',
        'Runner.env_steps_per_epoch = 1000',
        'EvaluationCallback.every_n_epochs = 1',
        'EvaluationCallback.n_episodes = 5']
    sides = [harness.alpacka_side('sync', SYNC_CONFIG, args.steps, 1000,
                                  bindings),
             harness.alpacka_side('async', ASYNC_CONFIG, args.steps, 1000,
                                  bindings, n_cpus=2)]
    args.jobs, args.sides = 1, None
    budgets = list(range(1000, args.steps + 1, 1000))
    harness.run_protocol(args, sides, budgets, time_budget=args.steps)
    results = harness.Results(args.root)
    rates = {side.name: [] for side in sides}
    for side in sides:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            if results.has(side.name, seed):
                points = results.points(side.name, seed)
                rates[side.name].append(points[-1]['steps'] /
                                        points[-1]['train_s'])
    sync, asynchronous = (np.array(rates[name]) for name in ('sync', 'async'))
    print(f'env steps/s per seed: sync {np.round(sync, 1).tolist()}, async '
          f'{np.round(asynchronous, 1).tolist()}')
    if len(sync) and len(sync) == len(asynchronous):
        ratios = asynchronous / sync
        print(f'async / sync env steps/s: mean {ratios.mean():.2f}x '
              f'(per seed {np.round(ratios, 2).tolist()}; limit 2x)')


def _series(run_dir: str) -> Dict[str, Dict[int, float]]:
    sys.path.insert(0, REPO_ROOT)
    from alpacka import metric_logging  # pylint: disable=import-outside-toplevel
    return metric_logging.read_series(run_dir)


def utilisation(args: argparse.Namespace) -> None:
    """The utilisation part (see the module docstring)."""
    run_dir = os.path.join(args.root, 'utilisation')
    command = [sys.executable, '-m', 'alpacka.runner',
               f'--config_file={ASYNC_CONFIG}', f'--output_dir={run_dir}']
    print('Running', ' '.join(command[1:]))
    subprocess.run(command, cwd=REPO_ROOT, check=True,
                   stdout=subprocess.DEVNULL,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
    series = _series(run_dir)
    names = ['learner_busy_fraction', 'learner_rate_limited_fraction',
             'learner_wait_fraction', 'broadcast_fraction',
             'updates_per_s', 'env_steps_per_s', 'policy_lag_mean']
    print('epoch | ' + ' | '.join(names) + ' | epoch end s')
    busy = []
    for epoch in sorted(series['async/learner_busy_fraction']):
        values = [series[f'async/{name}'][epoch] for name in names]
        epoch_end = series['time/callbacks_s'].get(epoch, 0.0)
        print(f'{epoch} | ' + ' | '.join(f'{value:.3f}' for value in values)
              + f' | {epoch_end:.2f}')
        if epoch >= 1:
            busy.append(values[0])
    print(f'learner busy fraction, epochs 1-{len(busy)} (replay warm): mean '
          f'{np.mean(busy):.3f}, min {np.min(busy):.3f}, max '
          f'{np.max(busy):.3f}')


def _collect(collectors, seconds: float) -> float:
    """Env steps/s of collectors kept busy for seconds (one chunk each in
    flight)."""
    import ray  # pylint: disable=import-outside-toplevel
    pending = {collectors.submit(index, None, 10, 0, 200, None): index
               for index in range(collectors.n_collectors)}
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        ready, _ = ray.wait(list(pending), num_returns=1)
        index = pending.pop(ready[0])
        steps += ray.get(ready[0])[0].n_steps
        pending[collectors.submit(index, None, 10, 0, 200, None)] = index
    elapsed = time.perf_counter() - start
    ray.wait(list(pending), num_returns=len(pending))
    return steps / elapsed


def scaling(args: argparse.Namespace) -> None:
    """The scaling part (see the module docstring)."""
    sys.path.insert(0, REPO_ROOT)
    import functools  # pylint: disable=import-outside-toplevel
    import ray  # pylint: disable=import-outside-toplevel
    from alpacka import agents  # pylint: disable=import-outside-toplevel
    from alpacka.batch_steppers import collectors as collectors_lib  # pylint: disable=import-outside-toplevel
    from alpacka.batch_steppers import ray as ray_stepper  # pylint: disable=import-outside-toplevel
    iterations = cpu_burning_env.iterations_for(0.003)
    env_fn = functools.partial(cpu_burning_env.BurningPendulum,
                               burn_iterations=iterations)
    ray_stepper.init_ray(num_cpus=2, temp_dir=tempfile.mkdtemp(prefix='ray'))
    try:
        pools = {n: collectors_lib.RayCollectors(
            env_fn, agents.RandomAgent, None, n_envs=1, n_collectors=n,
            num_cpus=1.0 / n) for n in (1, 2)}
        rates: Dict[int, List[float]] = {1: [], 2: []}
        for _ in range(args.rounds):
            for n, pool in pools.items():
                rates[n].append(_collect(pool, args.round_s))
        for pool in pools.values():
            pool.close()
    finally:
        ray.shutdown()
    one, two = np.array(rates[1]), np.array(rates[2])
    print(f'Collection only, burning Pendulum ({iterations:,} iterations a '
          f'step, about 3 ms), random agent, {args.rounds} rounds of '
          f'{args.round_s:g} s:')
    print(f'  1 collector: {np.round(one, 1).tolist()} env steps/s')
    print(f'  2 collectors: {np.round(two, 1).tolist()} env steps/s')
    print(f'  2 / 1: {np.mean(two / one):.2f}x (per round '
          f'{np.round(two / one, 2).tolist()}; limit 2x)')


def main() -> None:
    """Runs the parts asked for."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--parts', nargs='+',
                        default=['overlap', 'utilisation', 'scaling'],
                        choices=['overlap', 'utilisation', 'scaling'])
    harness.add_protocol_arguments(parser, seeds=3)
    parser.add_argument('--steps', type=int, default=5000)
    parser.add_argument('--round_s', type=float, default=10.0)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    args.root = args.root or tempfile.mkdtemp(prefix='async_training_')
    os.makedirs(args.root, exist_ok=True)
    parts = {'overlap': overlap, 'utilisation': utilisation,
             'scaling': scaling}
    for name in args.parts:
        print(f'== {name}')
        part_args = argparse.Namespace(**vars(args))
        if name == 'overlap':
            part_args.root = os.path.join(args.root, 'overlap')
        parts[name](part_args)
        sys.stdout.flush()


if __name__ == '__main__':
    main()
