"""The one error type of the plot command."""


class PlotError(Exception):
    """A problem with the runs or the arguments; the message says what to do."""
