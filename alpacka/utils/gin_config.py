"""The run's Gin config as text: what config.gin holds and what Ray workers parse.

Three consumers need the driver's Gin config written out:

- the run directory's ``config.gin``: ``gin.config_str()`` (the parsed
  bindings) when the run starts, then ``operative_config_text()`` (every
  parameter the run used, defaults included) after its first epoch
  (``write_config``), by the run that starts the directory only (see
  runner/config_drift.py);
- a resumed run, whose bindings are compared to its config.gin
  (runner/config_drift.py; ``parameter_default`` completes bindings left
  out with the defaults an operative config lists);
- Ray workers, which parse the driver's bindings before building their envs
  and agents (``config_for_workers`` in the driver, ``import_modules`` and
  ``parse_in_worker`` in the worker).

Gin plumbing only, no RL. Gin's public API is used throughout, except in two
places: Gin has no public listing of the bound configurables
(google/gin-config#167), so ``config_for_workers`` reads ``gin.config._CONFIG``,
and no public lookup of a configurable by selector, so ``parameter_default``
reads ``gin.config._REGISTRY``.
Should that ever fail, it logs a warning and ships the config text alone (see
its docstring).
"""

import dataclasses
import importlib
import inspect
import logging
from typing import Any, Dict, List, Sequence, Set, Tuple

import gin

from alpacka.utils import atomic_files

_logger = logging.getLogger(__name__)

# Heads the parsed bindings that operative_config_text appends.
UNUSED_BINDINGS_HEADER = (
    '# Parsed bindings of configurables this process did not call (used in\n'
    '# Ray workers or nested batch steppers):')


def config_blocks(config: str) -> Dict[str, str]:
    """Splits Gin's config text into its blocks of parameters.

    Args:
        config: Text of gin.config_str() or gin.operative_config_str().

    Returns:
        ``{'Parameters for X': block}``, one entry per ``# Parameters for
        X:`` block (its whole text); other text (imports, macros) is left out.
    """
    blocks = {}
    for block in config.split('\n\n'):
        first_line = block.strip().split('\n', 1)[0]
        if first_line.startswith('# Parameters for '):
            blocks[first_line[2:].rstrip(':')] = block.strip()
    return blocks


def operative_config_text() -> str:
    """The operative Gin config, completed with bindings used elsewhere.

    The operative config lists every parameter that this process used,
    defaults included. Configurables that only other processes called (the
    agents, envs and networks inside Ray workers, or nested in another
    agent's batch stepper) are missing from it, so their parsed bindings are
    appended under UNUSED_BINDINGS_HEADER, with the config's import lines.

    Returns:
        Gin config text that reproduces the run.
    """
    operative = gin.operative_config_str().strip()
    parsed = gin.config_str()
    used = config_blocks(operative)
    unused = [block for name, block in config_blocks(parsed).items()
              if name not in used]
    imports = [line for line in parsed.splitlines()
               if line.startswith(('import ', 'from '))]
    if not unused:
        return operative + '\n'
    return '\n\n'.join(
        [operative, UNUSED_BINDINGS_HEADER,
         '\n'.join(imports), *unused]).replace('\n\n\n', '\n\n') + '\n'


def write_config(path: str, operative: bool) -> None:
    """Writes the Gin config to path (a run's config.gin), atomically.

    Args:
        path: The file to write.
        operative: Write the operative config (every parameter the run used,
            defaults included; see operative_config_text) rather than the
            parsed bindings (gin.config_str()).
    """
    config = operative_config_text() if operative else gin.config_str()
    with atomic_files.atomic_write(path, 'w') as config_file:
        config_file.write(config)


def parameter_default(selector: str, arg_name: str) -> Tuple[bool, Any]:
    """The default of a configurable's parameter, as an operative config
    writes it.

    Args:
        selector: The configurable's Gin selector (``Runner``,
            ``alpacka.envs.CartPole``; a scope is not part of it).
        arg_name: The parameter.

    Returns:
        ``(True, default)`` if the parameter has a default that Gin can
        write as config text, else ``(False, None)`` (no such configurable
        or parameter, no default, or a default such as a class that an
        operative config leaves out).
    """
    try:
        configurable = gin.config._REGISTRY.get_match(selector)  # pylint: disable=protected-access
        target = configurable.wrapped
        if inspect.isclass(target):
            target = target.__init__
        parameter = inspect.signature(target).parameters[arg_name]
    except (AttributeError, KeyError, TypeError, ValueError):
        return False, None
    default = parameter.default
    if (default is inspect.Parameter.empty or
            not _is_literally_representable(default)):
        return False, None
    return True, default


