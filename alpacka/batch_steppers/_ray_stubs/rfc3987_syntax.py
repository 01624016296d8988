"""Keeps the optional rfc3987_syntax out of the Ray processes Alpacka starts.

Every Ray process imports jsonschema, which imports rfc3987_syntax when it is
installed (to check URI formats, which Ray never asks for); that import alone
costs about 2 s of CPU per process, enough on a loaded machine for a raylet
to give up on its agents (ray-project/ray#65983). init_ray puts this
directory first on the PYTHONPATH of a local Ray instance's processes, so
jsonschema sees the package as absent, as it is in a minimal install.
"""

raise ImportError('rfc3987_syntax is kept out of Ray processes by Alpacka '
                  '(alpacka/batch_steppers/_ray_stubs).')
