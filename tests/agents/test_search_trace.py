"""Tests of agent callbacks and SearchTraceCallback on real envs and steppers."""

import json
import os

import gin
import numpy as np
import pytest
from PIL import Image

from alpacka import agents
from alpacka import envs
from alpacka import errors
from alpacka import runner as runner_lib
from alpacka.agents import search_graph
from alpacka.agents import search_trace
from alpacka.batch_steppers import local
from alpacka.batch_steppers import ray as ray_stepper
from alpacka.utils import run_directory

TIME_LIMIT = 6


class EventLog(agents.AgentCallback):
    """Logs every hook call in EventLog.events (class-wide, cleared by the
    tests)."""

    events = []

    def on_episode_begin(self, env, observation, epoch):
        self.events.append(('begin', self._agent.actor_index, epoch))

    def on_real_step(self, agent_info, action, observation, reward, done):
        self.events.append(('step', self._agent.actor_index, done))

    def on_episode_end(self):
        self.events.append(('end', self._agent.actor_index))


class GraphSnapshot:
    """The agent's graph below a root at one instant: per state, its
    ``(count, value, terminal, child states or None)``."""

    def __init__(self, root):
        self.root = root.state
        self.stats = {}
        frontier = [root]
        while frontier:
            node = frontier.pop()
            if node.state in self.stats:
                continue
            children = node.children
            self.stats[node.state] = (
                node.count, node.value, node.terminal,
                None if children is None else [c.state for c in children])
            frontier.extend(children or ())

    def state_at(self, path):
        """The state reached from the root by the child indices of path."""
        state = self.root
        for index in path:
            state = self.stats[state][3][index]
        return state


class GraphStats(agents.AgentCallback):
    """After each real step, a GraphSnapshot of the agent's graph below the
    root it searched from (what the trace should record)."""

    steps = []

    def __init__(self, agent):
        super().__init__(agent)
        self._env = None
        self._root_state = None

    def on_episode_begin(self, env, observation, epoch):
        self._env = env
        self._root_state = env.clone_state()

    def on_real_step(self, agent_info, action, observation, reward, done):
        self.steps.append(GraphSnapshot(
            self._agent.graph.nodes[self._root_state]))
        self._root_state = self._env.clone_state()


def mcts_agent(**kwargs):
    """A network-free DeterministicMCTSAgent (UCT with zero-value leaves)."""
    return agents.DeterministicMCTSAgent(
        n_passes=kwargs.pop('n_passes', 12), use_policy=False,
        use_value_network=False, **kwargs)


def record_episodes(tmp_path, callback_classes, n_envs=2, n_batches=1,
                    env_fn=envs.CartPole, agent_fn=mcts_agent, seed=0):
    """Plays n_batches of seeded episodes with the callbacks bound; returns
    the episodes of every batch."""
    gin.bind_parameter('OnlineAgent.callback_classes', callback_classes)
    stepper = local.LocalBatchStepper(env_fn, agent_fn, None, n_envs,
                                      output_dir=str(tmp_path), seed=seed)
    try:
        return [stepper.run_episode_batch(None, epoch=batch,
                                          time_limit=TIME_LIMIT)
                for batch in range(n_batches)]
    finally:
        stepper.close()


def read_traces(tmp_path):
    """{file name: trace} of the traces written into the stepper dir."""
    directory = run_directory.stepper_traces_dir(str(tmp_path))
    return {name: json.load(open(os.path.join(directory, name),
                                 encoding='utf-8'))
            for name in sorted(os.listdir(directory))
            if name.endswith(run_directory.TRACE_SUFFIX)}


def node_paths(nodes):
    """The path of actions from the root (as child indices) of each node."""
    paths = {0: ()}
    for node in nodes[1:]:
        paths[node['id']] = paths[node['parent']] + (node['action'],)
    return paths


