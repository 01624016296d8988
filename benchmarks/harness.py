"""A multi-seed learning benchmark: contenders x seeds, scored at fixed env-step budgets.

Each contender ("side") is a command that learns for one seed and reports
evaluations as it goes: an Alpacka config through ``python -m
alpacka.runner`` (its EvaluationCallback's ``eval_episode/return_mean`` at
each epoch's ``counters/env_steps``), or a peer script in its own virtualenv
printing JSON lines ``{"steps", "eval_return", "train_s"}`` (see
peer_common.py). The harness runs every (side, seed) pair as a subprocess,
``--jobs`` at a time, interleaving the sides seed by seed so that each side
meets the same machine load, with every process held to one thread (the
same for everyone: OMP, MKL, TensorFlow's and XLA's thread pools) and, where
there are as many cores as jobs, to a core of its own.

It reports, per side and budget, the interquartile mean of the evaluation
return over seeds with its stratified-bootstrap 95% confidence interval
(``alpacka.metric_logging.aggregation``, the protocol of Agarwal et al.
2021), the same for the training wall time to that budget (collection and
updates; start-up and evaluation excluded), and the per-seed table. A
side's score at a budget is its evaluation at exactly that many env steps,
or else the last one before it.

Results go to ``<root>/results.json`` as they come; re-running with the same
``--root`` skips the (side, seed) pairs already done, so a report can be
redrawn with other budgets, or more seeds added, without re-running.

Usage (see sac_pendulum.py and sac_cartpole.py for complete benchmarks):
    python benchmarks/harness.py --root /tmp/bench \\
        --alpacka alpacka=alpacka/configs/sac_pendulum.gin --steps 5000 \\
        --seeds 10 --budgets 2000 3000 [--config BINDING ...]
"""

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import (Callable, Dict, List, NamedTuple, Optional, Sequence,
                    Tuple)

import numpy as np

from alpacka import metric_logging
from alpacka.metric_logging import aggregation

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVAL_RETURN = 'eval_episode/return_mean'

# One thread per process, for every framework: the runs share 2 cores.
ONE_THREAD = {
    'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1',
    'OPENBLAS_NUM_THREADS': '1', 'TF_NUM_INTRAOP_THREADS': '1',
    'TF_NUM_INTEROP_THREADS': '1', 'TF_CPP_MIN_LOG_LEVEL': '3',
    'XLA_FLAGS': ('--xla_cpu_multi_thread_eigen=false '
                  'intra_op_parallelism_threads=1'),
}

# [{'steps', 'eval_return', 'train_s'}], in order of steps.
Points = List[Dict[str, float]]


class Side(NamedTuple):
    """A contender.

    Attributes:
        name: Its label in the tables.
        command: ``command(seed, run_dir)``: the argv that learns one seed,
            run with the working directory REPO_ROOT.
        read: ``read(run_dir, stdout)``: the evaluations of a finished run.
        n_cpus: Cores a run gets to itself (an asynchronous run's collectors
            and learner are separate processes).
    """
    name: str
    command: Callable[[int, str], List[str]]
    read: Callable[[str, str], Points]
    n_cpus: int = 1


def alpacka_points(run_dir: str) -> Points:
    """The evaluations of an Alpacka run, with the training time until each.

    Args:
        run_dir: The run's --output_dir.

    Returns:
        One point per evaluated epoch: ``steps`` (counters/env_steps),
        ``eval_return`` (eval_episode/return_mean) and ``train_s``, the sum
        of ``time/epoch_s - time/callbacks_s`` over the epochs up to it
        (collection and training; the evaluation callback excluded).
    """
    series = metric_logging.read_series(run_dir)
    points, train_s = [], 0.0
    for epoch in sorted(series.get('time/epoch_s', {})):
        train_s += (series['time/epoch_s'][epoch] -
                    series.get('time/callbacks_s', {}).get(epoch, 0.0))
        evaluation = series.get(EVAL_RETURN, {}).get(epoch)
        if evaluation is not None:
            points.append({'steps': series['counters/env_steps'][epoch],
                           'eval_return': evaluation, 'train_s': train_s})
    return points


