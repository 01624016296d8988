"""A resumed run keeps the configuration its checkpoints were made with.

What ``<output_dir>/config.gin`` holds: the config of the run that created
the directory, written once: its parsed bindings (``gin.config_str()``) when
it starts, replaced by its operative config (every parameter it used,
defaults included) after its first epoch, before its first checkpoint (a run
stopped during its first epoch checkpoints with the parsed bindings still
there). Once a checkpoint exists, config.gin is never rewritten: it is the
record of the configuration that produced the checkpoints and metrics. A
directory without a checkpoint holds no run to resume: a re-run there starts
afresh and writes its own config.gin.

A re-run on a directory with a checkpoint compares its bindings to
config.gin's, as Gin bindings (parsed values, not text): a parameter the
re-run does not bind counts as its default, so the same command (or the same
bindings written differently) resumes silently. A difference refuses the
re-run with one line per binding, unless ``--allow_config_change``; an
accepted change is recorded in ``config_changes/<n>_<timestamp>.gin`` (the
new bindings, the differences in its header). Raising ``Runner.n_epochs``
(the way to extend a finished run) needs no flag, and is recorded too.

Nothing here writes before ``record`` is called, once the experiment is
built: a re-run that fails to start leaves the directory as it was.
"""

import dataclasses
import os
import time
from typing import Any, Dict, List, Optional

import gin

from alpacka import errors
from alpacka.metric_logging import gin_params
from alpacka.utils import atomic_files
from alpacka.utils import gin_config
from alpacka.utils import run_directory

# Bindings a resumed run may change without --allow_config_change: they say
# when the run stops, not what its epochs do.
RESUMABLE_BINDINGS = ('Runner.n_epochs',)
FLAG = '--allow_config_change'

_UNSET = object()


@dataclasses.dataclass(frozen=True)
class Difference:
    """One binding whose value differs between the run and the re-run.

    Attributes:
        name: ``[scope/]Selector.param`` (or a macro's name).
        in_run: Its value in config.gin (_UNSET: not there).
        now: Its value now (_UNSET: neither bound nor defaulted).
    """
    name: str
    in_run: Any
    now: Any

    def describe(self) -> str:
        """``'Runner.n_envs: 8 in the run, 4 now'``."""
        return (f'{self.name}: {_format(self.in_run)} in the run, '
                f'{_format(self.now)} now')

    @property
    def resumable(self) -> bool:
        """Whether the change needs no flag (see RESUMABLE_BINDINGS)."""
        unscoped = self.name.rsplit('/', 1)[-1]
        return any(unscoped == name or unscoped.endswith('.' + name)
                   for name in RESUMABLE_BINDINGS)


def _format(value: Any) -> str:
    if value is _UNSET:
        return 'not set'
    if isinstance(value, str) and value.startswith(('@', '%')):
        return value
    return repr(value)


def _effective(bindings: Dict[str, Any], name: str) -> Any:
    """The value bound to name, else its default, else _UNSET."""
    if name in bindings:
        return bindings[name]
    selector, _, arg_name = name.rsplit('/', 1)[-1].rpartition('.')
    if not selector:  # A macro.
        return _UNSET
    found, default = gin_config.parameter_default(selector, arg_name)
    return default if found else _UNSET


def differences(in_run: Dict[str, Any],
                now: Dict[str, Any]) -> List[Difference]:
    """The bindings whose effective values differ.

    Args:
        in_run: The run's bindings (gin_params.parse_bindings of config.gin).
        now: The re-run's bindings, likewise.

    Returns:
        One Difference per differing name, in the order the names appear
        (the run's first).
    """
    found = []
    for name in dict.fromkeys(list(in_run) + list(now)):
        old, new = _effective(in_run, name), _effective(now, name)
        if old is not new and old != new:
            found.append(Difference(name, old, new))
    return found


@dataclasses.dataclass(frozen=True)
class Resume:
    """What a re-run found in its output directory, before it writes.

    Attributes:
        fresh: No checkpoint: the run starts afresh and writes config.gin.
        changes: The accepted differences to config.gin (to record).
    """
    fresh: bool
    changes: List[Difference]


def check(output_dir: str, allow_change: bool) -> Resume:
    """Compares the parsed Gin config to the run's, before anything is
    written (call after parsing, before building the experiment).

    Args:
        output_dir: The run's output directory (it may not exist).
        allow_change: The user passed --allow_config_change.

    Returns:
        The Resume to pass to record once the experiment is built.

    Raises:
        ConfigError: the bindings differ and allow_change is False; the
            message lists the differences, one line each.
    """
    config_path = run_directory.config_path(output_dir)
    if not (run_directory.has_checkpoint(output_dir) and
            os.path.isfile(config_path)):
        return Resume(fresh=True, changes=[])
    with open(config_path, encoding='utf-8') as config_file:
        saved_text = config_file.read()
    try:
        in_run = gin_params.parse_bindings(saved_text)
    except SyntaxError as error:
        if allow_change:
            return Resume(fresh=False, changes=[])
        raise errors.ConfigError(
            f'{config_path} (the configuration of the run in {output_dir}) '
            f'cannot be read to compare it with this one: {error}. Restore '
            f'it, choose a new --output_dir, or pass {FLAG} to resume '
            f'anyway.') from error
    found = differences(in_run, gin_params.current_bindings())
    if allow_change or all(difference.resumable for difference in found):
        return Resume(fresh=False, changes=found)
    lines = '\n'.join('  ' + difference.describe() for difference in found)
    raise errors.ConfigError(
        f'The run in {output_dir} was made with other Gin bindings than '
        f'these (its {run_directory.CONFIG_FILE} against this command):\n'
        f'{lines}\nResuming would continue its checkpoints under another '
        f'configuration. Re-run with the run\'s bindings, choose a new '
        f'--output_dir, or pass {FLAG} to resume with the new ones (they are '
        f'recorded in {run_directory.config_changes_dir(output_dir)}; '
        f'{run_directory.CONFIG_FILE} is kept).')


def record(output_dir: str, resume: Resume) -> Optional[str]:
    """Writes what a run that has started must leave in its directory: a
    fresh run's config.gin, or a resumed run's accepted change.

    Call once the experiment is built, before its first epoch.

    Returns:
        The file written, or None.
    """
    if resume.fresh:
        path = run_directory.config_path(output_dir)
        gin_config.write_config(path, operative=False)
        return path
    if not resume.changes:
        return None
    directory = run_directory.config_changes_dir(output_dir)
    os.makedirs(directory, exist_ok=True)
    number = 1 + sum(1 for name in os.listdir(directory)
                     if name.endswith('.gin'))
    stamp = time.strftime('%Y%m%dT%H%M%S', time.gmtime())
    path = os.path.join(directory, f'{number}_{stamp}.gin')
    header = '\n'.join(f'#   {difference.describe()}'
                       for difference in resume.changes)
    with atomic_files.atomic_write(path, 'w') as change_file:
        change_file.write(
            f'# Bindings of the re-run that resumed this run at {stamp} UTC '
            f'(accepted with {FLAG});\n# they differ from '
            f'{run_directory.CONFIG_FILE} in:\n{header}\n\n'
            f'{gin.config_str()}')
    return path
