"""Installs Alpacka and its dependencies."""

import setuptools

setuptools.setup(
    name='alpacka',
    version='0.1.0',
    description='A Gin-configured framework for model-based reinforcement '
                'learning.',
    packages=setuptools.find_packages(include=['alpacka', 'alpacka.*']),
    package_data={'alpacka': ['configs/*.gin', 'configs/*.py',
                              'batch_steppers/_ray_stubs/*.py',
                              'trace_explorer/static/*']},
    python_requires='>=3.10',
    install_requires=[
        # ale-py: Atari (alpacka.envs.AtariEnv, dqn_breakout.gin); its wheel
        # ships the ROMs. The preprocessing resizes with Pillow (through
        # matplotlib), not OpenCV.
        'ale-py>=0.9',
        'cloudpickle',
        'gin-config>=0.5',
        # box2d: LunarLanderContinuous (sac_lunar_lander.gin); box2d 2.3.10
        # ships wheels, so no swig or compiler is needed. mujoco:
        # HalfCheetah-v5 (sac_halfcheetah.gin); its wheel bundles MuJoCo.
        'gymnasium[box2d,mujoco]>=1.0',
        'matplotlib',
        # minatar: MinAtar games (alpacka.envs.MinAtarEnv,
        # dqn_minatar_breakout.gin); pure Python.
        'minatar',
        'neptune>=1.0',
        'numpy',
        'ray>=2.9',
        'tensorflow-cpu>=2.16; platform_machine=="x86_64"',
        'tensorflow>=2.16; platform_machine!="x86_64"',
        'keras>=3',
        # tf.summary.scalar (TensorBoardLogger) is implemented in tensorboard,
        # which tensorflow 2.21 no longer installs.
        'tensorboard',
        'tqdm',
    ],
    extras_require={
        # import-linter: `make lint` checks the layering contract in
        # .importlinter with it. CI runs `make lint` on a fresh install, so
        # the linters are held to the minor releases the code is clean
        # under: a new release's new checks come in by choice, not by CI.
        # rliable: the reference implementation of IQM and its stratified
        # bootstrap intervals, that tests check alpacka.metric_logging's
        # vectorised ones against. Its arch (< 8) breaks on pandas 3.
        # selenium: drives Chromium in the trace explorer's browser test
        # (`make browser` installs Debian's chromium and chromedriver).
        'dev': ['import-linter>=2.17,<2.18', 'pylint>=4.1,<4.2', 'pytest',
                'pytest-timeout', 'rliable>=1.2', 'pandas<3', 'selenium'],
    },
)
