"""The command line: ``python3 -m alpacka.runner --config_file=... --output_dir=...``."""

import argparse
import contextlib
import logging
import os
import signal
import sys
import traceback
from typing import Any, Iterator, List, Optional, Tuple

import gin

from alpacka import errors
from alpacka import metric_logging
from alpacka.runner import config_drift
from alpacka.runner import core
from alpacka.runner import failures
from alpacka.runner import ray_health
from alpacka.runner import specs
from alpacka.utils import gin_errors
from alpacka.utils import run_lock
from alpacka.utils import validation

# Exit codes: 2 for input the user can fix, 1 for a failed run, 130 for Ctrl-C.
EXIT_USER_ERROR = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(
        prog='python3 -m alpacka.runner',
        description='Runs an Alpacka experiment described by Gin configs.')
    parser.add_argument('--output_dir', required=True,
                        help='Where checkpoints, config.gin and metrics.jsonl '
                             'go; re-running on it resumes.')
    parser.add_argument('--config_file', action='append', default=[],
                        help='Gin config file; may be repeated, later ones '
                             'override earlier ones.')
    parser.add_argument('--config', action='append', default=[],
                        help='Gin binding, e.g. Runner.n_envs=8; may be '
                             'repeated; applied after the files.')
    parser.add_argument('--mrunner', action='store_true',
                        help='Take the last --config value as the path to an '
                             'mrunner experiment specification (a pickled '
                             'experiment, or a spec file: its first '
                             'experiment runs). Its parameters become Gin '
                             'bindings, applied before the other --config '
                             'values; with_neptune=True turns on Neptune.')
    parser.add_argument('--tensorboard', action='store_true',
                        help='Also log metrics to TensorBoard, under '
                             '<output_dir>.')
    parser.add_argument('--neptune', action='store_true',
                        help='Also log metrics to Neptune (project from the '
                             'mrunner spec or NEPTUNE_PROJECT; token from '
                             'NEPTUNE_API_TOKEN).')
    parser.add_argument('--allow_config_change', action='store_true',
                        help='Resume a run whose config.gin has other '
                             'bindings than this command, under the new '
                             'ones (recorded in <output_dir>/config_changes; '
                             'config.gin is kept). Without it such a re-run '
                             'is refused.')
    parser.add_argument('--debug', action='store_true',
                        help='Show full tracebacks for every error.')
    return parser.parse_args(argv)


