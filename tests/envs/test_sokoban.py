"""Tests for Sokoban: generated rooms, dynamics, rewards, states, rendering
and ActionNoiseSokoban."""

import os
import pickle
import sys

import gin
import numpy as np
import pytest

from alpacka import envs
from alpacka.envs import sokoban_generation as generation

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), 'benchmarks'))
import sokoban_env  # pylint: disable=import-error,wrong-import-position,wrong-import-order

W, F, T, BT, B, P, PT = range(7)  # Cell codes.
UP, DOWN, LEFT, RIGHT = range(4)
_SIZES = [((8, 8), 2), ((10, 10), 4), ((7, 7), 1)]


def _push(room, action):
    """Reference dynamics, independent of the env's: room after action."""
    room = room.copy()
    d_row, d_col = [(-1, 0), (1, 0), (0, -1), (0, 1)][action]
    (row, col), = np.argwhere((room == P) | (room == PT))
    into, beyond = (row + d_row, col + d_col), (row + 2 * d_row,
                                                 col + 2 * d_col)
    free = (F, T)
    if room[into] in (B, BT):
        if room[beyond] not in free:
            return room
        room[beyond] = B if room[beyond] == F else BT
        room[into] = F if room[into] == B else T
    if room[into] not in free:
        return room
    room[into] = P if room[into] == F else PT
    room[row, col] = F if room[row, col] == P else T
    return room


def _solved(room):
    return not (room == B).any()


def _reset(seed, dim_room=(8, 8), num_boxes=2, **kwargs):
    env = envs.Sokoban(dim_room=dim_room, num_boxes=num_boxes, **kwargs)
    env.reset(seed=seed)
    return env


@pytest.mark.parametrize('dim_room, num_boxes', _SIZES)
def test_generated_rooms_are_walled_counted_and_solved_by_their_solution(
        dim_room, num_boxes):
    for seed in range(12):
        env = _reset(seed, dim_room, num_boxes)
        room = env.room
        assert room.shape == dim_room and room.dtype == np.uint8
        border = np.concatenate([room[0], room[-1], room[:, 0], room[:, -1]])
        assert (border == W).all()
        counts = np.bincount(room.ravel(), minlength=7)
        assert counts[B] + counts[BT] == num_boxes
        assert counts[T] + counts[BT] + counts[PT] == num_boxes
        assert counts[P] + counts[PT] == 1
        assert counts[B] > 0  # Not solved at the start.
        # The reverse play, replayed forwards, solves the room at its end,
        # and pushes every box (it pulled every box).
        start_boxes = (room == B) | (room == BT)
        moved = np.zeros_like(start_boxes)
        for i, action in enumerate(env.solution):
            room, before = _push(room, action), room
            left = ((before == B) | (before == BT)) & ~((room == B) |
                                                         (room == BT))
            moved |= left & start_boxes
            assert _solved(room) == (i == len(env.solution) - 1), (seed, i)
        assert moved.sum() == num_boxes


def test_rewards_along_the_solution_add_up_as_documented():
    penalty, on_target, finished = -0.5, 2.0, 7.0
    for seed in range(5):
        env = _reset(seed, (10, 10), 4, penalty_for_step=penalty,
                     reward_box_on_target=on_target, reward_finished=finished)
        start_on_target = int((env.room == BT).sum())
        rewards, room = [], env.room
        for i, action in enumerate(env.solution):
            before = room
            observation, reward, terminated, truncated, info = env.step(action)
            room = _push(before, action)
            np.testing.assert_array_equal(env.room, room)
            np.testing.assert_array_equal(observation.argmax(-1), room)
            last = i == len(env.solution) - 1
            assert terminated == info['solved'] == last and not truncated
            moved_on = int((room == BT).sum()) - int((before == BT).sum())
            assert reward == pytest.approx(
                penalty + on_target * moved_on + finished * last)
            rewards.append(reward)
        assert sum(rewards) == pytest.approx(
            penalty * len(rewards) + on_target * (4 - start_on_target) +
            finished)


