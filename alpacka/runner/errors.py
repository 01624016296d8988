"""Errors the command line reports as one paragraph, without a traceback."""

from alpacka.utils.pickle_files import CorruptCheckpointError


class UserError(Exception):
    """A problem in the user's input that they can fix (exit code 2)."""


class ConfigError(UserError):
    """A wrong Gin binding or config file."""


class OutputDirError(UserError):
    """The output directory cannot be used."""


class NetworkSignatureError(UserError, ValueError):
    """The network's signature does not fit the env's spaces."""


__all__ = ['ConfigError', 'CorruptCheckpointError', 'NetworkSignatureError',
           'OutputDirError', 'UserError']
