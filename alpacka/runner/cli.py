"""The command line: ``python3 -m alpacka.runner --config_file=... --output_dir=...``."""

import argparse
import os
import sys
import traceback
from typing import List, Optional

import gin

from alpacka import metric_logging
from alpacka.runner import core
from alpacka.runner import errors
from alpacka.utils import atomic_files
from alpacka.utils import gin_errors

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
    parser.add_argument('--debug', action='store_true',
                        help='Show full tracebacks for every error.')
    return parser.parse_args(argv)


def prepare_output_dir(output_dir: str) -> str:
    """Creates the output directory and checks it is writable.

    Raises:
        OutputDirError: it cannot be created or written.
    """
    output_dir = os.path.abspath(os.path.expanduser(output_dir))
    try:
        os.makedirs(output_dir, exist_ok=True)
        with atomic_files.atomic_write(
                os.path.join(output_dir, '.write_test'), 'w') as probe:
            probe.write('ok')
        os.remove(os.path.join(output_dir, '.write_test'))
    except OSError as error:
        raise errors.OutputDirError(
            f'Cannot write to the output directory {output_dir}: '
            f'{error.strerror or error}. Choose a directory you can write '
            f'to with --output_dir.') from error
    return output_dir


def parse_gin(config_files: List[str], bindings: List[str]) -> None:
    """Parses config files and bindings, later ones overriding earlier ones.

    Raises:
        ConfigError: a file is missing or a binding is wrong; the message
            names it and suggests the closest valid name.
    """
    for config_file in config_files:
        if not os.path.isfile(config_file):
            raise errors.ConfigError(
                f'Config file {config_file} does not exist (working '
                f'directory: {os.getcwd()}).')
    # Let `import my_module` in a .gin file find modules next to the caller.
    if os.getcwd() not in sys.path and '' not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        gin.parse_config_files_and_bindings(config_files, bindings,
                                            finalize_config=False)
    except (ValueError, SyntaxError, ImportError, TypeError, IOError) as error:
        raise errors.ConfigError(gin_errors.explain(error)) from error


def _report(message: str) -> None:
    print(f'alpacka: error: {message}', file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Runs the experiment described by parsed arguments.

    Returns:
        The process exit code.
    """
    output_dir = prepare_output_dir(args.output_dir)
    parse_gin(args.config_file, args.config)
    core.write_config(output_dir, operative=False)
    stdout_logger = metric_logging.StdoutLogger()
    metric_logging.register_logger(stdout_logger)
    try:
        core.Runner(output_dir).run()
    finally:
        metric_logging.unregister_logger(stdout_logger)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code (see EXIT_*)."""
    args = parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except errors.UserError as error:
        if args.debug:
            traceback.print_exc()
        _report(str(error))
        return EXIT_USER_ERROR
    except (errors.CorruptCheckpointError, FloatingPointError) as error:
        if args.debug:
            traceback.print_exc()
        _report(f'{error} The output directory was left as it was.')
        return EXIT_FAILURE
    except Exception as error:  # pylint: disable=broad-except
        traceback.print_exc()
        _report(f'the run failed with {type(error).__name__}: {error}')
        return EXIT_FAILURE
