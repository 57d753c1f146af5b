"""JaxMARL's QMIX-RNN on MPE simple_spread, one seed, timed as against_jaxmarl.py times
this package: CPU and wall seconds from process start at every greedy evaluation.

JaxMARL is not a dependency of qmix-tut. This script runs in a Python of its own that has
JaxMARL's baselines installed, on the baseline's own script, which the ``jaxmarl`` package
does not ship (it is ``baselines/QLearning/qmix_rnn.py`` in JaxMARL's repository):

    python -m venv /tmp/jaxmarl && /tmp/jaxmarl/bin/pip install "jaxmarl[algs]==0.2.0"
    /tmp/jaxmarl/bin/python benchmarks/jaxmarl_qmix.py PATH/TO/qmix_rnn.py --seed 0 --json out.json

``benchmarks/against_jaxmarl.py --jaxmarl /tmp/jaxmarl/bin/python PATH/TO/qmix_rnn.py``
runs it seed by seed, interleaved with this package's runs, and compares the two.

What runs is that script's ``make_train``, unchanged, jitted and vmapped over one seed as
its ``single_run`` does, with the default config for QMIX on MPE
(``baselines/QLearning/config/alg/ql_rnn_mpe.yaml``, written out in ``DEFAULT``) and two
changes the measurement needs: a greedy test of 16 episodes every 12 updates (12 x 8 envs
x 26 steps = 2,496 env steps, where the default tests 512 every 5% of training), as this
package's preset evaluates 16 episodes every 2,500 steps; and ``NUM_SEEDS`` 1. The
script's per-update ``wandb.log`` call is pointed at a recorder, which notes the test
return and the process's CPU seconds (all its threads) at each test, and ends the process
when the run is over (``--max-steps``, or ``--stop-after-held`` evaluations after the team
holds -48.6). With ``--threads 1`` (the default) XLA runs on one thread.

Episode length: JaxMARL's MPE ends an episode when its step counter, read before it is
advanced, reaches ``max_steps`` (25), so its episodes are 26 steps long and the default
config collects 26 steps per env and update (``NUM_STEPS``); mpe2's simple_spread_v3
(``max_cycles`` 25) and this package's are 25 steps. ``--episode-steps 26`` (the default
config) sums one more step's reward into every return; ``--episode-steps 25`` sets
``max_steps`` 24 and ``NUM_STEPS`` 25, the task this package trains on. The test return is
the ``MPELogWrapper``'s: each agent's reward times the number of agents, averaged over the
agents, which is the team's summed reward that this package reports.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

STARTED = time.time()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# torch-free (numpy only), so it imports in JaxMARL's environment too
import numpy as np  # noqa: E402

from qmix_tut.stats import HELD_WINDOW, held_level  # noqa: E402

HARD = -48.6
"""The level timed (held: the mean of ``HELD_WINDOW`` consecutive evaluations)."""
TEST_EVERY = 12
"""Updates between greedy tests: 12 x 8 envs x 26 steps = 2,496 env steps."""
TEST_EPISODES = 16

DEFAULT: dict[str, Any] = {
    # JaxMARL baselines/QLearning/config/alg/ql_rnn_mpe.yaml ("valid for iql, vdn, qmix")
    "TOTAL_TIMESTEPS": 1e7,
    "NUM_ENVS": 8,
    "NUM_STEPS": 26,
    "BUFFER_SIZE": 5000,
    "BUFFER_BATCH_SIZE": 32,
    "HIDDEN_SIZE": 64,
    "MIXER_EMBEDDING_DIM": 32,
    "MIXER_HYPERNET_HIDDEN_DIM": 128,
    "MIXER_INIT_SCALE": 0.001,
    "EPS_START": 1.0,
    "EPS_FINISH": 0.05,
    "EPS_DECAY": 0.1,
    "MAX_GRAD_NORM": 25,
    "TARGET_UPDATE_INTERVAL": 200,
    "TAU": 1.0,
    "NUM_EPOCHS": 1,
    "LR": 0.005,
    "LEARNING_STARTS": 10000,
    "LR_LINEAR_DECAY": True,
    "GAMMA": 0.9,
    "ENV_NAME": "MPE_simple_spread_v3",
    "ENV_KWARGS": {},
    "TEST_DURING_TRAINING": True,
    "TEST_INTERVAL": 0.05,
    "TEST_NUM_STEPS": 30,
    "TEST_NUM_ENVS": 512,
    "LOG_AGENTS_SEPARATELY": True,
    # baselines/QLearning/config/config.yaml
    "NUM_SEEDS": 10,
    "SEED": 30,
    "WANDB_MODE": "online",
}


def cpu_seconds() -> float:
    """This process's CPU seconds since it started, all its threads."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def run_config(seed: int, episode_steps: int) -> dict[str, Any]:
    """``DEFAULT`` with one seed, 16-episode tests every ``TEST_EVERY`` updates and, for
    25-step episodes, ``max_steps`` 24 and 25 steps collected per env and update."""
    config = dict(DEFAULT, NUM_SEEDS=1, SEED=seed, NUM_STEPS=episode_steps)
    if episode_steps == 25:
        config["ENV_KWARGS"] = {"max_steps": 24}
    num_updates = int(config["TOTAL_TIMESTEPS"]) // config["NUM_STEPS"] // config["NUM_ENVS"]
    # make_train tests when n_updates % int(NUM_UPDATES * TEST_INTERVAL) == 0
    config["TEST_INTERVAL"] = (TEST_EVERY + 0.5) / num_updates
    config["TEST_NUM_ENVS"] = TEST_EPISODES
    # each test env plays one whole episode (the default's 30 steps end one 26-step episode)
    config["TEST_NUM_STEPS"] = 30 if episode_steps == 26 else episode_steps
    return config


