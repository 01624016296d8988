"""Metric logging: one API, several sinks (stdout, metrics.jsonl, ...)."""

from alpacka.metric_logging.api import (flush, log_property, log_scalar,
                                        log_scalar_metrics, register_logger,
                                        registered_loggers, unregister_logger)
from alpacka.metric_logging.sinks import (JsonlLogger, StdoutLogger,
                                          read_metrics, truncate_metrics)

__all__ = ['JsonlLogger', 'StdoutLogger', 'flush', 'log_property',
           'log_scalar', 'log_scalar_metrics', 'read_metrics',
           'register_logger', 'registered_loggers', 'truncate_metrics',
           'unregister_logger']
