"""Custom evaluation functions, checkpoints, resume after SIGKILL, and reading a run back."""

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from deatf_gan.cli import main
from deatf_gan.config import config_from_dict
from deatf_gan.errors import CheckpointError, RunAborted
from deatf_gan.evolution import evolve
from deatf_gan.runs import checkpoint_paths, load_checkpoint, load_run
from tests.conftest import TINY_RUN

ROOT = Path(__file__).resolve().parent.parent


def _raw(**evaluation):
    raw = copy.deepcopy(TINY_RUN)
    raw["evaluation"] = evaluation
    raw["evolution"].update(population=6, offspring=6, generations=4)
    return raw


def _write(tmp_path, raw, name="config.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def _without_seconds(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


# --- custom evaluation functions ------------------------------------------------------------


def test_config_function_is_used_with_its_kwargs(tmp_path):
    log = tmp_path / "seeds.txt"
    result = evolve(config_from_dict(_raw(function="tests.evaluations:units_score", kwargs={"log": str(log)})))
    seeds = log.read_text().split()
    assert len(seeds) == sum(row["evaluated"] for row in result.logbook)
    assert result.hall_of_fame[0].fitness.values[0] < 20


def test_multi_objective_function_with_nsga2():
    raw = _raw(function="tests.evaluations:two_objectives", weights=[-1.0, 1.0])
    raw["evolution"]["selection"] = {"method": "nsga2"}
    result = evolve(config_from_dict(raw))
    assert all(len(ind.fitness.values) == 2 for ind in result.population)
    assert result.hall_of_fame[0].fitness.weights == (-1.0, 1.0)


def test_wrong_number_of_objectives_fails_the_individuals():
    raw = _raw(function="tests.evaluations:two_objectives")  # one weight, two values
    raw["evaluation"]["max_consecutive_failures"] = 1000
    result = evolve(config_from_dict(raw))
    assert all(ind.failed and "2 fitness values" in ind.result.failure for ind in result.population)


@pytest.mark.parametrize("function", ["always_nan", "always_raises"])
def test_consecutive_failures_abort_the_run(function):
    raw = _raw(function=f"tests.evaluations:{function}", max_consecutive_failures=4)
    with pytest.raises(RunAborted, match="4 evaluations failed in a row"):
        evolve(config_from_dict(raw))


def test_consecutive_failure_abort_on_the_command_line_keeps_the_failures(tmp_path, capsys):
    raw = _raw(function="tests.evaluations:always_raises", max_consecutive_failures=3)
    assert main(["run", str(_write(tmp_path, raw)), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert "3 evaluations failed in a row" in capsys.readouterr().err
    failures = [json.loads(line) for line in (tmp_path / "run" / "failures.jsonl").read_text().splitlines()]
    # the generation in progress is not recorded, but its finished evaluations are cached
    assert failures == [] and any((tmp_path / "run" / "cache").iterdir())


def test_individual_failed_reason_reaches_failures_jsonl(tmp_path):
    raw = _raw(function="tests.evaluations:refuses_big_generators", max_consecutive_failures=1000)
    raw["search_space"]["generator"]["min_layers"] = 2  # 8 to 16 units: some refused, some not
    assert main(["run", str(_write(tmp_path, raw)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    failures = [json.loads(line) for line in (tmp_path / "run" / "failures.jsonl").read_text().splitlines()]
    assert failures and all(f["reason"] == "generator too large for this budget" for f in failures)
    assert all(sum(layer["units"] for layer in f["genome"]["generator"]["layers"]) > 10 for f in failures)


def test_exception_traceback_is_stored_and_a_run_in_which_every_individual_failed_exits_3(tmp_path, capsys):
    raw = _raw(function="tests.evaluations:always_raises", max_consecutive_failures=1000)
    raw["evolution"]["generations"] = 0
    assert main(["run", str(_write(tmp_path, raw)), "--out", str(tmp_path / "run"), "--quiet"]) == 3
    assert "every individual failed" in capsys.readouterr().err
    failure = json.loads((tmp_path / "run" / "failures.jsonl").read_text().splitlines()[0])
    assert "ValueError: this evaluation is broken on purpose" in failure["reason"]
    assert "always_raises" in failure["traceback"]
    for command in (["inspect"], ["plot"], ["sample", "-n", "3", "-o", str(tmp_path / "s.npy")]):
        assert main([command[0], str(tmp_path / "run"), *command[1:]]) == 2
        err = capsys.readouterr().err  # says what is true: not "the first generation has not finished"
        assert "every individual of 1 generation(s) failed" in err and "most often: ValueError" in err


# --- checkpoint and resume ------------------------------------------------------------------


def _slow_config(tmp_path, log):
    raw = _raw(function="tests.evaluations:units_score", kwargs={"delay": 0.25, "log": str(log)})
    raw["evolution"]["generations"] = 5
    return _write(tmp_path, raw, f"{log.stem}.yaml")


def _cached_since_checkpoint(run: Path, checkpoint: str) -> list[Path]:
    """Evaluations cached after ``checkpoint`` was written (the generation after it): until the
    writer clears the cache, the checkpointed generation's entries are there too."""
    try:
        written = (run / "checkpoints" / checkpoint).stat().st_mtime_ns
        return [p for p in (run / "cache").glob("*.npz") if p.stat().st_mtime_ns > written]
    except FileNotFoundError:  # no checkpoint yet, or the writer clearing the cache meanwhile
        return []


def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path):
    reference_log, killed_log = tmp_path / "reference.txt", tmp_path / "killed.txt"
    assert (
        main(["run", str(_slow_config(tmp_path, reference_log)), "--out", str(tmp_path / "reference"), "--quiet"]) == 0
    )

    run = tmp_path / "killed"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deatf_gan",
            "run",
            str(_slow_config(tmp_path, killed_log)),
            "--out",
            str(run),
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:  # kill in the middle of generation 3: two checkpoints done, some of generation 3 cached
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(_cached_since_checkpoint(run, "generation_00002.npz")) >= 2:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the run never reached generation 3")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert not (run / "checkpoints" / "generation_00005.npz").exists()
    seeds_before_kill = killed_log.read_text().split()

    assert main(["resume", str(run), "--quiet"]) == 0

    reference, resumed = load_run(tmp_path / "reference"), load_run(run)
    assert [m.fitness for m in resumed.hall_of_fame] == [m.fitness for m in reference.hall_of_fame]
    assert [m.genome for m in resumed.hall_of_fame] == [m.genome for m in reference.hall_of_fame]
    assert _without_seconds(resumed.logbook) == _without_seconds(reference.logbook)
    assert resumed.individuals == reference.individuals  # the interrupted generation is not recorded twice
    # finished evaluations were not recomputed: every seed ran once, apart from those in flight at the kill
    all_seeds = killed_log.read_text().split()
    assert sorted(set(all_seeds)) == sorted(set(reference_log.read_text().split()))
    assert len(all_seeds) - len(set(all_seeds)) <= 1
    assert len(seeds_before_kill) > len(set(all_seeds)) / 2


def test_resume_can_extend_a_finished_run(tmp_path):
    config = _write(tmp_path, _raw(function="tests.evaluations:units_score"))
    assert (
        main(["run", str(config), "--out", str(tmp_path / "short"), "--quiet", "--set", "evolution.generations=2"]) == 0
    )
    assert main(["resume", str(tmp_path / "short"), "--generations", "4", "--quiet"]) == 0
    assert main(["run", str(config), "--out", str(tmp_path / "long"), "--quiet"]) == 0
    short, long = load_run(tmp_path / "short"), load_run(tmp_path / "long")
    assert [row["gen"] for row in short.logbook] == [0, 1, 2, 3, 4]
    assert _without_seconds(short.logbook) == _without_seconds(long.logbook)
    assert short.individuals == long.individuals
    assert [m.fitness for m in short.hall_of_fame] == [m.fitness for m in long.hall_of_fame]


def test_corrupt_checkpoint_falls_back_to_the_previous_one(tmp_path):
    config = _write(tmp_path, _raw(function="tests.evaluations:units_score"))
    assert main(["run", str(config), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    newest = checkpoint_paths(tmp_path / "run")[-1]
    newest.write_bytes(newest.read_bytes()[:100])  # truncated
    with pytest.warns(UserWarning, match=f"checkpoint {newest} is unreadable"):
        saved = load_checkpoint(tmp_path / "run")
    assert saved.generation == 3
    before = load_run(tmp_path / "run")
    assert main(["resume", str(tmp_path / "run"), "--quiet"]) == 0
    after = load_run(tmp_path / "run")
    assert [m.fitness for m in after.hall_of_fame] == [m.fitness for m in before.hall_of_fame]
    assert _without_seconds(after.logbook) == _without_seconds(before.logbook)


def test_only_the_last_checkpoints_are_kept_and_all_corrupt_is_an_error(tmp_path, capsys):
    config = _write(tmp_path, _raw(function="tests.evaluations:units_score"))
    assert main(["run", str(config), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    paths = checkpoint_paths(tmp_path / "run")
    assert [p.name for p in paths] == ["generation_00002.npz", "generation_00003.npz", "generation_00004.npz"]
    for path in paths:
        path.write_bytes(b"not an archive")
    with pytest.raises(CheckpointError, match="generation_00002.npz"):
        load_checkpoint(tmp_path / "run")
    assert main(["resume", str(tmp_path / "run")]) == 2
    assert "no earlier checkpoint" in capsys.readouterr().err


# --- reading a run back ---------------------------------------------------------------------


def test_load_run_gives_config_logbook_and_lazy_models(finished_run):
    run = load_run(finished_run)
    assert run.config.seed == TINY_RUN["seed"]
    assert [row["gen"] for row in run.logbook] == [0, 1, 2]
    best = run.hall_of_fame[0]
    assert best.rank == 1 and best._models == {}
    samples = best.sample(300, seed=5)
    assert samples.shape == (300, 1)
    assert np.array_equal(samples, best.sample(300, seed=5))
    assert not np.array_equal(samples, best.sample(300, seed=6))
    assert best.discriminator(samples).shape == (300, 1)


def test_inspect_table_json_and_rank(finished_run, capsys):
    assert main(["inspect", str(finished_run)]) == 0
    table = capsys.readouterr().out
    assert "fitness" in table and "rank 1: generator" in table and ("→" in table or " relu" in table)
    # first what the fitness number is (TINY_RUN scores with generator_loss), then the table
    meaning, legend, blank, header = table.splitlines()[:4]
    assert meaning == (
        "fitness = generator_loss: -mean log D(G(z)) against the pair's own discriminator, in nats; lower is better"
    )
    assert legend.startswith("population: elite") and blank == ""
    assert "wasserstein_1d" in header and "steps" in header and "population" in header  # 1-D data's quality metrics
    assert main(["inspect", str(finished_run), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["rank"] for row in rows] == [1, 2]
    steps = TINY_RUN["training"]["steps"]
    assert all(row["trained_steps"] % steps == 0 and row["trained_steps"] >= steps for row in rows)
    assert {"fitness", "generator", "discriminator", "optimizer", "generator_parameters", "wasserstein_1d"} <= set(
        rows[0]
    )
    assert main(["inspect", str(finished_run), "--rank", "2", "--json"]) == 0
    member = json.loads(capsys.readouterr().out)
    assert member["rank"] == 2 and "parents" in member and "operators" in member and "born" in member
    assert main(["inspect", str(finished_run), "--rank", "2"]) == 0
    assert "lineage" in capsys.readouterr().out
    assert main(["inspect", str(finished_run), "--rank", "9"]) == 2


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_sample_writes_files(finished_run, tmp_path, suffix):
    out = tmp_path / f"samples{suffix}"
    assert main(["sample", str(finished_run), "--rank", "2", "-n", "50", "-o", str(out)]) == 0
    data = np.load(out) if suffix == ".npy" else np.loadtxt(out, delimiter=",")
    assert data.reshape(50, -1).shape == (50, 1)
    if suffix == ".csv":  # float32 samples, written with the 7 significant digits they hold
        digits = [len(cell.lstrip("-").split("e")[0].replace(".", "").lstrip("0")) for cell in out.read_text().split()]
        assert max(digits) <= 7
        again = tmp_path / "again.npy"
        assert main(["sample", str(finished_run), "--rank", "2", "-n", "50", "-o", str(again)]) == 0
        np.testing.assert_allclose(data.reshape(50, 1), np.load(again), rtol=1e-6)


def test_sample_refuses_png_for_non_image_data_and_bad_suffix(finished_run, tmp_path, capsys):
    assert main(["sample", str(finished_run), "-n", "5", "-o", str(tmp_path / "x.png")]) == 2
    assert main(["sample", str(finished_run), "-n", "5", "-o", str(tmp_path / "x.txt")]) == 2
    assert main(["inspect", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_plot_command_writes_pngs(finished_run, tmp_path, capsys):
    assert main(["plot", str(finished_run), "--out", str(tmp_path / "plots")]) == 0
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "coverage.png",
        "fitness.png",
        "genealogy.png",
        "samples.png",
    ]
    assert main(["plot", str(tmp_path / "nowhere")]) == 2


def test_sample_png_grid_for_image_data(tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, size=(200, 16)).astype(np.float32)
    np.save(tmp_path / "images.npy", images)
    raw = copy.deepcopy(TINY_RUN)
    raw["data"] = {
        "name": "file",
        "params": {"path": str(tmp_path / "images.npy"), "standardize": False, "output_activation": "tanh"},
    }
    raw["evolution"]["generations"] = 0
    assert main(["run", str(_write(tmp_path, raw)), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    out = tmp_path / "grid.png"
    assert main(["sample", str(tmp_path / "run"), "-n", "16", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_hall_of_fame_files_are_made_in_the_driver_when_their_worker_died(tmp_path):
    """The run's workers make the members' Keras files; a job whose worker died comes back as
    a failed result instead, and then the driver makes them itself."""
    import keras

    from deatf_gan.evaluation import EvalResult
    from deatf_gan.genome import GANGenome
    from deatf_gan.runs import RunDirectory, model_files

    def map_whose_model_files_workers_die(function, jobs):
        if function is model_files:
            return [EvalResult.failed_with("worker died 3 times") for _ in jobs]
        return map(function, jobs)

    directory = RunDirectory(tmp_path / "run")
    result = evolve(
        config_from_dict(TINY_RUN), map_fn=map_whose_model_files_workers_die, hooks=[directory], cache=directory.cache
    )
    member = tmp_path / "run" / "hall_of_fame" / "rank_1"
    generator = keras.models.load_model(member / "generator.keras")
    best = result.hall_of_fame[0]
    assert GANGenome.from_json((member / "genome.json").read_text()) == best.genome
    for saved, trained in zip(generator.get_weights(), best.result.weights[0]):
        np.testing.assert_array_equal(saved, trained)
