"""Serial, local processes and Dask give the same runs; dead workers are retried, broken
evaluations are not. Real worker processes, a real Dask LocalCluster, and real
``dask scheduler`` / ``dask worker`` commands on loopback; two workers each.
"""

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from deatf_gan.cli import main
from deatf_gan.config import ExecutorConfig, config_from_dict
from deatf_gan.evolution import Hook, evolve, individual_seed
from deatf_gan.executors import ProcessExecutor, TimedOut, make_executor
from tests.conftest import TINY_RUN
from tests.dying_evaluations import Misbehaving
from tests.evaluations import sleeps, units_score

KINDS = ["processes", "dask"]


def _config(kind: str, generations: int = 1, **executor):
    raw = copy.deepcopy(TINY_RUN)
    raw["evolution"]["generations"] = generations
    raw["executor"] = {"kind": kind, **({"workers": 2} if kind != "serial" else {}), **executor}
    return config_from_dict(raw)


class Evaluated(Hook):
    """Keeps every evaluated individual: failed ones may leave the population."""

    def __init__(self):
        self.individuals = []

    def on_generation(self, state):
        self.individuals.extend(state.evaluated)


def _run(config, evaluate=None):
    evaluated = Evaluated()
    result = evolve(config, evaluate=evaluate, hooks=[evaluated])
    return {
        "evaluated": [(ind.id, ind.fitness.values) for ind in evaluated.individuals],
        "population": [ind.id for ind in result.population],
        "hall_of_fame": [(ind.id, ind.fitness.values) for ind in result.hall_of_fame],
        "logbook": [{k: v for k, v in row.items() if k != "seconds"} for row in result.logbook],
    }, evaluated.individuals


def _seed(individual_id: int) -> int:
    return individual_seed(TINY_RUN["seed"], individual_id)


@pytest.fixture(scope="module")
def serial_run():
    return _run(_config("serial"))[0]


def test_worker_processes_give_the_serial_run_to_the_last_bit(serial_run):
    assert _run(_config("processes"))[0] == serial_run


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.slow
def test_dead_workers_are_retried_and_broken_evaluations_are_not(kind, tmp_path):
    killer, broken, killed_once = _seed(0), _seed(2), _seed(3)  # killed_once is in generation 1, never beside killer
    disturbed = Misbehaving(
        str(tmp_path / "a"), kill_once=killed_once, kill_always=killer, raises=(broken,), evaluate=units_score
    )
    undisturbed = Misbehaving(str(tmp_path / "b"), raises=(killer, broken), evaluate=units_score)
    for evaluation in (disturbed, undisturbed):
        Path(evaluation.directory).mkdir()
    outcome, evaluated = _run(_config(kind, retries=1), evaluate=disturbed)

    attempts = disturbed.attempts()
    assert (attempts.count(killer), attempts.count(killed_once), attempts.count(broken)) == (2, 2, 1)
    failures = {ind.seed: ind.result.failure for ind in evaluated if ind.failed}
    assert failures.keys() == {killer, broken}
    assert failures[killer] == "worker died 2 times" and failures[broken].startswith("RuntimeError")
    assert outcome == _run(_config("serial"), evaluate=undisturbed)[0]  # nothing finished was lost or changed


class WholeChunks:
    """A job function that takes whole chunks, as a batched evaluator does."""

    def __call__(self, job):
        return job, 1

    def evaluate_chunk(self, jobs):
        return [(job, len(jobs)) for job in jobs]


@pytest.mark.parametrize("kind", ["serial", "processes"])
def test_a_function_that_takes_whole_chunks_gets_them_in_one_call(kind):
    with make_executor(ExecutorConfig(kind=kind, workers=2, chunk_size=3)) as executor:
        assert list(executor.map(WholeChunks(), range(7))) == [(job, 3 if job < 6 else 1) for job in range(7)]


@pytest.mark.parametrize("kind, sizes", [("serial", [7] * 7), ("processes", [4] * 4 + [3] * 3)])
def test_automatic_chunks_are_one_per_worker_for_whole_chunk_functions_and_single_jobs_otherwise(kind, sizes):
    with make_executor(ExecutorConfig(kind=kind, workers=2)) as executor:
        assert list(executor.map(WholeChunks(), range(7))) == list(zip(range(7), sizes))
        assert executor.automatic_chunk_size(WholeChunks().__call__, 7) == 1  # no evaluate_chunk: one job at a time


class CostedChunks:
    """A whole-chunk function that estimates each job's cost (the job itself), and reports
    which jobs shared its chunk."""

    def job_cost(self, job):
        return job

    def evaluate_chunk(self, jobs):
        return [(job, tuple(jobs)) for job in jobs]


@pytest.mark.slow
def test_chunks_of_a_function_that_estimates_costs_cost_alike_and_results_keep_job_order():
    with make_executor(ExecutorConfig(kind="processes", workers=2)) as executor:
        results = list(executor.map(CostedChunks(), range(8)))
    assert [job for job, _ in results] == list(range(8))
    chunks = {chunk for _, chunk in results}
    assert chunks == {(0, 3, 4, 7), (1, 2, 5, 6)}  # dearest first to the cheaper chunk: 14 and 14, not 6 and 22
    with make_executor(ExecutorConfig(kind="processes", workers=2, chunk_size=4)) as executor:  # a size given: as given
        assert {chunk for _, chunk in executor.map(CostedChunks(), range(8))} == {(0, 1, 2, 3), (4, 5, 6, 7)}