def episode_events(epoch, length=TIME_LIMIT):
    """EventLog's events of env 0's whole episode of length steps."""
    return ([('begin', 0, epoch)] + [('step', 0, False)] * (length - 1) +
            [('step', 0, True), ('end', 0)])


def test_hooks_run_in_order_in_episodes_and_in_step_collection(tmp_path):
    EventLog.events.clear()
    record_episodes(tmp_path, [EventLog], n_envs=1,
                    agent_fn=agents.RandomAgent)
    assert EventLog.events == episode_events(0)

    EventLog.events.clear()
    stepper = local.LocalBatchStepper(envs.CartPole, agents.RandomAgent, None,
                                      1, seed=0)
    stepper.run_steps(None, n_steps=TIME_LIMIT + 2, epoch=3,
                      time_limit=TIME_LIMIT)
    stepper.close()
    # One whole episode, then the first two steps of the next.
    assert EventLog.events == episode_events(3) + [
        ('begin', 0, 3), ('step', 0, False), ('step', 0, False)]
    assert len(agents.RandomAgent().callbacks) == 1
    assert not agents.OnlineAgent(callback_classes=()).callbacks


def small_sokoban():
    """A small Sokoban room: moves back and forth make transpositions and
    loops in the graph."""
    return envs.Sokoban(dim_room=(6, 6), num_boxes=1)


@pytest.mark.parametrize('env_fn', [envs.CartPole, small_sokoban])
def test_trace_matches_the_agents_graph_at_every_step(tmp_path, env_fn):
    GraphStats.steps.clear()
    [episodes] = record_episodes(
        tmp_path, [agents.SearchTraceCallback, GraphStats], n_envs=1,
        env_fn=env_fn)
    [trace] = read_traces(tmp_path).values()
    episode = episodes[0]
    assert trace['length'] == len(trace['steps']) == len(episode.transition_batch.action)
    assert trace['return'] == pytest.approx(episode.return_)
    assert trace['agent'] == 'DeterministicMCTSAgent'
    assert trace['mode'] == 'train' and trace['epoch'] == 0
    assert [step['action'] for step in trace['steps']] == list(
        episode.transition_batch.action)
    n_actions = env_fn().action_space.n
    for step, graph, histogram in zip(
            trace['steps'], GraphStats.steps,
            episode.transition_batch.agent_info['action_histogram']):
        nodes = step['nodes']
        # max_nodes (200) is more than the graph: every node is recorded,
        # once (a node reached along two paths is one node).
        assert len(nodes) == len(graph.stats)
        states = [graph.state_at(path) for path in node_paths(nodes).values()]
        assert len(set(states)) == len(nodes)
        ids = {state: index for index, state in enumerate(states)}
        for node, state in zip(nodes, states):
            count, value, terminal, children = graph.stats[state]
            assert (node['count'], node['terminal'], node['expanded']) == (
                count, terminal, children is not None)
            assert node['value'] == pytest.approx(value)
            if children is not None:
                assert [edge['action'] for edge in node['children']] == list(
                    range(n_actions))
                # Edges (tree edges, transpositions and loops alike) lead to
                # the nodes of the children's states.
                assert [edge['node'] for edge in node['children']] == [
                    ids[child] for child in children]
        assert step['root_value'] == pytest.approx(graph.stats[graph.root][1])
        assert step['agent_info']['action_histogram'] == pytest.approx(
            histogram)


def test_max_nodes_keeps_the_most_visited_nodes(tmp_path):
    GraphStats.steps.clear()
    gin.bind_parameter('SearchTraceCallback.max_nodes', 5)
    record_episodes(tmp_path, [agents.SearchTraceCallback, GraphStats],
                    n_envs=1, agent_fn=lambda: mcts_agent(n_passes=30))
    [trace] = read_traces(tmp_path).values()
    for step, graph in zip(trace['steps'], GraphStats.steps):
        nodes = step['nodes']
        assert len(nodes) == 5 < len(graph.stats)
        paths = node_paths(nodes)
        recorded = {graph.state_at(path) for path in paths.values()}
        left_out = [count for state, (count, *_) in graph.stats.items()
                    if state not in recorded]
        assert max(left_out) <= min(node['count'] for node in nodes)
        # Edges to left-out children say so.
        for node in nodes:
            for edge in node['children']:
                child = graph.state_at(paths[node['id']] + (edge['action'],))
                assert (edge['node'] is None) == (child not in recorded)


