"""The hook that keeps a run directory complete after every generation, and the evaluation cache.

Every file is written to a temporary name and renamed into place, and the hall of fame is
rewritten after every generation in which it changed, so a run in progress, or one that
crashed, always leaves complete files behind. A crash costs at most the evaluations still
running: finished ones are in the cache, earlier generations in the checkpoints.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
from pathlib import Path

from deatf_gan.atomic import write_atomic
from deatf_gan.config import save_config
from deatf_gan.errors import ConfigError
from deatf_gan.evaluation import EvalResult
from deatf_gan.evolution import EvaluationCache, GenerationState, Hook, Individual, elite_of
from deatf_gan.genome import ROLES, GANGenome
from deatf_gan.runs.archive import Arrays, decode_result, encode_result, read_archive, write_archive
from deatf_gan.runs.checkpoints import write_checkpoint
from deatf_gan.runs.layout import (
    CACHE,
    CONFIG,
    FAILURES,
    HALL_OF_FAME,
    INDIVIDUALS,
    LOCK,
    LOGBOOK_CSV,
    LOGBOOK_JSONL,
    POPULATION,
    json_number,
    read_lines,
)
from deatf_gan.runs.lock import make_directory
from deatf_gan.runs.models import ModelFiles, are_model_files, model_files

logger = logging.getLogger(__name__)

EVALUATION = "evaluation"  # the archive kind of a cached result


class DiskCache(EvaluationCache):
    """Evaluation results of the generation in progress, one archive per genome fingerprint + seed
    (:mod:`deatf_gan.runs.archive`: data, never code)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def _path(self, genome: GANGenome, seed: int) -> Path:
        return self.directory / f"{genome.fingerprint()}-{seed}.npz"

    def get(self, genome: GANGenome, seed: int) -> EvalResult | None:
        path = self._path(genome, seed)
        try:
            record, arrays = read_archive(path, EVALUATION)
            return decode_result(record["result"], arrays)
        except FileNotFoundError:
            return None
        except Exception as error:  # noqa: BLE001 - a torn cache entry is simply recomputed
            logger.warning(
                "cached evaluation %s is unreadable (%s: %s); evaluating again", path, type(error).__name__, error
            )
            return None

    def put(self, genome: GANGenome, seed: int, result: EvalResult) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        arrays = Arrays()
        write_archive(self._path(genome, seed), EVALUATION, {"result": encode_result(result, arrays)}, arrays)

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def prepare_run_directory(path: str | Path, overwrite: bool = False) -> Path:
    """Create the run directory; one that already holds files is refused unless ``overwrite``.

    The lock file is not counted and ``overwrite`` keeps it, so a caller that holds the
    lock (:class:`~deatf_gan.runs.lock.RunLock`, taken first) goes on holding it.
    """
    path = Path(path)
    make_directory(path)
    try:
        entries = [entry for entry in path.iterdir() if entry.name != LOCK]
        if entries and not overwrite:
            raise ConfigError(f"{path}: run directory is not empty (pass --overwrite to replace it)")
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    except OSError as error:
        raise ConfigError(f"{path}: cannot clear the run directory ({error.strerror or error})") from None
    return path


def member_record(individual: Individual, rank: int) -> dict:
    """The JSON-ready description of one hall-of-fame member (everything but weights)."""
    genome = individual.genome
    hyper = genome.hyperparameters
    return {
        "rank": rank,
        "id": individual.id,
        "born": individual.born,
        "parents": list(individual.parents),
        "operators": list(individual.operators),
        "seed": individual.seed,
        "generator": genome.generator.summary(),
        "discriminator": genome.discriminator.summary(),
        "optimizer": hyper.optimizer,
        "generator_learning_rate": hyper.generator_learning_rate,
        "discriminator_learning_rate": hyper.discriminator_learning_rate,
        **{k: json_number(v) for k, v in individual.result.metrics().items() if k != "fitness"},
        "fitness": [json_number(v) for v in individual.fitness.values],
    }


def export_member(individual: Individual, rank: int, directory: Path, files: ModelFiles | None) -> None:
    """Write one member: its genome, its metrics and, when the evaluation handed back trained
    weights (``eval_gan`` does; a custom function returning a float does not), its trained
    models' ``files`` (:func:`~deatf_gan.runs.models.model_files`)."""
    directory.mkdir(parents=True, exist_ok=True)
    if files is not None:
        for role, data in zip(ROLES, files):
            (directory / f"{role}.keras").write_bytes(data)
    (directory / "genome.json").write_text(individual.genome.to_json())
    (directory / "metrics.json").write_text(json.dumps(member_record(individual, rank), indent=2))