class _IncludeSearchFilter(logging.Filter):
    """Drops the line Gin logs for each search path an include is not in."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith('Path not found')


@contextlib.contextmanager
def _quiet_include_search() -> Iterator[None]:
    """Keeps Gin's per-search-path misses of an include off the screen (a
    file found nowhere is still an error, with its own message)."""
    root_logger = logging.getLogger()
    search_filter = _IncludeSearchFilter()
    root_logger.addFilter(search_filter)
    try:
        yield
    finally:
        root_logger.removeFilter(search_filter)


def parse_gin(config_files: List[str], bindings: List[str]) -> None:
    """Parses config files and bindings, later ones overriding earlier ones.

    Raises:
        ConfigError: a file is missing or a binding is wrong; the message
            names it and suggests the closest valid name.
    """
    for config_file in config_files:
        if os.path.isdir(config_file):
            raise errors.ConfigError(
                f'Config file {config_file} is a directory, not a file. '
                f'Give one of its .gin files to --config_file (repeat the '
                f'flag for several).')
        if not os.path.isfile(config_file):
            raise errors.ConfigError(
                f'Config file {config_file} does not exist (working '
                f'directory: {os.getcwd()}).')
    # Let `import my_module` in a .gin file find modules next to the caller.
    if os.getcwd() not in sys.path and '' not in sys.path:
        sys.path.insert(0, os.getcwd())
    # Let `include 'other.gin'` find files next to the including one.
    for config_dir in dict.fromkeys(os.path.dirname(os.path.abspath(path))
                                    for path in config_files):
        gin.add_config_file_search_path(config_dir)
    try:
        with _quiet_include_search():
            gin.parse_config_files_and_bindings(config_files, [],
                                                finalize_config=False)
        # One at a time, so an unclosed bracket in one binding does not
        # swallow the next, and an error names the binding it is in.
        for binding in bindings:
            gin.parse_config(binding)
    except Exception as error:  # pylint: disable=broad-except
        # Gin lets the tokenizer's and the imported modules' errors through.
        raise errors.ConfigError(gin_errors.explain(error)) from error


def _report(message: str) -> None:
    print(f'alpacka: error: {message}', file=sys.stderr)


def load_mrunner_spec(bindings: List[str]) -> Tuple[Any, List[str]]:
    """Takes the mrunner spec named by the last binding (for ``--mrunner``).

    Args:
        bindings: The --config values; the last one is the spec's path.

    Returns:
        ``(run, bindings)``: the spec's first experiment (an
        alpacka.experiments.specs.MrunnerRun) and the Gin bindings to parse,
        the spec's parameters first, then the other --config values.

    Raises:
        ConfigError: there is no --config value, or the spec cannot be
            loaded.
    """
    if not bindings:
        raise errors.ConfigError(
            '--mrunner takes the path of an mrunner experiment specification '
            'as the last --config value, e.g. --mrunner '
            '--config=alpacka/configs/shooting_sweep.py.')
    spec_path = bindings[-1]
    mrunner_run = specs.load_for_mrunner(spec_path)
    name = mrunner_run.experiment.get('name') or 'unnamed'
    if mrunner_run.n_experiments > 1:
        print(f'alpacka: the specification {spec_path} holds '
              f'{mrunner_run.n_experiments} experiments; running only the '
              f'first ({name}). Run them all with python3 -m alpacka.sweep.',
              file=sys.stderr)
    else:
        print(f'alpacka: running the experiment {name} of the specification '
              f'{spec_path}.', file=sys.stderr)
    return mrunner_run, mrunner_run.bindings + bindings[:-1]


def setup_extra_loggers(args: argparse.Namespace, output_dir: str,
                        mrunner_run: Any = None) -> list:
    """Registers the TensorBoard and Neptune loggers that were asked for.

    Neptune is on with --neptune, or with --mrunner when the spec says
    with_neptune; the spec's project (else NEPTUNE_PROJECT), name and tags go
    to it, and its parameters are the Gin bindings parsed so far (the
    spec's, overridden by any explicit --config).

    Returns:
        The registered loggers (for metric_logging.close_loggers).

    Raises:
        UserError: --tensorboard, but TensorBoard cannot be imported.
    """
    experiment = mrunner_run.experiment if mrunner_run is not None else {}
    neptune = args.neptune or bool(experiment.get('with_neptune'))
    if not (args.tensorboard or neptune):
        return []
    try:
        return metric_logging.setup_loggers(
            output_dir, tensorboard=args.tensorboard, neptune=neptune,
            neptune_project=(experiment.get('project') or
                             os.environ.get('NEPTUNE_PROJECT')),
            run_name=experiment.get('name'),
            tags=experiment.get('tags') or ())
    except ImportError as error:
        if not args.tensorboard:
            raise
        raise errors.UserError(
            f'--tensorboard needs TensorFlow and TensorBoard: {error}. '
            f'Install them (pip install tensorflow-cpu) or leave out '
            f'--tensorboard.') from error


def run(args: argparse.Namespace) -> int:
    """Runs the experiment described by parsed arguments.

    Nothing is written to the output directory before the config is parsed,
    the directory locked (one run per directory), the bindings compared to
    a resumed run's (config_drift) and the Runner built.

    Returns:
        The process exit code.

    Raises:
        UserError: the experiment cannot be built from its config (any
            exception of the build phase becomes a ConfigError).
        RunFailure: the run failed after it started.
        LostRayNode: the run (or its build) failed because its Ray node was
            lost (when Ray ends this process itself instead, the watcher of
            ray_health reports it).
    """
    bindings = list(args.config)
    mrunner_run = None
    if args.mrunner:
        mrunner_run, bindings = load_mrunner_spec(bindings)
    parse_gin(args.config_file, bindings)
    # An invalid value is named as such before any comparison with a run.
    validation.check_bindings()
    output_dir = os.path.abspath(os.path.expanduser(args.output_dir))
    with run_lock.RunLock(output_dir), \
            ray_health.NodeWatch(output_dir) as node_watch:
        try:
            _build_and_run(args, output_dir, mrunner_run)
        except Exception as error:
            # A lost Ray node shows as whatever Ray raised first.
            node = (node_watch.lost_node() if ray_health.raised_by_ray(error)
                    else None)
            if node is not None:
                raise failures.LostRayNode(node, output_dir) from error
            raise
    return 0


def _build_and_run(args: argparse.Namespace, output_dir: str,
                   mrunner_run: Any) -> None:
    """Builds the Runner and runs it, in the locked output directory."""
    resume = config_drift.check(output_dir, args.allow_config_change)
    loggers_before = metric_logging.registered_loggers()
    metric_logging.register_logger(metric_logging.StdoutLogger())
    try:
        with failures.building_experiment():
            runner = core.Runner(output_dir)
            try:
                config_drift.record(output_dir, resume)
                setup_extra_loggers(args, output_dir, mrunner_run)
            except BaseException:
                runner.close()
                raise
        _run_or_fail(runner)
    finally:
        _close_loggers_since(loggers_before)


def _run_or_fail(runner: core.Runner) -> None:
    """runner.run(), an epoch's failure raised as the Runner's RunFailure."""
    try:
        runner.run()
    except BrokenPipeError:
        raise  # The reader of stdout quit: main stops quietly.
    except Exception as error:  # pylint: disable=broad-except
        if runner.failure is None or runner.failure.cause is not error:
            raise
        raise runner.failure from error


def _close_loggers_since(loggers_before: List[Any]) -> None:
    """Unregisters and closes the loggers registered since loggers_before:
    the stdout and extra loggers, and the metrics logger of a Runner that
    failed to build (main may run in-process, more than once)."""
    for logger in metric_logging.registered_loggers():
        if not any(logger is old for old in loggers_before):
            metric_logging.unregister_logger(logger)
            if hasattr(logger, 'close'):
                logger.close()


def _interrupt(signum: int, frame: Any) -> None:
    del signum, frame
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code (see EXIT_*).

    SIGTERM (what schedulers send to pre-empt a job) stops the run like
    Ctrl-C: the last completed epoch is checkpointed.
    """
    args = parse_args(argv)
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout was piped into a reader that quit (e.g. `| head`): stop
        # quietly, keeping the checkpoints written so far. Point stdout at
        # /dev/null so the interpreter's final flush stays quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except errors.UserError as error:
        if args.debug:
            traceback.print_exc()
        _report(failures.one_paragraph(error))
        return EXIT_USER_ERROR
    except (errors.CorruptCheckpointError, errors.RayUnavailableError) as error:
        if args.debug:
            traceback.print_exc()
        _report(f'{failures.one_paragraph(error)} The output directory was '
                f'left as it was.')
        return EXIT_FAILURE
    except failures.LostRayNode as lost:
        if args.debug:
            traceback.print_exc()
        error_log = failures.write_error_log(lost.output_dir, lost)
        _report(f'{lost} The details are in {error_log}.' if error_log
                else str(lost))
        return EXIT_FAILURE
    except failures.RunFailure as failure:
        if args.debug:
            traceback.print_exc()
        error_log = failures.write_error_log(
            os.path.abspath(os.path.expanduser(args.output_dir)), failure)
        _report(failure.paragraph(error_log))
        return EXIT_FAILURE
    except Exception as error:  # pylint: disable=broad-except
        # Only the CLI's own steps get here (the build and the run phases
        # raise the errors above); keep the traceback of such a bug.
        traceback.print_exc()
        _report(f'the run failed with {type(error).__name__}: '
                f'{failures.one_paragraph(error)}')
        return EXIT_FAILURE
    finally:
        # main may be called in-process (tests, notebooks): leave SIGTERM
        # as it was.
        signal.signal(signal.SIGTERM, previous_handler)
