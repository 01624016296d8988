"""The optional sinks of a run: TensorBoard and Neptune, as the CLI asks.

The stdout and metrics.jsonl sinks are not made here: the command line
registers StdoutLogger and the Runner registers the JsonlLogger of its
output directory. ``setup_loggers`` adds only what was asked for and returns
the loggers, which the caller closes with ``close_loggers`` when the run
ends.
"""

import os
import sys
from typing import Any, List, Optional, Sequence

from alpacka.metric_logging import api
from alpacka.metric_logging import gin_params
from alpacka.utils import run_directory


def setup_loggers(output_dir: str, tensorboard: bool = False,
                  neptune: bool = False,
                  neptune_project: Optional[str] = None,
                  run_name: Optional[str] = None, tags: Sequence[str] = (),
                  params: Optional[dict] = None) -> list:
    """Makes and registers the requested TensorBoard and Neptune loggers.

    A Neptune logger that cannot start (no NEPTUNE_API_TOKEN or project in
    an online mode, an invalid token, no connection) is left out after a
    one-line hint on stderr, and the run goes on with the other loggers.
    TensorFlow and neptune are imported only if their logger is asked for.

    Args:
        output_dir: The run's output directory; TensorBoard event files go
            to ``<output_dir>/tensorboard``.
        tensorboard: Whether to log to TensorBoard.
        neptune: Whether to log to Neptune (mode, token and project from
            NEPTUNE_MODE, NEPTUNE_API_TOKEN and NEPTUNE_PROJECT).
        neptune_project: ``workspace/project``, overriding NEPTUNE_PROJECT.
        run_name: The Neptune run's name (None: the output directory's
            name).
        tags: The Neptune run's tags.
        params: Stored under the Neptune run's ``parameters/`` (None: the
            Gin bindings parsed so far, see gin_params.current_bindings).

    Returns:
        The registered loggers (possibly none); pass them to close_loggers.

    Raises:
        ImportError: TensorBoard was asked for but TensorFlow or tensorboard
            is not installed.
    """
    loggers: List[Any] = []
    if tensorboard:
        # pylint: disable=import-outside-toplevel
        from alpacka.metric_logging import tensorboard_logger
        loggers.append(tensorboard_logger.TensorBoardLogger(
            run_directory.tensorboard_dir(output_dir)))
    if neptune:
        # pylint: disable=import-outside-toplevel
        from alpacka.metric_logging import neptune_logger
        if params is None:
            params = gin_params.current_bindings()
        run_name = run_name or os.path.basename(os.path.normpath(output_dir))
        try:
            logger = neptune_logger.NeptuneLogger(
                project=neptune_project, run_name=run_name, tags=tags,
                params=params)
        except neptune_logger.NeptuneUnavailableError as error:
            print(f'alpacka: {error}', file=sys.stderr)
        else:
            logger.log_property('output_dir', os.path.abspath(output_dir))
            loggers.append(logger)
    for logger in loggers:
        api.register_logger(logger)
    return loggers


def close_loggers(loggers: Sequence[Any]) -> None:
    """Unregisters and closes loggers returned by setup_loggers.

    Args:
        loggers: The loggers; ones already unregistered are only closed.
    """
    for logger in loggers:
        if logger in api.registered_loggers():
            api.unregister_logger(logger)
        logger.close()
