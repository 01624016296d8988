"""A run directory with recorded search traces, for the explorer's tests."""

import json
import os

import gin
import pytest

from alpacka import agents
from alpacka import envs
from alpacka.batch_steppers import local
from alpacka.utils import run_directory

N_ENVS = 2
TIME_LIMIT = 5


@pytest.fixture(scope='session', name='recorded_run')
def fixture_recorded_run(tmp_path_factory):
    """A run directory whose batch_stepper/traces holds N_ENVS rendered
    traces of a network-free DeterministicMCTSAgent on small Sokoban rooms
    (7x7, 2 boxes: moves back and forth make transpositions and loops).

    Returns:
        ``(run directory, {trace file name: trace})``.
    """
    run_dir = str(tmp_path_factory.mktemp('run'))
    gin.clear_config()
    gin.bind_parameter('OnlineAgent.callback_classes',
                       [agents.SearchTraceCallback])
    gin.bind_parameter('SearchTraceCallback.render_states', True)
    gin.bind_parameter('SearchTraceCallback.max_nodes', 12)
    stepper = local.LocalBatchStepper(
        lambda: envs.Sokoban(dim_room=(7, 7), num_boxes=2),
        lambda: agents.DeterministicMCTSAgent(
            n_passes=10, use_policy=False, use_value_network=False),
        None, N_ENVS, output_dir=run_directory.batch_stepper_dir(run_dir),
        seed=0)
    try:
        stepper.run_episode_batch(None, epoch=0, time_limit=TIME_LIMIT)
    finally:
        stepper.close()
        gin.clear_config()
    traces_dir = run_directory.traces_dir(run_dir)
    recorded = {}
    for name in sorted(os.listdir(traces_dir)):
        if name.endswith(run_directory.TRACE_SUFFIX):
            with open(os.path.join(traces_dir, name), encoding='utf-8') as file:
                recorded[name] = json.load(file)
    assert len(recorded) == N_ENVS
    assert all(trace['length'] == TIME_LIMIT for trace in recorded.values())
    return run_dir, recorded
