"""``python3 -m alpacka.record OUTPUT_DIR``: watch a run's agent play.

Plays greedy (evaluation-mode) episodes of a run's checkpointed network and
writes the rendered frames as an animated GIF (or an MP4, with imageio and
its ffmpeg plugin). The experiment is rebuilt from the run's ``config.gin``
by the Runner itself, in a scratch directory and with one local env: the
env, agent and network are made exactly as in the run, the env with
``render_mode='rgb_array'``; then the checkpoint's network is restored.
Nothing in the run's directory is written, except the output file.
"""

import argparse
import dataclasses
import os
import sys
import tempfile
from typing import Any, List, Optional

import gin

from alpacka import agents
from alpacka import batch_steppers
from alpacka import errors
from alpacka import trainers
from alpacka.agents import episode_record
from alpacka.agents import in_process
from alpacka.agents import requests
from alpacka.runner import checkpointing
from alpacka.runner import cli
from alpacka.runner import core
from alpacka.runner import failures
from alpacka.runner import startup_checks
from alpacka.utils import run_directory

DEFAULT_OUTPUT = 'episode.gif'
# Step limit of an episode when neither --max_steps nor the run's
# episode_time_limit sets one: the frames are held in memory until written
# (an Atari episode may last 27,000 steps).
DEFAULT_MAX_STEPS = 5000

# Runner bindings replaced for recording: one local env, no training, no
# callbacks, no asynchronous collectors (the curriculum needs step-based
# collection: the env plays with its own params).
_RECORDING_BINDINGS = {
    'n_envs': 1,
    'batch_stepper_class': batch_steppers.LocalBatchStepper,
    'trainer_class': trainers.DummyTrainer,
    'callback_classes': (),
    'async_training': None,
    'curriculum': None,
    'env_steps_per_epoch': None,
    'env_steps_per_train': None,
    'n_precollect_epochs': 0,
    'checkpoint_every': 0,
}


class RecordingError(errors.UserError):
    """The run cannot be recorded as asked (exit code 2)."""


@dataclasses.dataclass
class Recording:
    """What record() played and wrote.

    Attributes:
        path: The file written.
        returns: Each episode's return.
        lengths: Each episode's number of steps.
        n_frames: Frames rendered (steps + 1 per episode).
        frame_shape: (height, width, 3) of a frame.
    """
    path: str
    returns: List[float]
    lengths: List[int]
    n_frames: int
    frame_shape: tuple


def _checkpoint_dir(output_dir: str, checkpoint: str) -> str:
    """The checkpoint to restore: 'latest' or a name like epoch_000012."""
    if not os.path.isdir(output_dir):
        raise RecordingError(
            f'{output_dir} is not a directory. Give the --output_dir of a '
            f'run (python3 -m alpacka.runner ... --output_dir=DIR).')
    if not os.path.isfile(run_directory.config_path(output_dir)):
        raise RecordingError(
            f'{output_dir} holds no {run_directory.CONFIG_FILE}, so it is not '
            f'the output directory of a run. Give the --output_dir of a run.')
    checkpointer = checkpointing.Checkpointer(output_dir)
    if checkpoint != 'latest':
        path = os.path.join(checkpointer.directory, checkpoint)
        if not os.path.isdir(path):
            names = sorted(name for name in os.listdir(checkpointer.directory)
                           if name.startswith('epoch_')) if os.path.isdir(
                               checkpointer.directory) else []
            raise RecordingError(
                f'--checkpoint {checkpoint}: there is no such checkpoint in '
                f'{checkpointer.directory} (there are: '
                f'{", ".join(names) or "none"}). Use --checkpoint latest.')
        return path
    latest = checkpointer.latest()
    if latest is None:
        raise RecordingError(
            f'The run in {output_dir} has no checkpoint yet (one is written '
            f'after each Runner.checkpoint_every epochs). Record it after '
            f'its first checkpoint.')
    return latest


def _bind_for_recording() -> None:
    """Overrides the parsed run config: see _RECORDING_BINDINGS; the env
    renders RGB frames."""
    env_kwargs = dict(gin.query_parameter('Runner.env_kwargs') or {}) if (
        _is_bound('Runner.env_kwargs')) else {}
    env_kwargs['render_mode'] = 'rgb_array'
    with gin.unlock_config():
        gin.bind_parameter('Runner.env_kwargs', env_kwargs)
        for name, value in _RECORDING_BINDINGS.items():
            gin.bind_parameter(f'Runner.{name}', value)


