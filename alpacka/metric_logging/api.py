"""The logging API: metrics go to every registered logger."""

from typing import Any, Dict, List

_loggers: List[Any] = []


def register_logger(logger: Any) -> None:
    """Adds a logger: an object with log_scalar(name, step, value) and
    log_property(name, value), and optionally flush() and close()."""
    _loggers.append(logger)


def unregister_logger(logger: Any) -> None:
    """Removes a logger added by register_logger (closing it is the caller's job)."""
    _loggers.remove(logger)


def registered_loggers() -> List[Any]:
    """The loggers metrics go to now (a copy)."""
    return list(_loggers)


def log_scalar(name: str, step: int, value: float) -> None:
    """Logs one scalar at a step (the Runner's step is the epoch)."""
    for logger in _loggers:
        logger.log_scalar(name, step, value)


def log_property(name: str, value: Any) -> None:
    """Logs a run property (e.g. a config value), not tied to a step."""
    for logger in _loggers:
        logger.log_property(name, value)


def log_scalar_metrics(prefix: str, step: int, metrics: Dict[str, float]) -> None:
    """Logs every entry of metrics as ``prefix/name``."""
    for name, value in metrics.items():
        log_scalar(f'{prefix}/{name}', step, value)


def flush() -> None:
    """Asks every logger to write out what it buffers."""
    for logger in _loggers:
        if hasattr(logger, 'flush'):
            logger.flush()