def test_sampling_is_seeded_and_every_n_episodes_counts_across_envs(tmp_path):
    gin.bind_parameter('SearchTraceCallback.every_n_episodes', 3)
    record_episodes(tmp_path / 'every', [agents.SearchTraceCallback],
                    n_envs=4, n_batches=2,
                    agent_fn=lambda: mcts_agent(n_passes=2))
    # Episodes 0..7 of 4 envs in lock-step: 0, 3 (epoch 0) and 6 (epoch 1).
    assert list(read_traces(tmp_path / 'every')) == [
        'train-epoch0000-env000-episode0000.json',
        'train-epoch0000-env003-episode0000.json',
        'train-epoch0001-env002-episode0001.json']

    gin.clear_config()
    gin.bind_parameter('SearchTraceCallback.sample_rate', 0.5)
    names = []
    for attempt in range(2):
        record_episodes(tmp_path / str(attempt), [agents.SearchTraceCallback],
                        n_envs=8, agent_fn=lambda: mcts_agent(n_passes=2))
        names.append(list(read_traces(tmp_path / str(attempt))))
    assert names[0] == names[1]
    assert 0 < len(names[0]) < 8


class Pictures(agents.AgentCallback):
    """The env's picture of each real state, rendered after the other
    callbacks' hooks (Pictures.frames: one list per episode)."""

    frames = []

    def __init__(self, agent):
        super().__init__(agent)
        self._env = None

    def on_episode_begin(self, env, observation, epoch):
        self._env = env
        self.frames.append([env.render_rgb()])

    def on_real_step(self, agent_info, action, observation, reward, done):
        self.frames[-1].append(self._env.render_rgb())


def read_png(path):
    """A PNG file's pixels, [height, width, 3] uint8."""
    with Image.open(path) as image:
        return np.asarray(image.convert('RGB'))


def test_rendered_states_are_png_files_and_the_episode_is_unchanged(tmp_path):
    [plain] = record_episodes(tmp_path / 'plain', [], env_fn=small_sokoban)
    gin.bind_parameter('SearchTraceCallback.render_states', True)
    gin.bind_parameter('SearchTraceCallback.max_nodes', 6)
    Pictures.frames.clear()
    [recorded] = record_episodes(tmp_path / 'traced',
                                 [agents.SearchTraceCallback, Pictures],
                                 env_fn=small_sokoban)
    for one, other in zip(plain, recorded):
        assert one.return_ == other.return_
        for field in ('observation', 'action', 'reward', 'next_observation'):
            np.testing.assert_array_equal(
                getattr(one.transition_batch, field),
                getattr(other.transition_batch, field))
        np.testing.assert_array_equal(
            one.transition_batch.agent_info['qualities'],
            other.transition_batch.agent_info['qualities'])

    traces_dir = run_directory.stepper_traces_dir(str(tmp_path / 'traced'))
    traces = read_traces(tmp_path / 'traced')
    assert len(traces) == 2
    images = set()
    for trace, frames in zip(traces.values(), Pictures.frames):
        # Each step's image is the real state the agent searched from (and
        # the env was back in the real state when Pictures rendered it).
        for step, frame in zip(trace['steps'], frames):
            assert step['image'] == step['nodes'][0]['image']
            np.testing.assert_array_equal(
                read_png(os.path.join(traces_dir, step['image'])), frame)
            images.update(node['image'] for node in step['nodes'])
        np.testing.assert_array_equal(
            read_png(os.path.join(traces_dir, trace['final_image'])),
            frames[-1])
        images.add(trace['final_image'])
    # One file per distinct picture, every one named by a trace.
    files = os.listdir(os.path.join(traces_dir,
                                    run_directory.TRACE_IMAGES_DIR))
    assert sorted(files) == sorted(os.path.basename(path) for path in images)
    assert len({read_png(os.path.join(traces_dir, path)).tobytes()
                for path in images}) == len(images)
    assert not [name for name in os.listdir(traces_dir) if name.endswith('.tmp')]