@dataclasses.dataclass(frozen=True)
class WorkerConfig:
    """The driver's Gin config as a worker process needs it.

    Attributes:
        config_str: ``gin.config_str()``: all bindings, with the ``import``
            lines of the parsed .gin files.
        modules: Modules that define the configurables bound or referenced
            in it, sorted. A worker imports them before parsing: a
            configurable registered by a module the driver imported in
            Python (not in a .gin file) is otherwise unknown to the worker.
    """
    config_str: str
    modules: List[str]


def _is_literally_representable(value: Any) -> bool:
    """Whether Gin can write value as config text that parses back to it
    (the rule gin.config_str() applies; non-representable bindings are left
    out of the text)."""
    try:
        return gin.config.parse_value(repr(value)) == value
    except (SyntaxError, ValueError):
        return False


def _warn_unrepresentable(bindings: Dict[Any, Dict[str, Any]]) -> None:
    for (scope, selector), params in bindings.items():
        for name, value in params.items():
            if not _is_literally_representable(value):
                _logger.warning(
                    'Gin binding %s%s.%s = %r cannot be written as a '
                    'config string, so it does not reach Ray workers; '
                    'bind it in a .gin file or to a configurable instead.',
                    scope + '/' if scope else '', selector, name, value)


def _configurable_modules(bindings: Dict[Any, Dict[str, Any]]) -> Set[str]:
    """Modules defining the configurables bound in, or referenced by,
    bindings (``{(scope, selector): {parameter: value}}``)."""
    configurables = [gin.get_configurable(selector)
                     for _, selector in bindings]
    configurables.extend(reference.configurable.wrapped for reference
                         in gin.config.iterate_references(bindings))
    modules = {getattr(configurable, '__module__', None)
               for configurable in configurables}
    return modules - {None, '__main__'}


def config_for_workers() -> WorkerConfig:
    """The driver's Gin config, for workers to parse (see WorkerConfig).

    Bindings whose values Gin cannot write as text (e.g. an object bound
    with gin.bind_parameter) are missing from config_str; each is named in a
    logged warning.

    If Gin's private listing of bindings (``gin.config._CONFIG``, the only
    private name used) is missing or no longer a mapping of ``(scope,
    selector)`` keys, a warning says so and the config goes without
    modules: workers still get every binding and the import lines of the
    .gin files, and a worker that then meets an unknown configurable fails
    with parse_in_worker's error naming it.

    Returns:
        The WorkerConfig.
    """
    config_str = gin.config_str()
    try:
        bindings = dict(gin.config._CONFIG)  # pylint: disable=protected-access
        modules = _configurable_modules(bindings)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        _logger.warning(
            'Could not list the modules of the bound Gin configurables '
            '(Gin\'s internals changed: %s: %s). Ray workers get the config '
            'text and its import lines only; import the modules of '
            'configurables in the .gin file if workers do not know them.',
            type(error).__name__, error)
        return WorkerConfig(config_str, [])
    _warn_unrepresentable(bindings)
    return WorkerConfig(config_str, sorted(modules))


def import_modules(modules: Sequence[str]) -> None:
    """Imports a WorkerConfig's modules, in a worker before parse_in_worker.

    Raises:
        RuntimeError: a module does not import; the message names it.
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise RuntimeError(
                f'A Ray worker could not import {module!r}, which defines '
                f'Gin configurables bound in the driver: {error}. Modules '
                f'of configurables must be importable by workers.'
            ) from error


def parse_in_worker(config_str: str) -> None:
    """Replaces the worker's Gin config by the driver's config_str.

    Raises:
        RuntimeError: the config does not parse here (typically a
            configurable defined in the driver's __main__).
    """
    gin.clear_config()
    try:
        gin.parse_config(config_str)
    except (ValueError, ImportError) as error:
        raise RuntimeError(
            f'A Ray worker could not parse the driver\'s Gin config: '
            f'{error}\nConfigurables bound in it must be defined in '
            f'modules that workers can import (not in __main__).'
        ) from error
