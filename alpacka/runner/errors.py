"""Alias of alpacka.errors, where the error types now live (below every
package that raises them)."""

from alpacka.errors import (ConfigError, CorruptCheckpointError,
                            NetworkSignatureError, OutputDirError, UserError)

__all__ = ['ConfigError', 'CorruptCheckpointError', 'NetworkSignatureError',
           'OutputDirError', 'UserError']