def alpacka_side(name: str, config_file: str, steps: int,
                 steps_per_epoch: int, bindings: Sequence[str] = (),
                 n_cpus: int = 1) -> Side:
    """An Alpacka config as a contender, run for ``steps`` env steps.

    Args:
        name: Its label.
        config_file: The Gin config (relative to the repository or absolute).
        steps: Env steps to learn for; ``steps // steps_per_epoch`` epochs.
        steps_per_epoch: The config's ``Runner.env_steps_per_epoch``.
        bindings: Extra Gin bindings.
        n_cpus: Cores each run gets (see Side).

    Returns:
        The Side.
    """
    def command(seed: int, run_dir: str) -> List[str]:
        return [sys.executable, '-m', 'alpacka.runner',
                f'--config_file={config_file}', f'--output_dir={run_dir}',
                f'--config=Runner.seed={seed}',
                f'--config=Runner.n_epochs={steps // steps_per_epoch}',
                *(f'--config={binding}' for binding in bindings)]

    return Side(name, command, lambda run_dir, stdout: alpacka_points(run_dir),
                n_cpus)


def json_lines_points(stdout: str) -> Points:
    """The ``{"steps", "eval_return", "train_s"}`` lines a peer printed."""
    points = []
    for line in stdout.splitlines():
        if line.startswith('{'):
            record = json.loads(line)
            if 'eval_return' in record:
                points.append(record)
    return points


def peer_side(name: str, python: str, script: str,
              arguments: Sequence[str]) -> Side:
    """A peer script in its own virtualenv as a contender.

    Args:
        name: Its label.
        python: The virtualenv's interpreter (see peer_venvs.py).
        script: The peer script (e.g. benchmarks/sb3_peer.py).
        arguments: Its arguments; ``--seed S`` is appended.

    Returns:
        The Side.
    """
    def command(seed: int, run_dir: str) -> List[str]:
        del run_dir
        return [python, script, *arguments, '--seed', str(seed)]

    return Side(name, command, lambda run_dir, stdout: json_lines_points(
        stdout))


class Results:
    """The points of every (side, seed) run, kept in ``<root>/results.json``.

    Args:
        root: The benchmark's directory (runs go below it).
    """

    def __init__(self, root: str):
        self.root = root
        self.path = os.path.join(root, 'results.json')
        self._points: Dict[str, Dict[str, Points]] = {}
        if os.path.exists(self.path):
            with open(self.path, encoding='utf-8') as results_file:
                self._points = json.load(results_file)

    def has(self, side: str, seed: int) -> bool:
        """Whether that run is done."""
        return str(seed) in self._points.get(side, {})

    def points(self, side: str, seed: int) -> Points:
        """That run's points."""
        return self._points[side][str(seed)]

    def add(self, side: str, seed: int, points: Points) -> None:
        """Records a finished run (written through at once)."""
        self._points.setdefault(side, {})[str(seed)] = points
        temporary = self.path + '.tmp'
        with open(temporary, 'w', encoding='utf-8') as results_file:
            json.dump(self._points, results_file, indent=1)
        os.replace(temporary, self.path)


def _cpu_slots(jobs: int) -> List[Optional[int]]:
    """A CPU for each of jobs runs at once, or None each where there are
    fewer CPUs (or no affinity control): each run gets a core of its own,
    so that no contender's threads share one with another's."""
    if not hasattr(os, 'sched_getaffinity'):
        return [None] * jobs
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[:jobs] if jobs <= len(cpus) else [None] * jobs


def _take_cpus(free_cpus: List[Optional[int]], n_cpus: int
               ) -> Optional[List[Optional[int]]]:
    """n_cpus of the free slots (removed from free_cpus), or None if there
    are not that many free now."""
    if len(free_cpus) < n_cpus:
        return None
    taken = free_cpus[:n_cpus]
    del free_cpus[:n_cpus]
    return taken


