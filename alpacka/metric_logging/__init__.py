"""Metric logging: one API, several sinks.

Code logs through ``log_scalar(name, step, value)``, ``log_property`` and
``log_scalar_metrics``; every registered logger receives the call. Sinks:
StdoutLogger (the CLI registers it), JsonlLogger (``<output_dir>/
metrics.jsonl``, registered by the Runner), TensorBoardLogger and
NeptuneLogger (made on request by ``setup_loggers``). Metrics logged inside
Ray workers are buffered there and replayed into the driver's loggers
(``capture``); on a terminal the Runner shows a progress bar over epochs
(``progress``). ``read_series`` reads a run's metrics.jsonl back
(``reading``). TensorFlow and neptune are imported only by their loggers'
constructors.
"""

from alpacka.metric_logging.api import (flush, log_property, log_scalar,
                                        log_scalar_metrics, register_logger,
                                        registered_loggers, unregister_logger)
from alpacka.metric_logging.capture import BufferingLogger, replay
from alpacka.metric_logging.neptune_logger import (NeptuneLogger,
                                                   NeptuneUnavailableError)
from alpacka.metric_logging.progress import epoch_progress
from alpacka.metric_logging.reading import (read_metrics, read_series,
                                            to_series)
from alpacka.metric_logging.setup import close_loggers, setup_loggers
from alpacka.metric_logging.sinks import (JsonlLogger, StdoutLogger,
                                          truncate_metrics)
from alpacka.metric_logging.tensorboard_logger import TensorBoardLogger

__all__ = ['BufferingLogger', 'JsonlLogger', 'NeptuneLogger',
           'NeptuneUnavailableError', 'StdoutLogger', 'TensorBoardLogger',
           'close_loggers', 'epoch_progress', 'flush', 'log_property',
           'log_scalar', 'log_scalar_metrics', 'read_metrics', 'read_series',
           'register_logger', 'registered_loggers', 'replay',
           'setup_loggers', 'to_series', 'truncate_metrics',
           'unregister_logger']
