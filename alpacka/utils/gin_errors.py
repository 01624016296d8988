"""Turns Gin's configuration errors into one readable paragraph with a hint."""

import difflib
import inspect
import re
from typing import List, Optional

from gin import config as gin_config

_UNKNOWN_CONFIGURABLE = re.compile(
    r"No configurable matching (?:reference )?'@?([\w.]+?)(?:\(\))?'")
_UNKNOWN_PARAMETER = re.compile(
    r"Configurable '([\w.]+)' doesn't have a parameter named '(\w+)'")


def _registered_selectors() -> List[str]:
    # Gin exposes no public listing of its registry.
    selectors = [selector for selector, _ in
                 gin_config._REGISTRY.items()]  # pylint: disable=protected-access
    short_names = [selector.rsplit('.', 1)[-1] for selector in selectors]
    return sorted(set(selectors) | set(short_names))


def _parameters_of(selector: str) -> List[str]:
    try:
        configurable = gin_config._REGISTRY.get_match(selector)  # pylint: disable=protected-access
    except (KeyError, ValueError):
        return []
    if configurable is None:
        return []
    target = configurable.wrapped
    if inspect.isclass(target):
        target = target.__init__
    try:
        return [name for name in inspect.signature(target).parameters
                if name not in ('self', 'args', 'kwargs')]
    except (TypeError, ValueError):
        return []


def _closest(name: str, candidates: List[str]) -> Optional[str]:
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def suggestion(message: str) -> str:
    """A 'Did you mean ...?' sentence for a Gin error message, or ''."""
    match = _UNKNOWN_PARAMETER.search(message)
    if match:
        configurable, parameter = match.groups()
        parameters = _parameters_of(configurable)
        closest = _closest(parameter, parameters)
        if closest:
            return f"Did you mean '{configurable}.{closest}'?"
        if parameters:
            return f"Its parameters are: {', '.join(parameters)}."
        return ''
    match = _UNKNOWN_CONFIGURABLE.search(message)
    if match:
        closest = _closest(match.group(1), _registered_selectors())
        if closest:
            return f"Did you mean '{closest}'?"
    return ''


def explain(error: Exception) -> str:
    """One paragraph describing a Gin parse error, with a suggestion.

    Args:
        error: The exception gin.parse_config_files_and_bindings raised.

    Returns:
        A message naming the binding and where it was written.
    """
    if isinstance(error, SyntaxError) and len(error.args) > 1:
        location = error.args[1]
        where = location.filename or 'a --config binding'
        return (f'{error.args[0]} In {where}, line {location.line_num}: '
                f'{location.line_content.strip()!r}.')
    lines = [line.strip() for line in str(error).strip().splitlines()]
    lines = [line for line in lines if line and set(line) != {'^'}]
    text = lines[0] if lines else type(error).__name__
    if len(lines) >= 3 and lines[1].startswith('In '):
        where = lines[1][3:].replace('bindings string', 'a --config binding,')
        text += f' In {where}: {lines[2]!r}.'
    else:
        text = ' '.join([text] + lines[1:])
    return f'{text} {suggestion(str(error))}'.strip()
