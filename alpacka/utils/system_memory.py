"""Whether a large allocation fits in the machine's memory, asked before it.

numpy.empty reserves address space without touching it, so a replay far
larger than the memory is "allocated" at once and the run dies hours later,
when the replay fills. Replays ask here first.
"""

import os
from typing import Optional

from alpacka import errors


def available_bytes() -> Optional[int]:
    """Memory available to new allocations (Linux's MemAvailable), or None
    where it cannot be read."""
    try:
        with open('/proc/meminfo', encoding='ascii') as meminfo:
            for line in meminfo:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    except (OSError, ValueError, AttributeError):
        return None


def _gigabytes(n_bytes: float) -> str:
    return f'{n_bytes / 2 ** 30:.2f} GiB'


def check_fits(n_bytes: int, what: str, fix: str) -> None:
    """Refuses an allocation larger than the memory available now.

    Args:
        n_bytes: The allocation's size.
        what: What is allocated, for the message (e.g. 'the replay of 1M
            transitions').
        fix: What the user can do, a sentence.

    Raises:
        ConfigError: n_bytes exceeds the available memory.
    """
    available = available_bytes()
    if available is not None and n_bytes > available:
        raise errors.ConfigError(
            f'{what} needs {_gigabytes(n_bytes)} of memory, but this machine '
            f'has {_gigabytes(available)} available. {fix}')
