"""Turns Gin's configuration errors into one readable paragraph with a hint."""

import difflib
import inspect
import io
import os
import re
import tokenize
from typing import List, Optional, Tuple

from gin import config as gin_config

_UNKNOWN_CONFIGURABLE = re.compile(
    r"No configurable matching (?:reference )?'@?([\w.]+?)(?:\(\))?'")
_UNKNOWN_PARAMETER = re.compile(
    r"Configurable '([\w.]+)' doesn't have a parameter named '(\w+)'")
# Gin's message for a value that is neither a literal nor a reference.
_UNPARSED_TOKEN = re.compile(r"Failed to parse token '(.*)'")


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


def _where(filename: Optional[str]) -> str:
    return filename or 'a --config binding'


def _located(message: str, filename: Optional[str], line_num: int,
             column: Optional[int], line: str) -> str:
    """``message In <file>, line L, column C: '<line>'.`` (C is 1-based)."""
    at = f'line {line_num}' + (f', column {column}' if column else '')
    return f'{message} In {_where(filename)}, {at}: {line.strip()!r}.'


def _parsed_source(error: BaseException
                   ) -> Tuple[Optional[str], Optional[str]]:
    """The file name (None for --config bindings) and text Gin was parsing.

    Gin's tokenizer errors carry neither, so this reads them from the
    innermost ``gin.config.parse_config`` call on the traceback (an
    ``include`` nests one per file).
    """
    source = (None, None)
    frame_tb = error.__traceback__
    while frame_tb is not None:
        code = frame_tb.tb_frame.f_code
        if (code.co_name == 'parse_config' and
                os.path.samefile(code.co_filename, gin_config.__file__)):
            bindings = frame_tb.tb_frame.f_locals.get('bindings')
            if isinstance(bindings, str):
                source = (None, bindings)
            elif hasattr(bindings, 'name'):
                try:
                    with open(bindings.name, encoding='utf-8') as gin_file:
                        source = (bindings.name, gin_file.read())
                except OSError:
                    source = (bindings.name, None)
        frame_tb = frame_tb.tb_next
    return source


def _unclosed_bracket(text: str) -> Optional[tokenize.TokenInfo]:
    """The innermost bracket left open when text ends, if any."""
    open_brackets = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type != tokenize.OP:
                continue
            if token.string in '([{':
                open_brackets.append(token)
            elif token.string in ')]}' and open_brackets:
                open_brackets.pop()
    except (tokenize.TokenError, SyntaxError):
        pass
    return open_brackets[-1] if open_brackets else None


def _explain_token_error(error: tokenize.TokenError) -> str:
    """An unclosed bracket or string: where it opens, not where text ends."""
    filename, text = _parsed_source(error)
    lines = (text or '').splitlines() or ['']
    line_num, column = (error.args[1] if len(error.args) > 1
                        else (len(lines), 0))
    message = f'{error.args[0]}.'
    bracket = _unclosed_bracket(text) if text else None
    if 'string' in error.args[0]:
        message = ('A string is opened but never closed (the text ends '
                   'inside it).')
    elif bracket is not None:
        line_num, column = bracket.start
        message = (f'A {bracket.string!r} is opened but never closed (the '
                   f'text ends inside it).')
    line = lines[min(max(line_num, 1), len(lines)) - 1]
    return _located(message, filename, line_num, column + 1, line)


def _explain_unparsed_token(token: str, error: SyntaxError) -> str:
    """A value Gin cannot read, and what it may be instead; or, where a
    bracket left open on an earlier line made Gin read on, that bracket."""
    _, text = _parsed_source(error)
    bracket = _unclosed_bracket(text) if text else None
    if bracket is not None and bracket.start[0] < error.args[1].line_num:
        line_num, column = bracket.start
        return (f'The {bracket.string!r} on line {line_num}, column '
                f'{column + 1} is never closed, so Gin read on and found '
                f'{token!r} where a value belongs; close the bracket.')
    return (f'{token!r} is not a value Gin can read: quote a string '
            f'(\'{token}\'), put @ before a configurable (@{token}), or '
            f'write a number, True/False/None, a list, tuple or dict.')


def _caret_column(lines: List[str]) -> Optional[int]:
    """1-based column of Gin's ``^`` marker line (4 spaces of indent)."""
    for line in lines:
        if line.strip() == '^':
            return len(line) - 4
    return None


def explain(error: Exception) -> str:
    """One paragraph describing a Gin parse error, with a suggestion.

    Args:
        error: The exception gin.parse_config_files_and_bindings raised.

    Returns:
        A message naming the binding and where it was written: the file (or
        'a --config binding'), line and column, and the line itself.
    """
    if isinstance(error, tokenize.TokenError):
        return _explain_token_error(error)
    if isinstance(error, SyntaxError) and len(error.args) > 1:
        location = error.args[1]
        if hasattr(location, 'line_content'):  # Gin's own Location.
            token = _UNPARSED_TOKEN.search(error.args[0])
            message = (_explain_unparsed_token(token.group(1), error)
                       if token else error.args[0])
            return _located(message, location.filename,
                            location.line_num, (location.char_num or 0) + 1,
                            location.line_content)
        if error.lineno is not None:  # Python's, e.g. an IndentationError.
            return _located(f'{error.msg}.', error.filename, error.lineno,
                            error.offset, error.text or '')
    raw_lines = str(error).strip().splitlines()
    lines = [line.strip() for line in raw_lines]
    lines = [line for line in lines if line and set(line) != {'^'}]
    text = lines[0] if lines else type(error).__name__
    if len(lines) >= 3 and lines[1].startswith('In '):
        where = lines[1][3:].replace('bindings string', 'a --config binding,')
        column = _caret_column(raw_lines)
        if column:
            where += f', column {column}'
        text += f' In {where}: {lines[2]!r}.'
    else:
        text = ' '.join([text] + lines[1:])
    return f'{text} {suggestion(str(error))}'.strip()