def _is_bound(selector: str) -> bool:
    try:
        gin.query_parameter(selector)
    except ValueError:
        return False
    return True


def _build_runner(scratch_dir: str, seed: int) -> core.Runner:
    """The run's Runner, rebuilt in scratch_dir (see the module doc)."""
    with gin.unlock_config():
        gin.bind_parameter('Runner.seed', seed)
    try:
        with failures.building_experiment():
            return core.Runner(scratch_dir)
    except errors.UserError as error:
        message = failures.one_paragraph(error)
        if 'render_mode' in message:
            raise RecordingError(
                f'The run\'s env cannot render RGB frames: building it with '
                f'render_mode=\'rgb_array\' failed ({message}). Recording '
                f'needs an env that takes render_mode.') from error
        raise


def _record_episode(env: Any, agent: Any, time_limit: Optional[int],
                    frames: List[Any]) -> agents.base.Coroutine:
    """OnlineAgent.solve that renders the env after the reset and after
    each real step (not the steps a planner simulates inside act)."""
    observation = yield from agent.start_episode(env)
    frames.append(_render(env))
    steps = episode_record.EpisodeRecord(observation)
    while not steps.ended:
        action, agent_info, outcome = yield from agent.step(
            env, steps.observation)
        steps.add(action, agent_info, outcome, time_limit)
        frames.append(_render(env))
    return steps.episode(agent)


def _render(env: Any) -> Any:
    import numpy as np  # pylint: disable=import-outside-toplevel
    frame = env.render()
    frame = None if frame is None else np.asarray(frame)
    if frame is None or frame.ndim != 3 or frame.shape[-1] != 3:
        raise RecordingError(
            f'The run\'s env ({startup_checks.describe(type(env))}) was built '
            f'with render_mode=\'rgb_array\', but render() gave '
            f'{"None" if frame is None else f"an array of shape {frame.shape}"}'
            f', not an RGB image. Recording needs an env that renders '
            f'rgb_array frames.')
    return frame


def write_frames(frames: List[Any], path: str, fps: float) -> None:
    """Writes RGB frames as an animated GIF (Pillow) or MP4 (imageio).

    A GIF merges identical consecutive frames into one (their durations
    add up), as Pillow does.

    Raises:
        RecordingError: see check_writable.
    """
    check_writable(path)
    suffix = os.path.splitext(path)[1].lower()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if suffix == '.gif':
        from PIL import Image  # pylint: disable=import-outside-toplevel
        images = [Image.fromarray(frame) for frame in frames]
        images[0].save(path, save_all=True, append_images=images[1:],
                       duration=max(int(round(1000 / fps)), 1), loop=0)
    else:
        import imageio.v2 as imageio  # pylint: disable=import-outside-toplevel
        with imageio.get_writer(path, fps=fps) as writer:
            for frame in frames:
                writer.append_data(frame)