def test_blocked_pushes_only_cost_the_penalty():
    env = envs.Sokoban(dim_room=(5, 7), num_boxes=2, penalty_for_step=-0.3)
    room = np.array([[W, W, W, W, W, W, W],
                     [W, P, B, B, F, T, W],
                     [W, F, F, F, F, W, W],
                     [W, F, T, F, F, F, W],
                     [W, W, W, W, W, W, W]])
    env.set_room(room)
    state = env.clone_state()
    for action in (RIGHT, UP, LEFT):  # A box against a box; walls.
        observation, reward, terminated, _, info = env.step(action)
        assert reward == -0.3 and not terminated and not info['solved']
        np.testing.assert_array_equal(observation.argmax(-1), room)
        assert env.clone_state() == state
    for action in (DOWN, DOWN, RIGHT, RIGHT, UP):  # Under the second box.
        env.step(action)
    state = env.clone_state()
    _, reward, *_ = env.step(UP)  # A free box into a wall does not move.
    assert reward == -0.3 and env.clone_state() == state
    assert env.room[2, 3] == P and env.room[1, 3] == B


def test_box_off_a_target_costs_and_back_on_pays():
    env = envs.Sokoban(dim_room=(4, 7), num_boxes=1, penalty_for_step=-0.1,
                       reward_box_on_target=1.0, reward_finished=10.0)
    env.set_room(np.array([[W, W, W, W, W, W, W],
                           [W, P, BT, F, F, F, W],
                           [W, W, W, W, W, W, W],
                           [W, W, W, W, W, W, W]]))
    step = env.step(RIGHT)
    assert step[1] == pytest.approx(-1.1) and not step[2]
    assert env.room[1, 2] == PT
    step = env.step(LEFT)
    assert step[1] == pytest.approx(-0.1)  # A walk off the target.
    with pytest.raises(ValueError, match='one player'):
        env.set_room(np.full((4, 7), W))


def test_clone_restore_replays_exactly():
    env = _reset(3, (10, 10), 4, max_steps=40)
    rng = np.random.default_rng(0)
    actions = rng.integers(4, size=60)
    for action in actions[:10]:
        env.step(action)
    state = env.clone_state()
    first = [env.step(action) for action in actions[10:]]
    observation = env.restore_state(state)
    second = [env.step(action) for action in actions[10:]]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]
    # Truncated after max_steps = 40 steps, and again after the restore.
    assert [s[3] for s in first].index(True) == 29
    np.testing.assert_array_equal(observation, env.restore_state(state))
    assert hash(state) == hash(env.clone_state())


def test_a_copied_env_steps_its_own_room():
    env = _reset(1, (10, 10), 4)
    copy = pickle.loads(pickle.dumps(env))
    action = _walks(env)[0]
    np.testing.assert_array_equal(copy.step(action)[0], env.step(action)[0])
    np.testing.assert_array_equal(copy.room, env.room)
    copy.step(action ^ 1)
    assert (copy.room != env.room).any()


def _walks(env):
    """Actions that walk the player without moving a box."""
    room = env.room
    (row, col), = np.argwhere((room == P) | (room == PT))
    return [action for action, (d_row, d_col) in enumerate(
        [(-1, 0), (1, 0), (0, -1), (0, 1)])
            if room[row + d_row, col + d_col] in (F, T)]


