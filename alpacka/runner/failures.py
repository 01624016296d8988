"""How a failed experiment is reported: one paragraph, the traceback in a file.

Two kinds of failure, two exit codes (see cli.EXIT_*):

- while the experiment is built from its config (Gin parsing, the Runner's
  constructor and everything it builds): a ConfigError naming the component
  that failed and its own message (exit code 2);
- while it runs (an env raising in ``step``, a dead worker, a diverging loss,
  a failed checkpoint or metrics write): a RunFailure naming what failed, in
  which epoch, and from which checkpoint a re-run resumes (exit code 1); the
  CLI writes the full traceback to ``<output_dir>/error.log``.

A lost Ray node (its raylet killed, as the out-of-memory killer does) is a
run-time failure too, with its own paragraph (lost_ray_node_paragraph): Ray
usually ends the driver itself, from C++, and the watcher of
alpacka.runner.ray_health writes it; when Python sees an exception first, the
CLI does (LostRayNode).
"""

import contextlib
import os
import re
import traceback
from typing import Any, Dict, Iterator, List, Optional, Tuple

from alpacka import errors
from alpacka.runner import checkpointing
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
        parts = [f'{self.what} failed in epoch {self.epoch}: {cause}']
        if self.advice:
            parts.append(self.advice)
        parts.append(resume_advice(self.last_checkpoint))
        if error_log:
            parts.append(f'The full traceback is in {error_log}.')
        return ' '.join(part.rstrip() for part in parts)


def resume_advice(last_checkpoint: Optional[int],
                  checkpoints_dir: Optional[str] = None) -> str:
    """What a re-run does: resume from the last checkpoint, or start afresh.

    Args:
        last_checkpoint: Completed epochs in the newest whole checkpoint
            (None: none was written).
        checkpoints_dir: Where it is, to name it (None: not named).
    """
    if last_checkpoint is None:
        return ('No checkpoint was written yet: re-running the same command '
                'starts the run afresh.')
    where = f' in {checkpoints_dir}' if checkpoints_dir else ''
    return (f'The checkpoint after epoch {last_checkpoint}{where} is intact: '
            f're-run the same command to resume from epoch '
            f'{last_checkpoint}.')


def last_checkpoint_epoch(output_dir: str) -> Optional[int]:
    """Completed epochs in the run's newest whole checkpoint (None: none, or
    its pointer is broken)."""
    try:
        latest = checkpointing.Checkpointer(output_dir).latest()
    except errors.CorruptCheckpointError:
        return None
    match = re.fullmatch(r'epoch_(\d+)', os.path.basename(latest or ''))
    return int(match.group(1)) if match else None


SUPERVISE_ADVICE = ('python3 -m alpacka.supervise -- <the same arguments> '
                    'restarts a crashed run from its last checkpoint by '
                    'itself.')


def lost_ray_node_paragraph(node: Dict[str, Any], output_dir: str) -> str:
    """The message for a run whose Ray node was lost.

    Args:
        node: What alpacka.runner.ray_health found: ``node_id``, ``ip``,
            ``raylet_pid``, ``driver_log`` (Ray's log of the driver) and
            ``ray_message`` (what Ray logged when it ended the driver, or
            None).
        output_dir: The run's output directory.
    """
    ray_said = (f' (Ray: "{node["ray_message"].rstrip(".")}")'
                if node.get('ray_message') else '')
    return ' '.join([
        f'The Ray node {node["node_id"][:12]} at {node["ip"]} was lost: its '
        f'raylet (process {node["raylet_pid"]}) died, as when the '
        f'out-of-memory killer ends it (dmesg lists such kills), and Ray '
        f'ended this run with it{ray_said}.',
        resume_advice(last_checkpoint_epoch(output_dir),
                      run_directory.checkpoints_dir(output_dir)),
        SUPERVISE_ADVICE,
        f'Ray\'s log of this process is {node["driver_log"]}.'])


class LostRayNode(Exception):
    """The run failed because its Ray node was lost (see ray_health).

    Args:
        node: The node's description (see lost_ray_node_paragraph).
        output_dir: The run's output directory.
    """

    def __init__(self, node: Dict[str, Any], output_dir: str):
        self.node = node
        self.output_dir = output_dir
        super().__init__(lost_ray_node_paragraph(node, output_dir))


def write_error_text(output_dir: str, text: str) -> Optional[str]:
    """Writes text to ``<output_dir>/error.log``.

    Returns:
        The file's path, or None if it could not be written (a full disk).
    """
    path = run_directory.error_log_path(output_dir)
    try:
        with open(path, 'w', encoding='utf-8') as log_file:
            log_file.write(text)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(path)
        return None
    return path


def write_error_log(output_dir: str, error: BaseException) -> Optional[str]:
    """Writes error's full traceback (its causes included) to error.log.

    Args:
        output_dir: The run's output directory.
        error: The exception to record.

    Returns:
        The file's path, or None if it could not be written (a full disk).
    """
    return write_error_text(output_dir,
                            ''.join(traceback.format_exception(error)))