def check_writable(path: str) -> None:
    """Raises RecordingError unless write_frames can write path's format.

    Raises:
        RecordingError: the suffix is neither .gif nor .mp4, or .mp4 without
            imageio's ffmpeg plugin.
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in ('.gif', '.mp4'):
        raise RecordingError(
            f'--output {path}: the suffix must be .gif or .mp4.')
    if suffix == '.mp4':
        try:
            import imageio.v2  # pylint: disable=import-outside-toplevel,unused-import
            import imageio_ffmpeg  # pylint: disable=import-outside-toplevel,unused-import
        except ImportError as error:
            raise RecordingError(
                f'Writing {path} needs imageio with its ffmpeg plugin '
                f'({error}). Install it (pip install imageio[ffmpeg]) or '
                f'write a GIF (--output with a .gif suffix).') from error


def record(output_dir: str, output: Optional[str] = None, episodes: int = 1,
           max_steps: Optional[int] = None, fps: float = 30.0, seed: int = 0,
           checkpoint: str = 'latest') -> Recording:
    """Plays greedy episodes of a run's checkpoint and writes them.

    Args:
        output_dir: The run's output directory.
        output: The file to write (.gif or .mp4; None:
            ``<output_dir>/episode.gif``).
        episodes: Episodes to play, one after another in the file.
        max_steps: Step limit per episode (None: the run's
            episode_time_limit, or DEFAULT_MAX_STEPS without one).
        fps: Frames per second of the file.
        seed: Seeds the env and the agent.
        checkpoint: 'latest' or a checkpoint's name (epoch_000012).

    Returns:
        The Recording.

    Raises:
        RecordingError, UserError: the run cannot be recorded (see the
            message).
    """
    output_dir = os.path.abspath(os.path.expanduser(output_dir))
    checkpoint_dir = _checkpoint_dir(output_dir, checkpoint)
    output = output or os.path.join(output_dir, DEFAULT_OUTPUT)
    check_writable(output)
    gin.clear_config()
    cli.parse_gin([run_directory.config_path(output_dir)], [])
    _bind_for_recording()
    with tempfile.TemporaryDirectory() as scratch_dir:
        runner = _build_runner(scratch_dir, seed)
        try:
            checkpointing.restore_network(checkpoint_dir, runner.network)
            recording = _play(runner, episodes, max_steps, seed)
        finally:
            runner.close()
    frames, returns, lengths = recording
    write_frames(frames, output, fps)
    return Recording(output, returns, lengths, len(frames),
                     tuple(frames[0].shape))


def _play(runner: core.Runner, episodes: int, max_steps: Optional[int],
          seed: int) -> tuple:
    """Frames, returns and lengths of the episodes."""
    pairs = in_process.InProcessEpisodes(
        runner.env_fn, runner.agent_class, lambda: runner.network, n_envs=1,
        seed=seed)
    env, agent = pairs.envs[0], pairs.agents[0]
    if not isinstance(agent, agents.base.OnlineAgent):
        pairs.close()
        raise RecordingError(
            f'Recording steps the agent one action at a time; '
            f'{type(agent).__name__} is not an OnlineAgent.')
    agent.evaluation = True
    max_steps = (max_steps or runner.episode_time_limit or DEFAULT_MAX_STEPS)
    pairs.request_handler.set_params(runner.network.params)
    frames, returns, lengths = [], [], []
    try:
        for _ in range(episodes):
            episode, = requests.run_coroutines(
                [_record_episode(env, agent, max_steps, frames)],
                pairs.request_handler)
            returns.append(float(episode.return_))
            lengths.append(len(episode))
    finally:
        pairs.close()
    return frames, returns, lengths


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parses the command line of python3 -m alpacka.record."""
    parser = argparse.ArgumentParser(
        prog='python3 -m alpacka.record',
        description='Plays greedy episodes of a run\'s last checkpoint and '
                    'writes them as an animated GIF (or MP4).')
    parser.add_argument('output_dir', help='The run\'s --output_dir.')
    parser.add_argument('--output', default=None,
                        help=f'File to write, .gif or .mp4 (default: '
                             f'OUTPUT_DIR/{DEFAULT_OUTPUT}).')
    parser.add_argument('--episodes', type=int, default=1,
                        help='Episodes to play (default 1).')
    parser.add_argument('--max_steps', type=int, default=None,
                        help=f'Step limit per episode (default: the run\'s '
                             f'Runner.episode_time_limit, or '
                             f'{DEFAULT_MAX_STEPS} without one).')
    parser.add_argument('--fps', type=float, default=30.0,
                        help='Frames per second (default 30).')
    parser.add_argument('--seed', type=int, default=0,
                        help='Seed of the env and the agent (default 0).')
    parser.add_argument('--checkpoint', default='latest',
                        help='latest (default) or a checkpoint\'s name, e.g. '
                             'epoch_000012.')
    args = parser.parse_args(argv)
    for name in ('episodes', 'max_steps', 'fps'):
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f'--{name} must be positive, got {value}.')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit code (2 for input the user can fix, 1
    for a corrupt checkpoint)."""
    args = parse_args(argv)
    try:
        result = record(args.output_dir, output=args.output,
                        episodes=args.episodes, max_steps=args.max_steps,
                        fps=args.fps, seed=args.seed,
                        checkpoint=args.checkpoint)
    except errors.UserError as error:
        print(f'alpacka.record: error: {failures.one_paragraph(error)}',
              file=sys.stderr)
        return cli.EXIT_USER_ERROR
    except errors.CorruptCheckpointError as error:
        print(f'alpacka.record: error: {failures.one_paragraph(error)}',
              file=sys.stderr)
        return cli.EXIT_FAILURE
    finally:
        gin.clear_config()
    for index, (episode_return, length) in enumerate(
            zip(result.returns, result.lengths)):
        print(f'episode {index}: return {episode_return:g} in {length} steps')
    print(f'wrote {result.n_frames} frames '
          f'({result.frame_shape[1]}x{result.frame_shape[0]}) to '
          f'{result.path}')
    return 0
