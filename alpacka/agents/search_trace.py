"""SearchTraceCallback: records sampled episodes' search trees to files.

After each real step of a recorded episode the callback snapshots the
agent's search graph (``agent.graph``: a ``search_graph.SearchGraph``) from
the root the agent searched from, and at the episode's end writes one JSON
file per episode (see ``alpacka.utils.run_directory`` for where and under
which name); ``python3 -m alpacka.trace_explorer OUTPUT_DIR`` shows them.

A trace file holds one JSON object::

    format, version      'alpacka.search_trace', 1
    mode                 'train' or 'eval' (the agent's evaluation flag)
    epoch, env_index, episode_index
    agent, env           class names
    action_start         the first action of the env's Discrete space
    discount             the search's discount (Q = reward + discount * V)
    max_nodes            the cap on nodes per step's tree
    return, length       the episode's return and number of steps
    final_image          the last state's image (or null)
    steps                one object per real step:
        step, action, reward, done, root_value
        agent_info       the agent's per-step info (action_histogram,
                         qualities, ...), arrays as lists
        image            the root state's image (or null)
        n_graph_nodes    nodes in the agent's graph (recorded or not)
        nodes            the recorded tree, root first (id 0):
            id, parent, action, reward, prior   parent: the id of the node
                         it was first reached from; action, reward and
                         prior (P(parent, action): the network's policy,
                         without the root's exploration noise; null without
                         a policy) of that edge (null for the root)
            count, value, terminal, expanded    N(s), V(s), ...
            children     for an expanded node, one edge per action:
                         {action, node, reward, prior}; node is the child's
                         id, or null if it was left out (max_nodes); a
                         child whose parent is another node is a
                         transposition or a loop
            image        the state's image (or null)

Images are PNG files in the traces directory's ``images/``, named by a digest
of the picture, so a state seen in many steps and episodes is stored once.

Non-finite floats are written as null (JSON has no infinities).
"""

import hashlib
import heapq
import io
import json
import math
import os
from typing import Annotated, Any, Dict, Hashable, List, Optional, Tuple

import gymnasium
import numpy as np

from alpacka import errors
from alpacka.agents import callbacks
from alpacka.utils import atomic_files
from alpacka.utils import run_directory
from alpacka.utils import validation

TRACE_FORMAT = 'alpacka.search_trace'
TRACE_VERSION = 1


