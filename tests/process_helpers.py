"""Whether a process is still running: the one check the tests share."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists and is neither a zombie nor
    dead (Linux: reads /proc/<pid>/stat)."""
    try:
        with open(f'/proc/{pid}/stat', encoding='ascii') as stat_file:
            # The state follows the command name, which is in parentheses
            # and may itself hold spaces or parentheses.
            state = stat_file.read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return False
    return state not in ('Z', 'X')
