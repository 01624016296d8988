"""A progress bar over epochs when stdout is a terminal.

On a terminal the Runner shows a tqdm bar (epochs done, seconds per epoch,
the last ``episode/return_mean`` and ``counters/env_steps``) under the
metric lines, which StdoutLogger prints through ``write_line`` so the bar is
cleared before a line and redrawn after it. When stdout is not a terminal
(a pipe, a file, a test) there is no bar and the output is the plain metric
lines. ``TQDM_DISABLE=1`` turns the bar off on a terminal too.

tqdm is imported only when a bar is shown.
"""

import contextlib
import sys
from typing import Any, Dict, Iterator, List, Optional, TextIO

from alpacka.metric_logging import api

# Metrics shown next to the bar: logged name -> (label, format).
POSTFIX_METRICS = {
    'episode/return_mean': ('return', '{:.2f}'),
    'counters/env_steps': ('env_steps', '{:,.0f}'),
}

# The tqdm bars open now (a line written while one is open goes above it).
_open_bars: List[Any] = []


def is_terminal(stream: Optional[TextIO]) -> bool:
    """Whether a stream is an interactive terminal.

    Args:
        stream: A text stream (None, closed or without isatty: not one).

    Returns:
        True if ``stream.isatty()`` says so.
    """
    isatty = getattr(stream, 'isatty', None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # A closed stream.
        return False


def write_line(line: str, stream: TextIO) -> None:
    """Prints a line; above the progress bar if one is open.

    Args:
        line: The text, without the newline.
        stream: Where to print.
    """
    if _open_bars:
        from tqdm import tqdm  # pylint: disable=import-outside-toplevel
        tqdm.write(line, file=stream)
    else:
        print(line, file=stream)


class EpochProgress:
    """Advances a bar by an epoch; a logger that collects the bar's postfix.

    Made by ``epoch_progress``; ``update()`` does nothing when there is no bar.

    Args:
        tqdm_bar: The tqdm bar (None: no bar).
    """

    def __init__(self, tqdm_bar: Any = None):
        self._bar = tqdm_bar
        self._postfix: Dict[str, str] = {}

    @property
    def shown(self) -> bool:
        """Whether a bar is drawn."""
        return self._bar is not None

    def log_scalar(self, name: str, step: int, value: float) -> None:
        """Remembers the metrics of POSTFIX_METRICS for the next update.

        Args:
            name: Metric name.
            step: Its step (unused: the latest value is shown).
            value: Its value.
        """
        del step
        if name in POSTFIX_METRICS:
            label, number_format = POSTFIX_METRICS[name]
            self._postfix[label] = number_format.format(float(value))

    def log_property(self, name: str, value: Any) -> None:
        """Properties are not shown."""
        del name, value

    def update(self, n_epochs: int = 1) -> None:
        """Advances the bar, showing the latest postfix metrics.

        Args:
            n_epochs: Epochs completed since the last update.
        """
        if self._bar is not None:
            self._bar.set_postfix(self._postfix, refresh=False)
            self._bar.update(n_epochs)


@contextlib.contextmanager
def epoch_progress(total: Optional[int], initial: int = 0,
                   stream: Optional[TextIO] = None) -> Iterator[EpochProgress]:
    """A progress bar over epochs, shown only if stream is a terminal.

    While the bar is open it is registered as a logger (to show a few
    metrics next to it) and StdoutLogger's lines are written above it.

    Args:
        total: Number of epochs of the run (None: unknown, a counter).
        initial: Epochs already done (a resumed run).
        stream: Where the bar goes (default sys.stdout).

    Yields:
        An EpochProgress; call ``update()`` after each epoch.
    """
    stream = stream if stream is not None else sys.stdout
    if not is_terminal(stream):
        yield EpochProgress()
        return
    from tqdm import tqdm  # pylint: disable=import-outside-toplevel
    tqdm_bar = tqdm(total=total, initial=initial, desc='epochs', unit='epoch',
               file=stream, dynamic_ncols=True, mininterval=0, leave=True)
    progress = EpochProgress(tqdm_bar)
    _open_bars.append(tqdm_bar)
    api.register_logger(progress)
    try:
        yield progress
    finally:
        api.unregister_logger(progress)
        _open_bars.remove(tqdm_bar)
        tqdm_bar.close()