def jsonable(value: Any) -> Any:
    """value with numpy arrays and scalars as lists and Python numbers, and
    non-finite floats as None (JSON has no NaN or infinities)."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def snapshot_tree(root: Any, max_nodes: int, action_start: int = 0
                  ) -> Tuple[List[Dict[str, Any]], List[Any]]:
    """The tree below root, at most max_nodes nodes, most visited first.

    Best-first from the root by visit count: a node is recorded only after
    the node it is reached from, so the recorded nodes form a tree, and it
    holds the max_nodes most visited nodes wherever a child has no more
    visits than its parent (always, but for transpositions).

    Args:
        root: The root Node (search_graph.Node: state, children, rewards,
            prior, count, value, terminal).
        max_nodes: The cap on recorded nodes.
        action_start: The action of child index 0 (the Discrete space's
            start).

    Returns:
        ``(records, nodes)``: the node records (see the module docstring;
        without images) and the Nodes they describe, aligned; record i has
        id i.
    """
    ids = {root: 0}
    nodes = [root]
    records = [_node_record(0, root, None, None, None, None)]
    # (-count, order, parent id, child index): order breaks ties first-come.
    frontier = []
    order = 0

    def push_children(node_id: int) -> None:
        nonlocal order
        for index, child in enumerate(nodes[node_id].children or ()):
            heapq.heappush(frontier, (-child.count, order, node_id, index))
            order += 1

    push_children(0)
    while frontier and len(records) < max_nodes:
        _, _, parent_id, index = heapq.heappop(frontier)
        parent = nodes[parent_id]
        child = parent.children[index]
        if child in ids:
            continue  # A transposition or a loop: recorded already.
        node_id = len(records)
        ids[child] = node_id
        nodes.append(child)
        records.append(_node_record(
            node_id, child, parent_id, action_start + index,
            parent.rewards[index],
            None if parent.prior is None else parent.prior[index]))
        push_children(node_id)

    for record, node in zip(records, nodes):
        if node.children is not None:
            record['children'] = [
                {'action': action_start + index, 'node': ids.get(child),
                 'reward': jsonable(float(node.rewards[index])),
                 'prior': (None if node.prior is None else
                           jsonable(float(node.prior[index])))}
                for index, child in enumerate(node.children)]
    return records, nodes


def _node_record(node_id: int, node: Any, parent: Optional[int],
                 action: Optional[int], reward: Optional[float],
                 prior: Optional[float]) -> Dict[str, Any]:
    return {
        'id': node_id, 'parent': parent, 'action': action,
        'reward': None if reward is None else jsonable(float(reward)),
        'prior': None if prior is None else jsonable(float(prior)),
        'count': int(node.count), 'value': jsonable(float(node.value)),
        'terminal': bool(node.terminal),
        'expanded': node.children is not None, 'children': [],
        'image': None}


def render_frame(env: gymnasium.Env) -> np.ndarray:
    """The env's current state as an RGB picture [height, width, 3] uint8.

    ``env.render_rgb()`` where the env has it, else ``env.render()`` (which
    needs ``render_mode='rgb_array'``).

    Raises:
        ConfigError: the env gives no RGB picture.
    """
    render_rgb = getattr(env, 'render_rgb', None)
    if callable(render_rgb):
        frame, problem = render_rgb(), 'render_rgb() returned'
    elif getattr(env, 'render_mode', None) == 'rgb_array':
        frame, problem = env.render(), 'render() returned'
    else:
        frame, problem = None, (f'it has no render_rgb() and its render_mode '
                                f'is {getattr(env, "render_mode", None)!r}:')
    frame = None if frame is None else np.asarray(frame)
    if (frame is None or frame.ndim != 3 or frame.shape[-1] not in (3, 4)):
        raise errors.ConfigError(
            f'SearchTraceCallback.render_states is True, but '
            f'{type(env).__name__} gives no RGB picture of its state '
            f'({problem} '
            f'{"None" if frame is None else f"shape {frame.shape}"}). Make '
            f'the env with render_mode=\'rgb_array\' (e.g. Runner.env_kwargs '
            f'= {{\'render_mode\': \'rgb_array\'}}), give it a render_rgb() '
            f'method, or set SearchTraceCallback.render_states = False.')
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    return frame[..., :3]


class _ImageStore:
    """PNG files in a directory, one per distinct picture (named by its
    digest)."""

    def __init__(self, directory: str):
        self._directory = directory
        self._known = set()

    def add(self, frame: np.ndarray) -> str:
        """Stores frame (unless stored already); returns its path relative
        to the traces directory."""
        frame = np.ascontiguousarray(frame)
        digest = hashlib.sha1(
            repr(frame.shape).encode() + frame.tobytes()).hexdigest()[:20]
        name = f'{digest}.png'
        path = os.path.join(self._directory, name)
        if name not in self._known and not os.path.exists(path):
            from PIL import Image  # pylint: disable=import-outside-toplevel
            buffer = io.BytesIO()
            # Fast compression: rendering traces is slow enough.
            Image.fromarray(frame).save(buffer, format='PNG', compress_level=1)
            os.makedirs(self._directory, exist_ok=True)
            # Whole or absent after a crash; not fsync-ed (there are many).
            with atomic_files.atomic_write(path, durable=False) as file:
                file.write(buffer.getvalue())
        self._known.add(name)
        return f'{run_directory.TRACE_IMAGES_DIR}/{name}'


@validation.configurable(module='alpacka.agents.search_trace')
class SearchTraceCallback(callbacks.AgentCallback):
    """Records the search trees of sampled episodes (an AgentCallback).

    Bind it as ``OnlineAgent.callback_classes =
    [@alpacka.agents.search_trace.SearchTraceCallback]``. The agent must
    keep its search graph in ``agent.graph`` (DeterministicMCTSAgent), keyed
    by the env states it searched from. Recording does not change the
    episode: the callback only clones states, and after rendering restores
    the env's real state.

    Which episodes: each agent numbers its episodes k = 0, 1, ...; with
    every_n_episodes the episode is recorded when
    ``k * n_actors + actor_index`` (its number in a batch of envs playing in
    lock-step) is a multiple of it; with sample_rate, with that probability,
    drawn from a generator seeded by (seed, actor_index, k, evaluation), not
    the agent's own, so recording leaves the agent's randomness alone; with
    neither, every episode.

    Args:
        agent: The agent (which passes itself).
        sample_rate: Fraction of episodes recorded (None: see above).
        every_n_episodes: Record every this many episodes (None: see above;
            not with sample_rate).
        max_nodes: Nodes recorded per step's tree, the most visited first.
        render_states: Store a PNG image of each recorded node's state,
            rendered by the env (``render_rgb()``, or ``render()`` with
            ``render_mode='rgb_array'``). Each state is rendered once per
            episode, but that is one render per new node (CartPole's
            pygame render: about 5 ms): record a few episodes.
        output_dir: The directory the traces go to (None: ``traces/`` in
            the agent's output_dir, i.e. ``<run>/batch_stepper/traces`` in a
            Runner's run; see alpacka.utils.run_directory).
        seed: Seeds the sampling by sample_rate.
    """

    def __init__(
            self,
            agent: Annotated[Any, validation.Unchecked(
                'the agent, which passes itself')],
            sample_rate: Annotated[
                Optional[float], validation.InRange(0, 1)] = None,
            every_n_episodes: Annotated[
                Optional[int], validation.AtLeast(1)] = None,
            max_nodes: Annotated[int, validation.AtLeast(1)] = 200,
            render_states: bool = False,
            output_dir: Optional[str] = None,
            seed: Annotated[int, validation.AtLeast(0)] = 0):
        super().__init__(agent)
        if sample_rate is not None and every_n_episodes is not None:
            raise errors.ConfigError(
                f'SearchTraceCallback got both sample_rate = {sample_rate} '
                f'and every_n_episodes = {every_n_episodes}; they are two '
                f'ways to choose the recorded episodes. Set one of them '
                f'(or neither, to record every episode).')
        self._sample_rate = sample_rate
        self._every_n_episodes = every_n_episodes
        self._max_nodes = max_nodes
        self._render_states = render_states
        self._output_dir = output_dir
        self._seed = seed
        self._n_episodes = 0
        self._trace: Optional[Dict[str, Any]] = None
        self._traces_dir = None
        self._env = None
        self._root_state = None
        self._images: Optional[_ImageStore] = None
        self._state_images: Dict[Hashable, str] = {}

    @property
    def recording(self) -> bool:
        """Whether the current episode is being recorded."""
        return self._trace is not None

    # -- Hooks. ------------------------------------------------------------

    def on_episode_begin(self, env: gymnasium.Env, observation: Any,
                         epoch: Optional[int]) -> None:
        del observation
        self._check_agent()
        episode_index = self._n_episodes
        self._n_episodes += 1
        self._trace = None
        if not self._chooses(episode_index):
            return
        agent = self._agent
        self._traces_dir = self._directory()
        self._env = env
        self._root_state = env.clone_state()
        self._trace = {
            'format': TRACE_FORMAT, 'version': TRACE_VERSION,
            'mode': 'eval' if agent.evaluation else 'train',
            'epoch': epoch, 'env_index': int(agent.actor_index),
            'episode_index': episode_index,
            'agent': type(agent).__name__, 'env': type(env).__name__,
            'action_start': int(getattr(env.action_space, 'start', 0)),
            'discount': float(agent.graph.discount),
            'max_nodes': self._max_nodes, 'return': 0.0, 'length': 0,
            'final_image': None, 'steps': []}
        if self._render_states:
            self._images = _ImageStore(os.path.join(
                self._traces_dir, run_directory.TRACE_IMAGES_DIR))
            self._state_images = {}

    def on_real_step(self, agent_info: Any, action: Any, observation: Any,
                     reward: float, done: bool) -> None:
        del observation
        if self._trace is None:
            return
        root = self._agent.graph.nodes.get(self._root_state)
        if root is None:
            raise errors.ConfigError(
                f'SearchTraceCallback found no node of the state the '
                f'{type(self._agent).__name__} acted in in its graph: it '
                f'records agents whose graph (agent.graph.nodes) is keyed '
                f'by the env states they search from '
                f'(DeterministicMCTSAgent). Remove SearchTraceCallback from '
                f'OnlineAgent.callback_classes for this agent.')
        records, nodes = snapshot_tree(root, self._max_nodes,
                                       self._trace['action_start'])
        trace = self._trace
        step = {
            'step': len(trace['steps']), 'action': jsonable(action),
            'reward': jsonable(float(reward)), 'done': bool(done),
            'root_value': jsonable(float(root.value)),
            'agent_info': jsonable(dict(agent_info or {})),
            'image': None, 'n_graph_nodes': len(self._agent.graph.nodes),
            'nodes': records}
        trace['steps'].append(step)
        trace['return'] += float(reward)
        trace['length'] += 1
        real_state = self._env.clone_state()
        if self._render_states:
            for record, node in zip(records, nodes):
                record['image'] = self._image_of(node.state)
            step['image'] = records[0]['image']
            if done:
                trace['final_image'] = self._image_of(real_state)
            self._env.restore_state(real_state)
        self._root_state = real_state

    def on_episode_end(self) -> None:
        if self._trace is None:
            return
        trace, self._trace = self._trace, None
        self._state_images = {}
        self._env = self._root_state = None
        directory = self._traces_dir
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, run_directory.trace_file_name(
            trace['mode'], trace['epoch'], trace['env_index'],
            trace['episode_index']))
        with atomic_files.atomic_write(path, 'w') as file:
            # One string, one write: json.dump writes piece by piece.
            file.write(json.dumps(trace, allow_nan=False,
                                  separators=(',', ':')))

    # -- Helpers. ----------------------------------------------------------

    def _check_agent(self) -> None:
        graph = getattr(self._agent, 'graph', None)
        if not hasattr(graph, 'nodes'):
            raise errors.ConfigError(
                f'SearchTraceCallback records search trees, but '
                f'{type(self._agent).__name__} keeps none (it has no '
                f'`graph` with `nodes`, as DeterministicMCTSAgent has). Use '
                f'it with DeterministicMCTSAgent, or remove it from '
                f'OnlineAgent.callback_classes.')

    def _chooses(self, episode_index: int) -> bool:
        agent = self._agent
        if self._every_n_episodes is not None:
            number = episode_index * agent.n_actors + agent.actor_index
            return number % self._every_n_episodes == 0
        if self._sample_rate is not None:
            rng = np.random.default_rng([self._seed, agent.actor_index,
                                         episode_index, int(agent.evaluation)])
            return bool(rng.random() < self._sample_rate)
        return True

    def _directory(self) -> str:
        if self._output_dir is not None:
            return self._output_dir
        if self._agent.output_dir is None:
            raise errors.ConfigError(
                f'SearchTraceCallback has nowhere to write: the '
                f'{type(self._agent).__name__}\'s batch stepper has no '
                f'output directory (agents of a Runner\'s run write into '
                f'<output_dir>/batch_stepper/traces). Set '
                f'SearchTraceCallback.output_dir.')
        return run_directory.stepper_traces_dir(self._agent.output_dir)

    def _image_of(self, state: Hashable) -> str:
        """The image path of state, rendered once per episode (rendering
        moves the env to state: the caller restores the real one)."""
        image = self._state_images.get(state)
        if image is None:
            self._env.restore_state(state)
            image = self._images.add(render_frame(self._env))
            self._state_images[state] = image
        return image