def test_envs_without_render_rgb_render_in_rgb_array_mode():
    env = envs.CartPole(render_mode='rgb_array')
    env.reset(seed=0)
    frame = search_trace.render_frame(env)
    assert frame.shape == (400, 600, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, env.render())


def test_bad_uses_get_one_paragraph(tmp_path):
    with pytest.raises(errors.ConfigError, match=r'RandomAgent keeps none'):
        record_episodes(tmp_path, [agents.SearchTraceCallback],
                        agent_fn=agents.RandomAgent)
    gin.bind_parameter('SearchTraceCallback.render_states', True)
    with pytest.raises(errors.ConfigError, match=r"render_mode='rgb_array'"):
        record_episodes(tmp_path, [agents.SearchTraceCallback])
    gin.clear_config()
    gin.bind_parameter('SearchTraceCallback.sample_rate', 0.5)
    gin.bind_parameter('SearchTraceCallback.every_n_episodes', 2)
    with pytest.raises(errors.ConfigError, match='Set one of them'):
        agents.SearchTraceCallback(agent=None)
    gin.clear_config()
    gin.bind_parameter('OnlineAgent.callback_classes',
                       [agents.SearchTraceCallback])
    agent = mcts_agent()
    env = envs.CartPole()
    with pytest.raises(errors.ConfigError, match='nowhere to write'):
        for _ in agent.solve(env, time_limit=1):
            pass
    assert isinstance(agent.graph, search_graph.SearchGraph)


def test_a_runner_run_writes_training_and_evaluation_traces(tmp_path):
    gin.parse_config("""
        Runner.env_class = @alpacka.envs.CartPole
        Runner.agent_class = @alpacka.agents.DeterministicMCTSAgent
        DeterministicMCTSAgent.n_passes = 4
        DeterministicMCTSAgent.use_policy = False
        DeterministicMCTSAgent.use_value_network = False
        Runner.n_envs = 2
        Runner.episode_time_limit = 4
        Runner.n_epochs = 1
        Runner.seed = 0
        Runner.callback_classes = [@alpacka.runner.callbacks.EvaluationCallback]
        EvaluationCallback.n_episodes = 1
        OnlineAgent.callback_classes = [
            @alpacka.agents.search_trace.SearchTraceCallback]
        SearchTraceCallback.max_nodes = 3
    """)
    runner_lib.Runner(str(tmp_path)).run()
    names = sorted(os.listdir(run_directory.traces_dir(str(tmp_path))))
    assert names == ['eval-epoch0000-env000-episode0000.json',
                     'train-epoch0000-env000-episode0000.json',
                     'train-epoch0000-env001-episode0000.json']


def test_ray_workers_write_into_the_same_directory(tmp_path, ray_cluster):
    del ray_cluster
    # Bound in config text: workers parse the driver's config string.
    gin.parse_config([
        'OnlineAgent.callback_classes = '
        '[@alpacka.agents.search_trace.SearchTraceCallback]',
        'SearchTraceCallback.max_nodes = 3'])
    stepper = ray_stepper.RayBatchStepper(
        envs.CartPole, mcts_agent, None, n_envs=2, output_dir=str(tmp_path),
        seed=0, n_workers=2)
    try:
        stepper.run_episode_batch(None, epoch=0, time_limit=3)
    finally:
        stepper.close()
    assert list(read_traces(tmp_path)) == [
        'train-epoch0000-env000-episode0000.json',
        'train-epoch0000-env001-episode0000.json']
