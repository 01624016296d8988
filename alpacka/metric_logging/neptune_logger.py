"""Neptune sink: a Neptune run (neptune client 1.x) per Alpacka run.

Credentials come from the arguments or, as the neptune client reads them,
from the environment: ``NEPTUNE_API_TOKEN``, ``NEPTUNE_PROJECT``
(``workspace/project``) and ``NEPTUNE_MODE``. With ``NEPTUNE_MODE=offline``
no token, project or network is needed: the client writes the run under
``.neptune/offline/`` in the working directory (or under the directory
``NEPTUNE_DATA_DIRECTORY`` names), and ``neptune sync --project
workspace/project`` uploads it later.

The neptune package is imported only when a NeptuneLogger is made.
"""

import math
import os
import re
import warnings
from typing import Any, Dict, Optional, Sequence

# Modes that talk to Neptune's servers and so need a token and a project.
_ONLINE_MODES = ('async', 'sync', 'read-only')

# Namespaces of the Neptune run for Gin parameters and other properties.
PARAMETERS_NAMESPACE = 'parameters'
PROPERTIES_NAMESPACE = 'properties'


class NeptuneUnavailableError(Exception):
    """Neptune logging cannot start; the message is one line for the user."""


def _summary(error: Exception) -> str:
    """The first line of a neptune exception's long, coloured message."""
    text = re.sub(r'\x1b\[[0-9;]*m', '', str(error))
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith('-'):
            return line
    return type(error).__name__


def _neptune_value(value: Any) -> Any:
    """A value Neptune stores as a field: bool, int, float or str."""
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return str(value)


class NeptuneLogger:
    """Logs scalars as Neptune series and properties as Neptune fields.

    A scalar ``name`` is appended to the series ``run[name]`` with its step
    (the Runner's epoch), so charts have the same names as metrics.jsonl;
    non-finite values are skipped (Neptune rejects them). Gin parameters go
    to ``parameters/<binding>`` and log_property to ``properties/<name>``.

    Args:
        project: ``workspace/project`` (None: NEPTUNE_PROJECT).
        run_name: The run's name in Neptune (its ``sys/name``).
        tags: The run's tags.
        params: ``{name: value}`` stored under ``parameters/`` (e.g. the Gin
            bindings); values other than bool, int, float and str are stored
            as their str().
        mode: Neptune connection mode: 'async' (default), 'sync',
            'offline', 'debug' (None: NEPTUNE_MODE, else 'async').
        api_token: Neptune API token (None: NEPTUNE_API_TOKEN).

    Raises:
        NeptuneUnavailableError: An online mode without a token or project,
            the neptune client is not installed, or it refused to start the
            run (invalid token, unknown project, no connection, ...).
    """

    def __init__(self, project: Optional[str] = None,
                 run_name: Optional[str] = None, tags: Sequence[str] = (),
                 params: Optional[Dict[str, Any]] = None,
                 mode: Optional[str] = None,
                 api_token: Optional[str] = None):
        mode = mode or os.environ.get('NEPTUNE_MODE') or 'async'
        project = project or os.environ.get('NEPTUNE_PROJECT') or None
        api_token = api_token or os.environ.get('NEPTUNE_API_TOKEN') or None
        if mode in _ONLINE_MODES and (api_token is None or project is None):
            missing = ' and '.join(
                name for name, value in (('NEPTUNE_API_TOKEN', api_token),
                                         ('NEPTUNE_PROJECT', project))
                if value is None)
            raise NeptuneUnavailableError(
                f'Neptune logging is off: set {missing} (or NEPTUNE_MODE='
                f'offline to log to .neptune/ and upload later with '
                f'`neptune sync`).')
        try:
            import neptune  # pylint: disable=import-outside-toplevel
        except ImportError as error:
            raise NeptuneUnavailableError(
                'Neptune logging is off: the neptune client is not installed '
                '(pip install neptune).') from error
        try:
            with warnings.catch_warnings():
                # Hardware monitoring looks for GPUs; on CPU machines it
                # warns that NVML is missing.
                warnings.filterwarnings('ignore', message='.*NVML')
                self._run = neptune.init_run(
                    project=project, api_token=api_token, mode=mode,
                    name=run_name, tags=list(tags) or None,
                    # Metrics already arrive as series; a console copy is noise.
                    capture_stdout=False, capture_stderr=False)
        except neptune.exceptions.NeptuneException as error:
            raise NeptuneUnavailableError(
                f'Neptune logging is off: {_summary(error)}') from error
        self._mode = mode
        if params:
            self._run[PARAMETERS_NAMESPACE] = {
                name: _neptune_value(value) for name, value in params.items()}

    @property
    def mode(self) -> str:
        """The Neptune connection mode in use."""
        return self._mode

    def log_scalar(self, name: str, step: int, value: float) -> None:
        """Appends a value to the series ``name`` at ``step``.

        Args:
            name: Series name, e.g. ``episode/return_mean``.
            step: Its step.
            value: Its value; skipped if not finite.
        """
        value = float(value)
        if math.isfinite(value):
            self._run[name].append(value, step=int(step))

    def log_property(self, name: str, value: Any) -> None:
        """Sets the field ``properties/<name>``.

        Args:
            name: Property name.
            value: Its value (non-basic types are stored as str()).
        """
        self._run[f'{PROPERTIES_NAMESPACE}/{name}'] = _neptune_value(value)

    def flush(self) -> None:
        """Writes the client's queue to its local disk storage.

        Does not wait for the upload: in the online modes the client sends
        in the background, and close() waits for it.
        """
        self._run.wait(disk_only=True)

    def close(self) -> None:
        """Stops the Neptune run, waiting for its data to be sent or written."""
        self._run.stop()
