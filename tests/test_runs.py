"""The run directory: written by its hook, checkpoints round-trip, read back with load_run.

Runs here score genomes with ``tests.evaluations:units_score`` (no training), so a whole
run with its directory takes well under a second; ``finished_run`` is the shared trained run.
"""

import copy
import json
import logging
import pickle

import pytest

from deatf_gan.config import config_from_dict, load_config
from deatf_gan.errors import CheckpointError, ConfigError
from deatf_gan.evaluation import EvalResult
from deatf_gan.evolution import evolve
from deatf_gan.runs import (
    KEEP_CHECKPOINTS,
    DiskCache,
    RunDirectory,
    checkpoint_paths,
    load_checkpoint,
    load_run,
    prepare_run_directory,
    write_checkpoint,
)
from tests.conftest import TINY_RUN, small_genome


class Checkpointed(RunDirectory):
    """The run directory hook that also keeps each generation's state, to compare with its checkpoint."""

    def __init__(self, path):
        super().__init__(path)
        self.states = []

    def on_generation(self, state):
        super().on_generation(state)
        self.states.append(state)


def _quick_run(path, generations=3):
    raw = copy.deepcopy(TINY_RUN)
    raw["evaluation"] = {"function": "tests.evaluations:units_score"}
    raw["evolution"]["generations"] = generations
    directory = Checkpointed(path)
    result = evolve(config_from_dict(raw), hooks=[directory], cache=directory.cache)
    return result, directory


def test_a_run_writes_every_file_and_load_run_reads_it_back(tmp_path):
    result, _ = _quick_run(tmp_path / "run")
    run = load_run(tmp_path / "run")
    assert run.config == result.config == load_config(tmp_path / "run" / "config.yaml")
    assert [row["gen"] for row in run.logbook] == [0, 1, 2, 3]
    assert (tmp_path / "run" / "logbook.csv").read_text().splitlines()[0].startswith("gen,evaluated,failures")
    assert [member.rank for member in run.hall_of_fame] == [1, 2]
    assert [member.genome for member in run.hall_of_fame] == [ind.genome for ind in result.hall_of_fame]
    assert [member.fitness for member in run.hall_of_fame] == [ind.fitness.values for ind in result.hall_of_fame]
    assert run.failures == [] and not (tmp_path / "run" / "cache").exists()
    with pytest.raises(ConfigError, match="no trained model"):  # a custom score hands back no weights
        run.hall_of_fame[0].sample(1)
    with pytest.raises(ConfigError, match="ranks 1 to 2"):
        run.member(3)


def test_checkpoints_round_trip_and_only_the_last_few_are_kept(tmp_path):
    _, directory = _quick_run(tmp_path / "run", generations=KEEP_CHECKPOINTS + 1)
    assert [path.name for path in checkpoint_paths(tmp_path / "run")] == [
        f"generation_{n:05d}.npz" for n in range(2, KEEP_CHECKPOINTS + 2)
    ]
    last = directory.states[-1]
    saved = load_checkpoint(tmp_path / "run")
    assert saved.generation == last.generation and saved.next_id == last.next_id
    assert [ind.genome for ind in saved.population] == [ind.genome for ind in last.population]
    assert [ind.fitness.values for ind in saved.hall_of_fame] == [ind.fitness.values for ind in last.hall_of_fame]
    assert saved.rng_state == last.rng_state and list(saved.logbook) == list(last.logbook)


def test_a_corrupt_newest_checkpoint_falls_back_to_the_one_before(tmp_path):
    _, directory = _quick_run(tmp_path / "run")
    newest, previous = checkpoint_paths(tmp_path / "run")[-1], checkpoint_paths(tmp_path / "run")[-2]
    newest.write_bytes(newest.read_bytes()[:50])
    with pytest.warns(UserWarning, match=f"{newest.name} is unreadable.*resuming from {previous}"):
        assert load_checkpoint(tmp_path / "run").generation == directory.states[-2].generation
    for path in checkpoint_paths(tmp_path / "run"):
        path.write_bytes(pickle.dumps({"format": "someone else's"}))
    with pytest.raises(CheckpointError, match="no earlier checkpoint"):
        load_checkpoint(tmp_path / "run")


def test_write_checkpoint_of_a_state_by_hand(tmp_path):
    _, directory = _quick_run(tmp_path / "run", generations=0)
    path = write_checkpoint(directory.states[0], tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / "checkpoints" / "generation_00000.npz"
    assert load_checkpoint(tmp_path / "elsewhere").generation == 0
    assert load_checkpoint(tmp_path / "empty") is None  # stopped before its first checkpoint


def test_the_disk_cache_round_trips_and_recomputes_a_torn_entry(tmp_path, caplog):
    cache = DiskCache(tmp_path / "cache")
    genome, result = small_genome(), EvalResult(fitness=(1.5,), generator_loss=0.7)
    assert cache.get(genome, 7) is None
    cache.put(genome, 7, result)
    assert cache.get(genome, 7) == result and cache.get(genome, 8) is None
    next((tmp_path / "cache").iterdir()).write_bytes(b"torn")
    with caplog.at_level(logging.WARNING, logger="deatf_gan.runs.writer"):
        assert cache.get(genome, 7) is None
    assert "evaluating again" in caplog.text
    cache.clear()
    assert not (tmp_path / "cache").exists()


def test_a_run_directory_that_holds_files_is_refused_unless_overwritten(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not empty"):
        prepare_run_directory(tmp_path / "run")
    assert list(prepare_run_directory(tmp_path / "run", overwrite=True).iterdir()) == []
    with pytest.raises(ConfigError, match="not a run directory"):
        load_run(tmp_path / "run")


def test_load_run_of_a_trained_run_has_models_and_metrics(finished_run):
    run = load_run(finished_run)
    best = run.hall_of_fame[0]
    metrics = json.loads((finished_run / "hall_of_fame" / "rank_1" / "metrics.json").read_text())
    assert best.metrics == metrics and best.genome.hyperparameters.latent_dim >= 1
    assert {"generator_loss", "discriminator_loss", "seed", "parents"} <= set(metrics)
    assert (finished_run / "hall_of_fame" / "rank_1" / "generator.keras").is_file()