def test_equal_layouts_reached_by_different_paths_give_equal_states():
    env = _reset(1, (10, 10), 4)
    start = env.clone_state()
    action = _walks(env)[0]
    env.step(action)
    env.step(action ^ 1)  # There and back: the start's layout.
    assert env.clone_state() == start
    assert hash(env.clone_state()) == hash(start)
    assert len({start, env.clone_state()}) == 1
    env.step(action)
    assert env.clone_state() != start
    # With a finite max_steps the step counter travels with the state but
    # is no part of its identity.
    timed = _reset(1, (10, 10), 4, max_steps=3)
    start = timed.clone_state()
    timed.step(action)
    timed.step(action ^ 1)
    later = timed.clone_state()
    assert later == start and hash(later) == hash(start)
    assert (start.elapsed_steps, later.elapsed_steps) == (0, 2)
    assert timed.step(action)[3]  # Truncated at the third step.
    timed.restore_state(start)
    assert not timed.step(action)[3]


def test_seeding():
    rooms = [_reset(seed).room for seed in (5, 5, 6)]
    np.testing.assert_array_equal(rooms[0], rooms[1])
    assert (rooms[0] != rooms[2]).any()
    seeded = envs.Sokoban(dim_room=(8, 8), num_boxes=2, seed=5)
    seeded.reset()
    np.testing.assert_array_equal(seeded.room, rooms[0])
    seeded.reset()  # Without a seed the env's RNG goes on.
    assert (seeded.room != rooms[0]).any()


def test_observation_is_one_hot_float32_of_the_room():
    env = envs.Sokoban()
    observation, info = env.reset(seed=0)
    assert info == {'solved': False}
    assert observation.dtype == np.float32
    assert observation.shape == (10, 10, 7) == env.observation_space.shape
    np.testing.assert_array_equal(observation.sum(-1), np.ones((10, 10)))
    np.testing.assert_array_equal(observation.argmax(-1), env.room)
    assert env.observation_space.contains(observation)
    moved = env.step(_walks(env)[0])[0]
    assert moved is not observation and (moved != observation).any()


def test_render():
    env = _reset(0, render_mode='rgb_array')
    picture = env.render()
    assert picture.shape == (8 * 16, 8 * 16, 3) and picture.dtype == np.uint8
    np.testing.assert_array_equal(picture, env.render_rgb())
    # Cells of different codes look different; cells of one code alike.
    cells = picture.reshape(8, 16, 8, 16, 3).transpose(0, 2, 1, 3, 4)
    by_code = {}
    for (row, col), code in np.ndenumerate(env.room):
        by_code.setdefault(code, cells[row, col])
        np.testing.assert_array_equal(by_code[code], cells[row, col])
    tiles = [tile.tobytes() for tile in by_code.values()]
    assert len(set(tiles)) == len(tiles)
    assert _reset(0).render() is None


def test_room_too_small_and_impossible_generation_are_one_paragraph():
    with pytest.raises(envs.sokoban.SokobanRoomTooSmallError) as error:
        envs.Sokoban(dim_room=(5, 5), num_boxes=6)
    assert 'dim_room = (5, 5)' in str(error.value)
    assert '\n' not in str(error.value)
    # A 2x2 interior fits a box, a target and the player, but no box can be
    # pulled there: every try fails, and generation gives up.
    env = envs.Sokoban(dim_room=(4, 4), num_boxes=1)
    with pytest.raises(generation.SokobanGenerationError) as error:
        env.reset(seed=0)
    assert 'in 100 tries' in str(error.value)
    assert '\n' not in str(error.value)


def test_a_state_of_another_room_is_refused():
    env = _reset(0)
    state = env.clone_state()
    env.restore_state(state)  # Checked once in this room, ...
    env.reset()  # ... but refused in the next.
    for wrong in (state, ('abc', 1), 7, (state[0],),
                  envs.TimedState(env.clone_state(), 0)):
        with pytest.raises(envs.sokoban.SokobanStateError) as error:
            env.restore_state(wrong)
        assert 'current room' in str(error.value)
        assert '\n' not in str(error.value)
    timed = _reset(0, max_steps=10)
    with pytest.raises(envs.sokoban.SokobanStateError, match='finite'):
        timed.restore_state(state)  # The room's, but no step counter.