class RunDirectory(Hook):
    """The hook that keeps a run directory up to date after every generation: logbook,
    failures, hall of fame, then the checkpoint (the checkpointer is this hook)."""

    def __init__(self, path: str | Path, resuming: bool = False):
        self.path = Path(path)
        self.resuming = resuming
        self.cache = DiskCache(self.path / CACHE)
        self._exported_ids: list[int] | None = None
        self._model_files: dict[int, ModelFiles] = {}  # by individual id: each member's files are made once

    def on_start(self, state: GenerationState) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        save_config(state.config, self.path / CONFIG)
        if not self.resuming:
            self.cache.clear()
            for name in (LOGBOOK_JSONL, FAILURES, INDIVIDUALS):
                write_atomic(self.path / name, "")
            return
        # Forget what the interrupted generation wrote; its finished evaluations stay cached.
        done = state.generation - 1
        rows = [json.dumps({k: json_number(v) for k, v in row.items()}) + "\n" for row in state.logbook]
        write_atomic(self.path / LOGBOOK_JSONL, "".join(rows))
        for name in (FAILURES, INDIVIDUALS):
            kept = [line for line in read_lines(self.path / name) if json.loads(line)["generation"] <= done]
            write_atomic(self.path / name, "".join(line + "\n" for line in kept))

    def on_generation(self, state: GenerationState) -> None:
        self._write_failures(state)
        self._write_individuals(state)
        self._write_logbook(state)
        self._write_population(state)
        ids = [member.id for member in state.hall_of_fame]
        if ids != self._exported_ids:
            self._export_hall_of_fame(state)
            self._exported_ids = ids
        write_checkpoint(state, self.path)
        self.cache.clear()

    def _write_failures(self, state: GenerationState) -> None:
        with open(self.path / FAILURES, "a") as stream:
            for individual in state.evaluated:
                if individual.failed:
                    record = {
                        "generation": state.generation,
                        "id": individual.id,
                        "reason": individual.result.failure,
                        "traceback": individual.result.traceback,
                        "genome": individual.genome.to_dict(),
                    }
                    stream.write(json.dumps(record) + "\n")

    def _write_individuals(self, state: GenerationState) -> None:
        """The ledger of everyone evaluated, from which ``plot`` draws the hall of fame's
        ancestry and the search space's coverage."""
        with open(self.path / INDIVIDUALS, "a") as stream:
            for individual in state.evaluated:
                genome = individual.genome
                record = {
                    "generation": state.generation,
                    "id": individual.id,
                    "parents": list(individual.parents),
                    "operators": list(individual.operators),
                    "fitness": [json_number(v) for v in individual.fitness.values],
                    "failed": individual.failed,
                    "generator": genome.generator.summary(),
                    "discriminator": genome.discriminator.summary(),
                    "trained_steps": individual.result.trained_steps,
                }
                stream.write(json.dumps(record) + "\n")

    def _write_population(self, state: GenerationState) -> None:
        """Who is in the population now, and which members are elite (sure to survive)."""
        elite = {ind.id for ind in elite_of(state.population, state.config.evolution)}
        members = [
            {"id": ind.id, "fitness": [json_number(v) for v in ind.fitness.values], "elite": ind.id in elite}
            for ind in state.population
        ]
        record = {"generation": state.generation, "elitism": state.config.evolution.elitism, "members": members}
        write_atomic(self.path / POPULATION, json.dumps(record, indent=1))

    def _write_logbook(self, state: GenerationState) -> None:
        rows = [{k: json_number(v) for k, v in row.items()} for row in state.logbook]
        with open(self.path / LOGBOOK_JSONL, "a") as stream:
            stream.write(json.dumps(rows[-1]) + "\n")
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=state.logbook.header)
        writer.writeheader()
        writer.writerows(rows)
        write_atomic(self.path / LOGBOOK_CSV, buffer.getvalue())

    def _export_hall_of_fame(self, state: GenerationState) -> None:
        """Build the new hall of fame beside the old one, then swap it in."""
        final = self.path / HALL_OF_FAME
        fresh = self.path / (HALL_OF_FAME + ".new")
        stale = self.path / (HALL_OF_FAME + ".old")
        for leftover in (fresh, stale):
            shutil.rmtree(leftover, ignore_errors=True)
        fresh.mkdir()
        members = list(state.hall_of_fame)
        self._make_model_files(members, state)
        for rank, member in enumerate(members, start=1):
            export_member(member, rank, fresh / f"rank_{rank}", self._model_files.get(member.id))
        if final.exists():
            os.replace(final, stale)
        os.replace(fresh, final)
        shutil.rmtree(stale, ignore_errors=True)

    def _make_model_files(self, members: list[Individual], state: GenerationState) -> None:
        """Model files for the members that have none yet, made by the run's workers
        (``state.map_fn``); one whose worker died is made here instead."""
        new = [m for m in members if m.id not in self._model_files and m.result.weights is not None]
        jobs = [(m.genome, state.dataset, m.seed, m.result.weights) for m in new]
        for member, job, files in zip(new, jobs, state.map_fn(model_files, jobs)):
            if not are_model_files(files):
                logger.warning(
                    "the workers could not make individual %d's model files (%s); making them here", member.id, files
                )
                files = model_files(job)
            self._model_files[member.id] = files
        kept = {m.id for m in members}
        self._model_files = {key: files for key, files in self._model_files.items() if key in kept}