def _affinity(cpus: List[Optional[int]]) -> Optional[Callable[[], None]]:
    """The preexec_fn that pins a run to cpus (None: no pinning)."""
    if None in cpus:
        return None
    return functools.partial(os.sched_setaffinity, 0, set(cpus))


def run_all(sides: Sequence[Side], seeds: Sequence[int], results: Results,
            jobs: int = 2) -> List[str]:
    """Runs every (side, seed) pair not yet in results, jobs at a time.

    Args:
        sides: The contenders.
        seeds: The seeds.
        results: Where finished runs are recorded.
        jobs: Runs at once.

    Returns:
        One line per failed run (its command's exit code and last stderr
        line; the run's files stay under the root).
    """
    queue = [(side, seed) for seed in seeds for side in sides
             if not results.has(side.name, seed)]
    running, failures = [], []
    environment = dict(os.environ, **ONE_THREAD)
    total, started = len(queue), time.time()
    free_cpus = _cpu_slots(max(jobs, max(side.n_cpus for side in sides)))
    slots = len(free_cpus)
    while queue or running:
        while queue and len(running) < jobs:
            side, seed = queue[0]
            cpu = _take_cpus(free_cpus, min(side.n_cpus, slots))
            if cpu is None:
                break  # Wait for a run to give its cores back.
            queue.pop(0)
            run_dir = os.path.join(results.root, side.name, f'seed{seed}')
            # Left by an interrupted harness: each result is one whole run.
            shutil.rmtree(run_dir, ignore_errors=True)
            os.makedirs(run_dir)
            stdout = open(os.path.join(run_dir, 'stdout.txt'), 'w',  # pylint: disable=consider-using-with
                          encoding='utf-8')
            stderr = open(os.path.join(run_dir, 'stderr.txt'), 'w',  # pylint: disable=consider-using-with
                          encoding='utf-8')
            # The harness has no threads, so preexec_fn is safe here.
            process = subprocess.Popen(  # pylint: disable=consider-using-with,subprocess-popen-preexec-fn
                side.command(seed, os.path.join(run_dir, 'run')),
                cwd=REPO_ROOT, env=environment, stdout=stdout, stderr=stderr,
                preexec_fn=_affinity(cpu))
            running.append((side, seed, run_dir, process, stdout, stderr,
                            cpu))
        time.sleep(0.5)
        for entry in list(running):
            side, seed, run_dir, process, stdout, stderr, cpu = entry
            if process.poll() is None:
                continue
            running.remove(entry)
            free_cpus.extend(cpu)
            stdout.close()
            stderr.close()
            if process.returncode != 0:
                with open(stderr.name, encoding='utf-8') as error_file:
                    last = (error_file.read().strip().splitlines() or
                            ['(no stderr)'])[-1]
                failures.append(f'{side.name} seed {seed}: exit '
                                f'{process.returncode}: {last}')
                continue
            with open(stdout.name, encoding='utf-8') as output_file:
                points = side.read(os.path.join(run_dir, 'run'),
                                   output_file.read())
            results.add(side.name, seed, points)
            done = total - len(queue) - len(running)
            print(f'  [{done}/{total}, {time.time() - started:.0f} s] '
                  f'{side.name} seed {seed}: ' + ', '.join(
                      f'{point["eval_return"]:.0f}@{point["steps"]:.0f}'
                      for point in points[-3:]), flush=True)
    return failures


def point_at(points: Points, budget: float) -> Optional[Dict[str, float]]:
    """The evaluation at exactly budget env steps, else the last before it."""
    before = [point for point in points if point['steps'] <= budget]
    return before[-1] if before else None


def score_table(results: Results, side: str, seeds: Sequence[int],
                budgets: Sequence[float], key: str = 'eval_return'
                ) -> np.ndarray:
    """[seeds, budgets] of key at each budget (NaN: no run or no point)."""
    table = np.full((len(seeds), len(budgets)), np.nan)
    for row, seed in enumerate(seeds):
        if results.has(side, seed):
            for column, budget in enumerate(budgets):
                point = point_at(results.points(side, seed), budget)
                if point is not None:
                    table[row, column] = point[key]
    return table