def test_original_config_names_load():
    gin.clear_config()
    gin.parse_config("""
        Sokoban.dim_room = (8, 8)
        Sokoban.num_boxes = 2
        Sokoban.max_steps = None
        Sokoban.penalty_for_step = -0.1
        Sokoban.reward_box_on_target = 1
        Sokoban.reward_finished = 10
        ActionNoiseSokoban.action_noise = 0.3
    """)
    try:
        env = envs.Sokoban()
        noisy_env = envs.ActionNoiseSokoban()
    finally:
        gin.clear_config()
    assert env.dim_room == noisy_env.dim_room == (8, 8)
    assert env.max_steps == np.inf and env.reward_finished == 10.0
    assert noisy_env.num_boxes == 2 and noisy_env.action_noise == 0.3
    with pytest.raises(envs.sokoban.SokobanArgumentError,
                       match="Did you mean 'num_boxes'"):
        envs.ActionNoiseSokoban(num_boxs=2)


def _trajectory(env, seed, actions):
    observation, _ = env.reset(seed=seed)
    return [observation] + [env.step(action) for action in actions]


def test_action_noise_zero_is_sokoban_and_one_ignores_the_action():
    actions = np.random.default_rng(1).integers(4, size=80)
    plain = _trajectory(envs.Sokoban(dim_room=(8, 8), num_boxes=2), 4,
                        actions)
    quiet = _trajectory(envs.ActionNoiseSokoban(
        action_noise=0.0, dim_room=(8, 8), num_boxes=2), 4, actions)
    np.testing.assert_array_equal(plain[0], quiet[0])
    for a, b in zip(plain[1:], quiet[1:]):
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]
    # With noise 1 the chosen actions make no difference, ...
    loud = envs.ActionNoiseSokoban(action_noise=1.0, dim_room=(8, 8),
                                   num_boxes=2)
    ups = _trajectory(loud, 4, [UP] * 80)
    downs = _trajectory(loud, 4, [DOWN] * 80)
    for a, b in zip(ups[1:], downs[1:]):
        np.testing.assert_array_equal(a[0], b[0])
    # ... and the player goes every way (always up would stay by a wall).
    players = [np.argwhere(observation[..., P] + observation[..., PT])[0]
               for observation in [ups[0]] + [step[0] for step in ups[1:]]]
    moves = {tuple(b - a) for a, b in zip(players, players[1:])}
    assert {(1, 0), (-1, 0), (0, 1), (0, -1)} <= moves


def test_action_noise_states_replay_exactly_and_key_by_layout():
    env = envs.ActionNoiseSokoban(action_noise=0.5, dim_room=(8, 8),
                                  num_boxes=2)
    env.reset(seed=2)
    state = env.clone_state()
    first = [env.step(UP)[0] for _ in range(20)]
    env.restore_state(state)
    second = [env.step(UP)[0] for _ in range(20)]
    np.testing.assert_array_equal(first, second)
    # Equal layouts with other noise states are one key.
    env.restore_state(state)
    env.np_random.random()
    assert env.clone_state() == state
    assert hash(env.clone_state()) == hash(state)
    with pytest.raises(envs.sokoban.SokobanStateError):
        env.restore_state(state.state)


def test_benchmark_plain_loop_makes_the_env_moves(capsys):
    env = _reset(7, (10, 10), 4)
    actions = list(np.random.default_rng(3).integers(4, size=500))
    room = bytearray(env.room.tobytes())
    player = int(np.flatnonzero((env.room == P) | (env.room == PT))[0])
    for action in actions:
        env.step(action)
    sokoban_env.plain_step_loop(room, player, 10, actions, observe=False)
    assert bytes(room) == env.room.tobytes()
    # The benchmark's smoke run prints every contender and ratio.
    rates = sokoban_env.main(['--quick', '--dim-room', '6', '6',
                              '--num-boxes', '1'])
    printed = capsys.readouterr().out
    assert all(name in printed for name in rates) and 'goal 50%' in printed
