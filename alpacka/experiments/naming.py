"""Directory names for the experiments of a sweep, from their parameters.

A name lists the parameters that vary across the experiments, as
``key=value`` joined by commas: ``Runner.seed=1,ShootingAgent.n_rollouts=8``.
"""

import hashlib
import re
from typing import Any, Dict, List, Sequence

from alpacka.utils import gin_bindings as bindings_lib

_MAX_NAME_LENGTH = 100
_UNSAFE_NAME_CHARS = re.compile(r'[^A-Za-z0-9._=,+@%-]')


def value_text(value: Any) -> str:
    """A parameter value as a name shows it: strings bare, the rest as Gin
    literals (or repr)."""
    if isinstance(value, str):
        return value
    try:
        return bindings_lib.gin_literal(value)
    except bindings_lib.UnsupportedValueError:
        return repr(value)


def varying_keys(parameter_dicts: Sequence[Dict[str, Any]]) -> List[str]:
    """The parameters whose values differ across experiments (or that some
    experiments lack), in the order they first appear."""
    keys = list(dict.fromkeys(key for parameters in parameter_dicts
                              for key in parameters))
    return [key for key in keys if len({
        (key in parameters, value_text(parameters.get(key)))
        for parameters in parameter_dicts}) > 1]


def short_keys(keys: Sequence[str]) -> Dict[str, str]:
    """Long keys shortened to their last two dotted parts where that keeps
    them distinct (``alpacka.agents.ShootingAgent.n_rollouts`` ->
    ``ShootingAgent.n_rollouts``)."""
    short = {key: '.'.join(key.split('.')[-2:]) for key in keys}
    if len(set(short.values())) < len(short):
        return {key: key for key in keys}
    return short


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]


def experiment_names(parameter_dicts: Sequence[Dict[str, Any]],
                     default: str = 'experiment') -> List[str]:
    """Directory names for experiments: short, filesystem-safe, unique and
    the same on every run.

    A name lists the varying parameters as ``key=value`` joined by commas
    (characters other than letters, digits and ``._=,+@%-`` become ``_``).
    A name longer than 100 characters is cut and ends with a hash of the
    whole; names that still collide get a hash of all the parameters, and
    experiments with identical parameters are numbered (``-2``, ``-3``...).
    With nothing varying the name is ``default`` (the spec's name).

    Args:
        parameter_dicts: Each experiment's parameters.
        default: The name when no parameter varies.

    Returns:
        One name per experiment, in order.
    """
    keys = varying_keys(parameter_dicts)
    short = short_keys(keys)
    names = []
    for parameters in parameter_dicts:
        text = ','.join(f'{short[key]}={value_text(parameters[key])}'
                        for key in keys if key in parameters)
        name = _UNSAFE_NAME_CHARS.sub(
            '_', re.sub('[\'" ]', '', text or default)) or 'experiment'
        if name.startswith('.'):
            name = '_' + name[1:]
        if len(name) > _MAX_NAME_LENGTH:
            name = name[:_MAX_NAME_LENGTH - 9] + '-' + _digest(text)
        names.append(name)
    fingerprints = [repr(sorted((key, value_text(value))
                                for key, value in parameters.items()))
                    for parameters in parameter_dicts]
    for name in set(names):
        indices = [i for i, other in enumerate(names) if other == name]
        if len({fingerprints[i] for i in indices}) > 1:
            for i in indices:
                names[i] = name + '-' + _digest(fingerprints[i])
    seen: Dict[str, int] = {}
    for i, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f'{name}-{seen[name]}'
    return names