def estimate(values: np.ndarray) -> Optional[aggregation.Estimate]:
    """IQM and its 95% interval over the finite values (None: none)."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    return aggregation.interval_estimate(values, 'iqm', reps=10_000, seed=0)


def report(results: Results, sides: Sequence[str], seeds: Sequence[int],
           budgets: Sequence[float], time_budget: Optional[float] = None,
           reference: Optional[str] = None) -> Dict[str, dict]:
    """Prints the aggregate and per-seed tables; returns the aggregates.

    Args:
        results: The runs.
        sides: Side names, in table order.
        seeds: The seeds.
        budgets: Env-step budgets to score at.
        time_budget: The budget whose training wall time is compared (None:
            the last budget).
        reference: A side to compare every other side with: whether its
            intervals overlap (None: the first side).

    Returns:
        ``{side: {'return': {budget: Estimate}, 'train_s': Estimate,
        'n_seeds': int}}``.
    """
    time_budget = budgets[-1] if time_budget is None else time_budget
    reference = reference or sides[0]
    tables = {side: (score_table(results, side, seeds, budgets),
                     score_table(results, side, seeds, [time_budget],
                                 'train_s')) for side in sides}
    aggregates = {}
    for side in sides:
        returns, times = tables[side]
        aggregates[side] = {
            'return': {budget: estimate(returns[:, column])
                       for column, budget in enumerate(budgets)},
            'train_s': estimate(times[:, 0]),
            'n_seeds': int(np.isfinite(returns).any(axis=1).sum())}
    header = ' | '.join(f'return at {budget:,.0f}' for budget in budgets)
    print(f'\nIQM over seeds [95% stratified-bootstrap CI]:\n'
          f'| side | seeds | {header} | train s to {time_budget:,.0f} |')
    print('|' + ' --- |' * (len(budgets) + 3))
    for side in sides:
        cells = [str(value) if value else 'no runs' for value in
                 aggregates[side]['return'].values()]
        train = aggregates[side]['train_s']
        print(f'| {side} | {aggregates[side]["n_seeds"]} | '
              f'{" | ".join(cells)} | {train or "no runs"} |')
    for side in sides:
        if side == reference:
            continue
        for budget in budgets:
            ours = aggregates[reference]['return'][budget]
            theirs = aggregates[side]['return'][budget]
            if ours and theirs:
                verdict = ('overlap' if ours.overlaps(theirs) else
                           'higher, intervals apart' if ours.point > theirs.point
                           else 'lower, intervals apart')
                print(f'{reference} vs {side} at {budget:,.0f}: {verdict}')
        ours, theirs = (aggregates[reference]['train_s'],
                        aggregates[side]['train_s'])
        if ours and theirs:
            print(f'{reference} vs {side}, train time to {time_budget:,.0f}: '
                  f'{ours.point / theirs.point:.2f}x')
    print('\nPer seed: return at ' + ', '.join(f'{b:,.0f}' for b in budgets) +
          f'; train s to {time_budget:,.0f}')
    for side in sides:
        returns, times = tables[side]
        print(f'  {side}:')
        for seed, row, seconds in zip(seeds, returns, times[:, 0]):
            print(f'    seed {seed}: ' + ' / '.join(
                f'{value:.0f}' for value in row) + f'; {seconds:.1f} s')
    return aggregates


def first_reaching(points: Points, goal: float
                   ) -> Optional[Dict[str, float]]:
    """The first evaluation whose return is goal or more (None: none)."""
    return next((point for point in points if point['eval_return'] >= goal),
                None)


def goal_report(results: Results, sides: Sequence[str], seeds: Sequence[int],
                goal: float) -> Dict[str, dict]:
    """Prints, per side, the env steps and training wall time to the first
    evaluation of goal or more; returns them.

    A seed that never reaches goal counts as never (infinitely many steps),
    so a median is "not reached" when half the seeds or more did not reach it.

    Args:
        results: The runs.
        sides: Side names, in table order.
        seeds: The seeds.
        goal: The evaluation return to reach.

    Returns:
        ``{side: {'steps': median or None, 'train_s': median or None,
        'reached': seeds that reached goal, 'n_seeds': seeds run,
        'best': [best evaluation of each seed run]}}``.
    """
    summary = {}
    print(f'\nFirst evaluation of {goal:g} or more (median over seeds; '
          f'never: not reached):\n| side | reached | env steps | train s | '
          f'best evaluation per seed |\n| --- | --- | --- | --- | --- |')
    for side in sides:
        runs = [results.points(side, seed) for seed in seeds
                if results.has(side, seed)]
        hits = [first_reaching(points, goal) for points in runs]
        medians = {key: float(np.median([np.inf if hit is None else hit[key]
                                         for hit in hits])) if hits else np.inf
                   for key in ('steps', 'train_s')}
        summary[side] = {
            **{key: None if np.isinf(value) else value
               for key, value in medians.items()},
            'reached': sum(hit is not None for hit in hits),
            'n_seeds': len(runs),
            'best': [max((point['eval_return'] for point in points),
                         default=float('nan')) for points in runs]}
        cells = [f'{summary[side]["steps"]:,.0f}' if summary[side]['steps']
                 is not None else 'never',
                 f'{summary[side]["train_s"]:.1f}' if summary[side][
                     'train_s'] is not None else 'never']
        print(f'| {side} | {summary[side]["reached"]}/{len(runs)} | '
              f'{" | ".join(cells)} | '
              f'{", ".join(f"{best:.0f}" for best in summary[side]["best"])}'
              ' |')
    reference = sides[0] if sides else None
    for side in sides[1:]:
        ours, theirs = summary[reference], summary[side]
        if ours['steps'] is not None and theirs['steps'] is not None:
            print(f'{reference} vs {side} to {goal:g}: '
                  f'{ours["steps"] / theirs["steps"]:.2f}x the env steps, '
                  f'{ours["train_s"] / theirs["train_s"]:.2f}x the train time')
    return summary


def config_steps_per_epoch(config_file: str) -> int:
    """The ``Runner.env_steps_per_epoch`` a Gin config binds, its includes
    followed (a binding after an include overrides the included one).

    Args:
        config_file: The config (relative to the repository or absolute).

    Raises:
        ValueError: if neither the file nor its includes bind it (pass the
            number explicitly).
    """
    found = _bound_steps_per_epoch(os.path.join(REPO_ROOT, config_file))
    if found is None:
        raise ValueError(f'{config_file} does not bind '
                         f'Runner.env_steps_per_epoch; give the number of '
                         f'env steps per epoch explicitly')
    return found


_INCLUDE = re.compile(r"""^\s*include\s+['"]([^'"]+)['"]""")
_STEPS_PER_EPOCH = re.compile(
    r'^\s*Runner\.env_steps_per_epoch\s*=\s*([0-9_]+)\s*(?:#.*)?$')


def _bound_steps_per_epoch(path: str) -> Optional[int]:
    """config_steps_per_epoch's value in the file at path (None: unbound);
    includes are relative to the including file, else to the repository."""
    found = None
    with open(path, encoding='utf-8') as config:
        for line in config:
            include, binding = _INCLUDE.match(line), _STEPS_PER_EPOCH.match(
                line)
            if include:
                beside = os.path.join(os.path.dirname(path), include.group(1))
                found = _bound_steps_per_epoch(
                    beside if os.path.exists(beside) else
                    os.path.join(REPO_ROOT, include.group(1))) or found
            elif binding:
                found = int(binding.group(1))
    return found


def add_protocol_arguments(parser: argparse.ArgumentParser,
                           seeds: int = 10, first_seed: int = 0) -> None:
    """The flags every multi-seed benchmark shares.

    Args:
        parser: Where to add them.
        seeds: The default number of seeds.
        first_seed: The default first seed (a benchmark whose config was
            chosen on seeds 0..k-1 reports on seeds it was not chosen on).
    """
    parser.add_argument('--root', default=None,
                        help='directory for the runs and results.json '
                             '(default: a new temporary directory); an '
                             'existing one is resumed')
    parser.add_argument('--seeds', type=int, default=seeds,
                        help='the number of seeds (default %(default)s)')
    parser.add_argument('--first_seed', type=int, default=first_seed,
                        help='seeds first_seed .. first_seed + seeds - 1 '
                             '(default %(default)s)')
    parser.add_argument('--jobs', type=int, default=2,
                        help='runs at once (default %(default)s)')
    parser.add_argument('--sides', nargs='+', default=None,
                        help='only these contenders (default: all)')


def peer_sides(peers: Sequence[Tuple[str, str, Sequence[str]]]
               ) -> List[Side]:
    """The peers whose virtualenvs can be made; the others are named.

    Args:
        peers: ``(side name, peer virtualenv name, script arguments)``.

    Returns:
        Sides for the peers that can run; for each that cannot, a line
        saying why is printed and it is left out.
    """
    import peer_venvs  # pylint: disable=import-outside-toplevel
    sides = []
    for name, venv, arguments in peers:
        python, why_not = peer_venvs.peer_python(venv)
        if python is None:
            print(f'{name} skipped: {why_not}.', flush=True)
            continue
        sides.append(peer_side(name, python, peer_venvs.peer_script(venv),
                               arguments))
    return sides


def run_protocol(args: argparse.Namespace, sides: Sequence[Side],
                 budgets: Sequence[float], time_budget: float,
                 goal: Optional[float] = None) -> Dict[str, dict]:
    """Runs the sides over the seeds of args and prints the report.

    Args:
        args: Parsed add_protocol_arguments flags.
        sides: The contenders; the first is the reference of the report.
        budgets: Env-step budgets the returns are scored at.
        time_budget: The budget whose training time is compared.
        goal: Also print goal_report for this evaluation return (None: no).

    Returns:
        report's aggregates; with a goal, each side's also holds
        goal_report's summary under 'goal'.
    """
    if args.sides:
        sides = [side for side in sides if side.name in args.sides]
    root = args.root or tempfile.mkdtemp(prefix='alpacka_bench_')
    print(f'Runs in {root}; {len(sides)} contenders x {args.seeds} seeds, '
          f'{args.jobs} at a time, one thread each; load average '
          f'{os.getloadavg()[0]:.2f}.', flush=True)
    results = Results(root)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    started = time.time()
    for failure in run_all(sides, seeds, results, args.jobs):
        print(f'FAILED: {failure}')
    print(f'{time.time() - started:.0f} s of runs; load average after '
          f'{os.getloadavg()[0]:.2f}.')
    names = [side.name for side in sides]
    aggregates = report(results, names, seeds, budgets, time_budget)
    if goal is not None:
        for name, summary in goal_report(results, names, seeds, goal).items():
            aggregates[name]['goal'] = summary
    return aggregates


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Runs Alpacka contenders given on the command line and reports."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    add_protocol_arguments(parser)
    parser.add_argument('--alpacka', action='append', default=[],
                        metavar='NAME=CONFIG', help='an Alpacka contender')
    parser.add_argument('--config', action='append', default=[],
                        metavar='NAME:BINDING',
                        help='a Gin binding for the contender NAME')
    parser.add_argument('--steps', type=int, required=True)
    parser.add_argument('--steps_per_epoch', type=int, default=500)
    parser.add_argument('--budgets', type=float, nargs='+', required=True)
    args = parser.parse_args(argv)
    sides = []
    for contender in args.alpacka:
        name, config_file = contender.split('=', 1)
        bindings = [binding.split(':', 1)[1] for binding in args.config
                    if binding.split(':', 1)[0] == name]
        sides.append(alpacka_side(name, config_file, args.steps,
                                  args.steps_per_epoch, bindings))
    run_protocol(args, sides, args.budgets, args.budgets[-1])


if __name__ == '__main__':
    main()
