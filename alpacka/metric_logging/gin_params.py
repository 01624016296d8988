"""Gin bindings as a flat ``{name: value}`` dict, for run properties and plots.

A binding ``scope/Selector.param = value`` becomes the entry
``'scope/Selector.param': value``; a macro ``NAME = value`` becomes
``'NAME': value``. Values are the parsed Python literals; configurable
references and macros stay text (``'@alpacka.envs.CartPole'``,
``'@make_schedule()'``, ``'%NAME'``), so parsing never imports the modules a
config names.
"""

from typing import Any, Dict

import gin
from gin import config_parser


class _TextDelegate(config_parser.ParserDelegate):
    """Keeps references and macros as the text that wrote them."""

    def configurable_reference(self, scoped_configurable_name: str,
                               evaluate: bool) -> str:
        return '@' + scoped_configurable_name + ('()' if evaluate else '')

    def macro(self, macro_name: str) -> str:
        return '%' + macro_name


def parse_bindings(config_text: str) -> Dict[str, Any]:
    """Reads the bindings of Gin config text (e.g. a run's config.gin).

    Args:
        config_text: Gin config text; import and include lines are skipped.

    Returns:
        ``{'[scope/]Selector.param': value}`` in the order of the text; a
        binding repeated later wins.

    Raises:
        SyntaxError: The text is not valid Gin (Gin's error, with the line).
    """
    bindings = {}
    for statement in config_parser.ConfigParser(config_text, _TextDelegate()):
        if not isinstance(statement, config_parser.BindingStatement):
            continue
        name = statement.selector
        if statement.arg_name:
            name += '.' + statement.arg_name
        if statement.scope:
            name = statement.scope + '/' + name
        bindings[name] = statement.value
    return bindings


def current_bindings() -> Dict[str, Any]:
    """The bindings parsed into Gin so far in this process.

    Returns:
        parse_bindings of ``gin.config_str()``; empty if that text cannot be
        parsed back (a value bound in Python that Gin cannot write out).
    """
    try:
        return parse_bindings(gin.config_str())
    except SyntaxError:
        return {}


def find_binding(bindings: Dict[str, Any], name: str) -> str:
    """The key of bindings that a possibly shortened or longer name means.

    ``ShootingAgent.n_rollouts`` finds ``alpacka.agents.ShootingAgent.n_rollouts``
    and the other way round: one name must end with the other at a ``.`` or
    ``/`` boundary. An exact match wins.

    Args:
        bindings: As returned by parse_bindings.
        name: The binding asked for.

    Returns:
        The matching key, or '' if none matches.

    Raises:
        KeyError: Several keys match and none exactly; the message lists them.
    """
    if name in bindings:
        return name

    def ends_with(longer: str, shorter: str) -> bool:
        return longer.endswith(('.' + shorter, '/' + shorter))

    matches = [key for key in bindings
               if ends_with(key, name) or ends_with(name, key)]
    if len(matches) > 1:
        raise KeyError(f'{name!r} matches several bindings: '
                       f'{", ".join(matches)}; give the full name.')
    return matches[0] if matches else ''
