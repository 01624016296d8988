# `make run` and `make test` set everything up on a fresh machine.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean slurm browser

$(PYTHON):
	python3 -m venv $(VENV)

# Reinstall when setup.py changes.
$(STAMP): setup.py | $(PYTHON)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PYTHON) -m alpacka.runner \
		--config_file=alpacka/configs/shooting_random_cartpole.gin \
		--config=Runner.episode_time_limit=50 \
		--config=Runner.n_envs=8 \
		--output_dir=./out

# tests/cluster/test_slurm.py runs the SLURM launch script under a real
# one-node SLURM: install Debian's slurm-wlm when we may (root, apt-get), and
# go on without it otherwise (the test then says why it is skipped).
slurm:
	-@command -v slurmctld >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
		command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && apt-get install -y -qq slurm-wlm) \
		>/dev/null 2>&1; } || echo 'slurm-wlm not installed: the SLURM test will be skipped.'

# tests/trace_explorer/test_browser.py drives a headless Chromium with
# Selenium: install Debian's chromium and chromium-driver when we may (root,
# apt-get), and go on without them otherwise (the test then says why it is
# skipped).
browser:
	-@{ command -v chromium >/dev/null 2>&1 && \
		command -v chromedriver >/dev/null 2>&1; } || { [ "$$(id -u)" = 0 ] && \
		command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium chromium-driver) \
		>/dev/null 2>&1; } || echo 'chromium not installed: the browser test of the trace explorer will be skipped.'

test: $(STAMP) slurm browser
	$(PYTHON) -m pytest tests

# pylint, then the layering contract of .importlinter (which package may
# import which, lazy imports included).
lint: $(STAMP)
	$(PYTHON) -m pylint alpacka tests benchmarks
	$(VENV)/bin/lint-imports

# The benchmarks' entry points; the other scripts in benchmarks/ are their
# parts (the harness, the peers that run in their own virtualenvs).
BENCHMARKS := startup batching shooting_throughput ray_stepper mcts_speed \
	planning_results cartpole_learning sac_pendulum sac_cartpole \
	dqn_cartpole dqn_update_speed replay_memory atari_collection \
	dqn_partial_observability dqn_minatar sokoban_env sokoban_learning

bench: $(STAMP)
	for name in $(BENCHMARKS); do $(PYTHON) benchmarks/$$name.py || exit 1; done

clean:
	rm -rf $(VENV) out
