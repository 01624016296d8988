"""How a failed experiment is reported: one paragraph, the traceback in a file.

Two kinds of failure, two exit codes (see cli.EXIT_*):

- while the experiment is built from its config (Gin parsing, the Runner's
  constructor and everything it builds): a ConfigError naming the component
  that failed and its own message (exit code 2);
- while it runs (an env raising in ``step``, a dead worker, a diverging loss,
  a failed checkpoint or metrics write): a RunFailure naming what failed, in
  which epoch, and from which checkpoint a re-run resumes (exit code 1); the
  CLI writes the full traceback to ``<output_dir>/error.log``.
"""

import contextlib
import os
import re
import traceback
from typing import Iterator, List, Optional, Tuple

from alpacka import errors
from alpacka.utils import run_directory

# Gin appends one of these lines per configurable on the call stack, the
# innermost first.
_GIN_CALL = re.compile(r"^\s*In call to configurable '([\w.]+)'")


def split_gin_context(message: str) -> Tuple[str, List[str]]:
    """Separates an exception message from the lines Gin appended to it.

    Args:
        message: str() of an exception raised inside a Gin configurable.

    Returns:
        ``(message, configurables)``: the exception's own message (its
        lines kept, blank ones dropped, so it stays one paragraph: a message
        that lists items one per line, as the config-drift refusal does,
        keeps them) and the configurables Gin named, innermost first.
    """
    own_lines, configurables = [], []
    for line in message.splitlines():
        match = _GIN_CALL.match(line)
        if match:
            configurables.append(match.group(1))
        elif line.strip():
            own_lines.append(line.rstrip())
    return '\n'.join(own_lines).strip(), configurables


def one_paragraph(error: BaseException) -> str:
    """The exception's message without Gin's call stack (see
    split_gin_context)."""
    return split_gin_context(str(error))[0]


def describe_build_failure(error: BaseException) -> str:
    """One paragraph for an exception raised while building the experiment.

    Args:
        error: What a constructor raised (possibly augmented by Gin).

    Returns:
        A message naming the component, the exception and what to check.
    """
    message, configurables = split_gin_context(str(error))
    if configurables:
        component = configurables[0]
        if len(configurables) > 1:
            component += f' (built by {configurables[-1]})'
        hint = (f'Check the bindings of {configurables[0]} in the config '
                f'files and --config values')
    else:
        component = 'the experiment'
        hint = 'Check the config files and --config values'
    message = message or '(no message)'
    if not message.endswith(('.', '!', '?')):
        message += '.'
    return (f'Building {component} failed: {type(error).__name__}: '
            f'{message} {hint}; --debug shows the traceback.')


@contextlib.contextmanager
def building_experiment() -> Iterator[None]:
    """Turns any exception raised in its body into a ConfigError.

    UserErrors and a corrupt checkpoint found on resume (a problem of the
    output directory, not of the config) pass unchanged; report them with
    one_paragraph, which drops the call stack Gin appends to messages.

    Raises:
        ConfigError: the body raised another Exception.
    """
    try:
        yield
    except (errors.UserError, errors.CorruptCheckpointError,
            errors.RayUnavailableError):
        raise
    except Exception as error:  # pylint: disable=broad-except
        raise errors.ConfigError(describe_build_failure(error)) from error


class RunFailure(Exception):
    """A run that failed after it started, with what a re-run will do.

    Args:
        what: What failed, e.g. 'The env or agent, gathering episodes,'.
        epoch: The epoch that was running (0-based).
        last_checkpoint: Completed epochs in the newest whole checkpoint
            (None: none was written).
        cause: The exception.
        advice: What to change, if a plain re-run would fail again.
    """

    def __init__(self, what: str, epoch: int, last_checkpoint: Optional[int],
                 cause: BaseException, advice: str = ''):
        self.what = what
        self.epoch = epoch
        self.last_checkpoint = last_checkpoint
        self.cause = cause
        self.advice = advice
        super().__init__(self.paragraph())

    def paragraph(self, error_log: Optional[str] = None) -> str:
        """The message: what failed, where to resume, where the traceback is.

        Args:
            error_log: Where the traceback was written (None: not written).
        """
        cause = one_paragraph(self.cause)
        if not isinstance(self.cause, (errors.CheckpointWriteError,
                                       errors.MetricsWriteError,
                                       FloatingPointError)):
            cause = f'{type(self.cause).__name__}: {cause}'
        if not cause.endswith(('.', '!', '?')):
            cause += '.'
        if self.last_checkpoint is None:
            resume = ('No checkpoint was written yet: re-running the same '
                      'command starts the run afresh.')
        else:
            resume = (f'The checkpoint after epoch {self.last_checkpoint} is '
                      f'intact: re-run the same command to resume from epoch '
                      f'{self.last_checkpoint}.')
        parts = [f'{self.what} failed in epoch {self.epoch}: {cause}']
        if self.advice:
            parts.append(self.advice)
        parts.append(resume)
        if error_log:
            parts.append(f'The full traceback is in {error_log}.')
        return ' '.join(part.rstrip() for part in parts)


def write_error_log(output_dir: str, error: BaseException) -> Optional[str]:
    """Writes error's full traceback (its causes included) to error.log.

    Args:
        output_dir: The run's output directory.
        error: The exception to record.

    Returns:
        The file's path, or None if it could not be written (a full disk).
    """
    path = run_directory.error_log_path(output_dir)
    try:
        with open(path, 'w', encoding='utf-8') as log_file:
            log_file.write(''.join(traceback.format_exception(error)))
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(path)
        return None
    return path