def held_at(returns: list[float], target: float = HARD) -> int | None:
    """Index of the evaluation at which ``target`` is first held (``held_level``), or None."""
    point = held_level(range(len(returns)), returns, target, HELD_WINDOW)
    return None if point is None else point.index


class Recorder:
    """Stands in for ``wandb`` in the baseline script: ``log`` is called after every
    update with that update's metrics (per seed, under vmap) and keeps the tests."""

    def __init__(self, out: Path | None, max_steps: int, stop_after_held: int | None) -> None:
        self.out, self.max_steps, self.stop_after_held = out, max_steps, stop_after_held
        self.curve: list[dict[str, float]] = []
        self.first_callback_cpu: float | None = None
        self.held: int | None = None  # the evaluation at which -48.6 is first held
        self.extra: dict[str, Any] = {}

    def log(self, metrics: dict[str, Any]) -> None:
        if self.first_callback_cpu is None:
            self.first_callback_cpu = cpu_seconds()
        updates = int(np.asarray(metrics["update_steps"]).reshape(-1)[0])
        if updates % TEST_EVERY:
            return
        steps = int(np.asarray(metrics["env_step"]).reshape(-1)[0])
        value = float(np.asarray(metrics["test_returned_episode_returns"]).reshape(-1)[0])
        self.curve.append(
            {"env_steps": steps, "eval_return": value, "cpu": cpu_seconds(),
             "wall": time.time() - STARTED, "eval_cpu": 0.0, "eval_wall": 0.0}
        )  # fmt: skip
        if self.held is None:  # found once; the curve is not scanned again after that
            self.held = held_at([row["eval_return"] for row in self.curve])
        if steps >= self.max_steps or (
            self.held is not None
            and self.stop_after_held is not None
            and len(self.curve) - 1 >= self.held + self.stop_after_held
        ):
            self.finish()

    def result(self) -> dict[str, Any]:
        return {
            "curve": self.curve,
            "cpu": cpu_seconds(),
            "wall": time.time() - STARTED,
            # the tests run inside the compiled training loop: their time is not separable
            "eval_cpu": 0.0,
            "eval_wall": 0.0,
            "first_callback_cpu": self.first_callback_cpu,
            **self.extra,
        }

    def finish(self) -> None:
        """Write the result and end the process (the compiled loop cannot be left early)."""
        text = json.dumps(self.result())
        if self.out is not None:
            self.out.write_text(text + "\n")
        print(text, flush=True)
        sys.stderr.flush()
        os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", type=Path, help="JaxMARL's baselines/QLearning/qmix_rnn.py")
    parser.add_argument("--seed", type=int, default=0, help="the run's SEED (default 0)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the result to OUT")
    parser.add_argument(
        "--episode-steps", type=int, choices=(26, 25), default=26,
        help="26: the default config (JaxMARL's MPE episodes); 25: mpe2's episode length",
    )  # fmt: skip
    parser.add_argument(
        "--max-steps", type=int, default=2_000_000, help="env steps at most (default 2M)"
    )
    parser.add_argument(
        "--stop-after-held", type=int, metavar="N",
        help="end the run N evaluations after the team holds -48.6 (default: run to --max-steps)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, choices=(1, 0), default=1,
        help="1 (default): XLA on one thread; 0: XLA's own choice",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not args.script.is_file():
        parser.error(f"no file {str(args.script)!r} (JaxMARL's baselines/QLearning/qmix_rnn.py)")
    if args.seed < 0:
        parser.error(f"--seed must be at least 0, got {args.seed}")
    if args.max_steps < 1:
        parser.error(f"--max-steps must be at least 1, got {args.max_steps}")
    if args.stop_after_held is not None and args.stop_after_held < 0:
        parser.error(f"--stop-after-held must be at least 0, got {args.stop_after_held}")
    if args.json is not None and not args.json.parent.is_dir():
        parser.error(f"--json: no folder {str(args.json.parent)!r} to write into")
    if args.threads == 1:  # read by XLA when jax starts
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()

    spec = importlib.util.spec_from_file_location("jaxmarl_qmix_rnn", args.script)
    if spec is None or spec.loader is None:
        parser.error(f"{args.script} cannot be loaded as a Python module")
    baseline = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(baseline)
    except ImportError as err:
        parser.error(
            f"{args.script} needs {err.name or err}: run this with a Python that has "
            '"jaxmarl[algs]" installed'
        )
    missing = [n for n in ("make_train", "env_from_config", "wandb") if not hasattr(baseline, n)]
    if missing:
        parser.error(f"{args.script} has no {', '.join(missing)}: not JaxMARL's qmix_rnn.py?")

    import jax
    import jaxmarl

    config = run_config(args.seed, args.episode_steps)
    recorder = Recorder(args.json, args.max_steps, args.stop_after_held)
    recorder.extra = {
        "seed": args.seed,
        "episode_steps": args.episode_steps,
        "config": config,
        "jax": jax.__version__,
        "jaxmarl": getattr(jaxmarl, "__version__", None),
        "script": str(args.script),
    }
    baseline.wandb = recorder  # the script calls wandb.log(metrics) after every update
    env, _ = baseline.env_from_config(copy.deepcopy(config))
    rngs = jax.random.split(jax.random.PRNGKey(config["SEED"]), config["NUM_SEEDS"])
    train = jax.jit(jax.vmap(baseline.make_train(config, env)))
    jax.block_until_ready(train(rngs))
    recorder.finish()  # the whole TOTAL_TIMESTEPS ran (a --max-steps past it)
    return 0


if __name__ == "__main__":
    sys.exit(main())
