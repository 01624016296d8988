"""Turns experiment parameters (a dict from an mrunner spec) into Gin bindings.

A parameter ``'ShootingAgent.n_rollouts': 16`` becomes the binding
``ShootingAgent.n_rollouts = 16``. Values are written as Gin literals:

- a string is quoted (``'Runner.name': 'cart'`` -> ``Runner.name = 'cart'``),
  unless it starts with ``@`` (a Gin reference, ``'@alpacka.envs.CartPole'``)
  or ``%`` (a macro, ``'%n_envs'``), which are written as they are; the rule
  holds inside lists, tuples and dicts too;
- numbers, booleans and None as Python writes them (numpy scalars and arrays
  as the Python numbers and lists they hold; infinity as ``1e999``);
- lists, tuples and dicts element by element.

A parameter named ``imports`` holding module names becomes ``import`` lines,
as in the original project's specs.
"""

import math
import numbers
from typing import Any, Dict, List, Mapping

import numpy as np

IMPORTS_KEY = 'imports'


class UnsupportedValueError(ValueError):
    """A parameter value that has no Gin literal (a function, an object...)."""


def gin_literal(value: Any) -> str:
    """The Gin text of a parameter value.

    Args:
        value: A string, number, bool, None, numpy scalar or array, or a list,
            tuple or dict of those.

    Returns:
        Text that Gin parses back into the value (strings starting with ``@``
        or ``%`` into references and macros).

    Raises:
        UnsupportedValueError: the value (or something inside it) has no Gin
            literal, or is NaN.
    """
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, str):
        return value if value.startswith(('@', '%')) else repr(value)
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, numbers.Integral):
        return repr(int(value))
    if isinstance(value, numbers.Real):
        return _float_literal(float(value))
    if isinstance(value, list):
        return '[' + ', '.join(gin_literal(item) for item in value) + ']'
    if isinstance(value, tuple):
        items = [gin_literal(item) for item in value]
        return '(' + ', '.join(items) + (',)' if len(items) == 1 else ')')
    if isinstance(value, Mapping):
        return '{' + ', '.join(f'{gin_literal(key)}: {gin_literal(item)}'
                               for key, item in value.items()) + '}'
    raise UnsupportedValueError(
        f'{value!r} (of type {type(value).__name__}) has no Gin literal')


def _float_literal(value: float) -> str:
    if math.isnan(value):
        raise UnsupportedValueError('NaN has no Gin literal')
    if math.isinf(value):
        # Gin has no name for infinity; this literal overflows to it.
        return '1e999' if value > 0 else '-1e999'
    return repr(value)


def parameters_to_bindings(parameters: Dict[str, Any]) -> List[str]:
    """Gin bindings (and import lines) for a dict of experiment parameters.

    Args:
        parameters: ``{'Configurable.parameter' or 'macro': value}``, in the
            order the bindings should be applied; ``imports`` may hold a
            module name or a list of them.

    Returns:
        One Gin statement per entry (per module for ``imports``).

    Raises:
        UnsupportedValueError: a value has no Gin literal; the message names
            the parameter.
    """
    bindings = []
    for key, value in parameters.items():
        if key == IMPORTS_KEY:
            modules = [value] if isinstance(value, str) else list(value)
            bindings.extend(f'import {module}' for module in modules)
            continue
        try:
            bindings.append(f'{key} = {gin_literal(value)}')
        except UnsupportedValueError as error:
            raise UnsupportedValueError(
                f'The parameter {key!r} cannot be written as a Gin binding: '
                f'{error}. Use a string, number, bool, None, or a list, tuple '
                f'or dict of those; name Gin configurables as strings '
                f"starting with '@'.") from error
    return bindings
