"""Errors the user can act on, at the bottom of the layering.

Every package may raise them (they import nothing of Alpacka), and the
command lines (``python3 -m alpacka.runner``, ``python3 -m alpacka.sweep``)
report them as one paragraph without a traceback: a UserError exits with
code 2, a CorruptCheckpointError or RayUnavailableError with code 1.
"""


class UserError(Exception):
    """A problem in the user's input that they can fix (exit code 2)."""


class ConfigError(UserError):
    """A wrong Gin binding or config file."""


class OutputDirError(UserError):
    """The output directory cannot be used."""


class NetworkSignatureError(UserError, ValueError):
    """The network's signature does not fit the env's spaces."""


class CorruptCheckpointError(Exception):
    """A checkpoint file exists but cannot be read."""


class RayUnavailableError(Exception):
    """Ray could not be started or reached (a problem of the machine or the
    cluster, not of the config: exit code 1, a re-run may succeed)."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written; the previous one is whole."""


class MetricsWriteError(OSError):
    """metrics.jsonl could not be written (a full disk, a size limit)."""


__all__ = ['CheckpointWriteError', 'ConfigError', 'CorruptCheckpointError',
           'MetricsWriteError', 'NetworkSignatureError', 'OutputDirError',
           'RayUnavailableError', 'UserError']