def test_a_job_past_its_time_limit_fails_as_timed_out_and_the_others_go_on():
    """The hanging job's worker ends itself at the limit; it is not run again (retries are for
    deaths), and the job that shared the pool with it is not blamed."""
    with ProcessExecutor(workers=2, retries=2, time_limit=3.0) as executor:
        executor.start()
        results = list(executor.map(sleeps, [0.0, 10**6, 0.5, 0.0]))
    assert results == [0.0, TimedOut(3.0), 0.5, 0.0]
    assert "timed out after 3 s" in str(results[1])


@pytest.mark.slow
def test_a_run_whose_evaluations_hang_records_them_as_timed_out_and_finishes(tmp_path):
    raw = copy.deepcopy(TINY_RUN)
    raw["evaluation"] = {"function": "tests.evaluations:hangs_on_even_seeds", "timeout_s": 3}
    raw["executor"] = {"kind": "processes", "workers": 2}
    (tmp_path / "hangs.yaml").write_text(yaml.safe_dump(raw))
    assert main(["run", str(tmp_path / "hangs.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    reasons = [json.loads(line)["reason"] for line in (tmp_path / "run" / "failures.jsonl").read_text().splitlines()]
    hanging = [i for i in range(6) if _seed(i) % 2 == 0]  # the first two generations' individuals
    assert len(reasons) >= len(hanging) > 0
    assert all(reason.startswith("timed out after 3 s") for reason in reasons)


DRIVER_THAT_DIES = """
import os, signal, psutil
from deatf_gan.executors import ProcessExecutor
executor = ProcessExecutor(workers=1, retries=0)
executor.start()
print(*[c.pid for c in psutil.Process().children() if "spawn_main" in " ".join(c.cmdline())], flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_workers_exit_when_the_driver_is_killed(tmp_path):
    with open(tmp_path / "workers", "w") as out:  # not a pipe: a worker left behind would hold it open
        done = subprocess.run(
            [sys.executable, "-c", DRIVER_THAT_DIES], stdout=out, stderr=subprocess.DEVNULL, timeout=120
        )
    workers = [int(pid) for pid in (tmp_path / "workers").read_text().split()]
    assert done.returncode == -signal.SIGKILL and len(workers) == 1

    def alive(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + 30
    while alive(workers[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert not alive(workers[0])
    finally:
        if alive(workers[0]):
            os.kill(workers[0], signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_readme_recipe_on_dask_scheduler_and_worker_commands_gives_the_serial_results(serial_run, tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"
    dask = str(Path(sys.executable).parent / "dask")  # the command the dask extra installs
    commands = [
        [dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
        [dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
    ]
    processes = [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for command in commands
    ]
    try:
        config = tmp_path / "tiny.yaml"
        config.write_text(yaml.safe_dump(TINY_RUN))
        overrides = ["evolution.generations=0", "executor.kind=dask", f"executor.address={address}"]
        arguments = ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"]
        assert main(arguments + [item for override in overrides for item in ("--set", override)]) == 0
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:  # the worker command's own worker processes too
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    ranks = [json.loads((tmp_path / "run" / "hall_of_fame" / f"rank_{n}" / "metrics.json").read_text()) for n in (1, 2)]
    first_generation = serial_run["evaluated"][: TINY_RUN["evolution"]["population"]]
    best_two = sorted(first_generation, key=lambda member: member[1])[:2]
    assert [(rank["id"], tuple(rank["fitness"])) for rank in ranks] == best_two


ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
import deatf_gan

config = deatf_gan.config_from_dict({config!r})
{run}
"""


def _script(run: str) -> str:
    raw = copy.deepcopy(TINY_RUN)
    raw["executor"] = {"kind": "processes", "workers": 2}
    raw["evaluation"] = {"function": "tests.evaluations:units_score"}  # the workers, not training, under test
    return SCRIPT.format(config=raw, run=run)


def _python(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True, cwd=ROOT, env=env)


def test_a_script_without_a_main_guard_is_told_so_in_one_line_not_a_traceback_per_worker(tmp_path):
    """Spawned workers import the script again; without the guard each would start the run
    itself and die with multiprocessing's RuntimeError, once per worker and per retry."""
    unguarded = tmp_path / "unguarded.py"
    unguarded.write_text(_script('print("best", deatf_gan.evolve(config).hall_of_fame[0].fitness.values)'))
    done = _python(str(unguarded))
    assert done.returncode != 0 and "best" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("deatf_gan.errors.RunAborted: ") and 'if __name__ == "__main__":' in last
    assert "RuntimeError" not in done.stderr and len(done.stderr.splitlines()) < 40

    guarded = tmp_path / "guarded.py"
    guarded.write_text(
        _script(
            'if __name__ == "__main__":\n    print("best", deatf_gan.evolve(config).hall_of_fame[0].fitness.values)'
        )
    )
    done = _python(str(guarded))
    assert done.returncode == 0, done.stderr
    assert "best" in done.stdout


def test_code_piped_to_python_is_told_that_workers_need_a_script_file():
    done = _python("-", stdin=_script('if __name__ == "__main__":\n    deatf_gan.evolve(config)'))
    assert done.returncode != 0 and len(done.stderr.splitlines()) < 40
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("deatf_gan.errors.RunAborted: ") and "<stdin>" in last and "executor.kind: serial" in last
