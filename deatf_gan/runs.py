"""The run directory: resolved config, logbook, failures and the exported hall of fame.

Layout::

    RUN_DIR/config.yaml            the resolved config (loads back equal)
    RUN_DIR/logbook.csv, .jsonl    one row per generation
    RUN_DIR/failures.jsonl         one line per failed individual, with the reason
    RUN_DIR/hall_of_fame/rank_N/   genome.json, generator.keras, discriminator.keras, metrics.json
    RUN_DIR/checkpoints/           the last few generations' complete state (pickle)
    RUN_DIR/cache/                 evaluations finished in the generation in progress

Every file is written to a temporary name and renamed into place, and the hall of fame is
rewritten after every generation in which it changed, so a run in progress, or one that
crashed, always leaves complete files behind. A crash costs at most the evaluations still
running: finished ones are in the cache, earlier generations in the checkpoints.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pickle
import shutil
import tempfile
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from deatf_gan.config import Config, save_config
from deatf_gan.datasets import Dataset
from deatf_gan.errors import CheckpointError, ConfigError
from deatf_gan.evaluation import EvalResult
from deatf_gan.genome import ROLES, GANGenome
from deatf_gan.evolution import EvaluationCache, GenerationState, Hook, Individual, ResumeState

HALL_OF_FAME = "hall_of_fame"


CHECKPOINTS = "checkpoints"
CACHE = "cache"
KEEP_CHECKPOINTS = 3
CHECKPOINT_FORMAT = 1


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write to a temporary name, flush to disk, then rename: readers see the old file or the
    new one, never half of one, even after a SIGKILL or a power cut."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as stream:
        stream.write(data.encode() if isinstance(data, str) else data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


class DiskCache(EvaluationCache):
    """Evaluation results of the generation in progress, one pickle per genome fingerprint + seed."""

    def __init__(self, directory: Path):
        self.directory = directory

    def _path(self, genome: GANGenome, seed: int) -> Path:
        return self.directory / f"{genome.fingerprint()}-{seed}.pkl"

    def get(self, genome: GANGenome, seed: int) -> EvalResult | None:
        try:
            return pickle.loads(self._path(genome, seed).read_bytes())
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - a torn cache entry is simply recomputed
            return None

    def put(self, genome: GANGenome, seed: int, result: EvalResult) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomic(self._path(genome, seed), pickle.dumps(result))

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def checkpoint_paths(run_directory: Path) -> list[Path]:
    """Checkpoint files, oldest first."""
    return sorted((Path(run_directory) / CHECKPOINTS).glob("generation_*.pkl"))


def write_checkpoint(state: GenerationState, run_directory: Path) -> Path:
    """Save everything needed to continue after ``state.generation``; keep the last few."""
    saved = state.resume_state()
    directory = run_directory / CHECKPOINTS
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"generation_{state.generation:05d}.pkl"
    write_atomic(path, pickle.dumps({"format": CHECKPOINT_FORMAT, "state": saved}))
    for old in checkpoint_paths(run_directory)[:-KEEP_CHECKPOINTS]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(run_directory: str | Path) -> ResumeState | None:
    """The newest readable checkpoint; a corrupt one is reported and the previous one used.

    Returns None when the run has no checkpoint yet (it stopped in generation 0).
    """
    paths = checkpoint_paths(Path(run_directory))
    problems = []
    for path in reversed(paths):
        try:
            data = pickle.loads(path.read_bytes())
            if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
                raise ValueError("not a deatf_gan checkpoint of this version")
            if problems:
                warnings.warn(f"{'; '.join(problems)}; resuming from {path}", stacklevel=2)
            return data["state"]
        except Exception as error:  # noqa: BLE001 - any unreadable file falls back to the previous one
            problems.append(f"checkpoint {path} is unreadable ({type(error).__name__}: {error})")
    if problems:
        raise CheckpointError("; ".join(problems) + "; no earlier checkpoint to fall back to")
    return None


def _read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _json_number(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def prepare_run_directory(path: str | Path, overwrite: bool = False) -> Path:
    """Create the run directory; one that already holds files is refused unless ``overwrite``."""
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        if not overwrite:
            raise ConfigError(f"{path}: run directory is not empty (pass --overwrite to replace it)")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
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
        **{k: _json_number(v) for k, v in individual.result.metrics().items() if k != "fitness"},
        "fitness": [_json_number(v) for v in individual.fitness.values],
    }


ModelFiles = tuple[bytes, bytes]  # a trained pair's generator.keras and discriminator.keras


def model_files(job: tuple[GANGenome, Dataset, int, tuple[list, list]]) -> ModelFiles:
    """The ``.keras`` files of one trained pair ``(genome, dataset, seed, weights)``, as bytes.

    A job for the run's ``map``: the workers have Keras loaded already, so a driver whose
    evaluations run in workers never imports it (several seconds per run)."""
    import keras

    from deatf_gan.build import trained_pair

    files = []
    with tempfile.TemporaryDirectory(prefix="deatf-gan-model-") as scratch:
        for role, model in zip(ROLES, trained_pair(*job)):
            path = Path(scratch) / f"{role}.keras"
            model.save(path)
            files.append(path.read_bytes())
    keras.backend.clear_session(free_memory=False)
    return tuple(files)


def _are_model_files(value) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and all(isinstance(part, bytes) for part in value)


def export_member(individual: Individual, rank: int, directory: Path, files: ModelFiles | None) -> None:
    """Write one member: its genome, its metrics and, when the evaluation handed back trained
    weights (``eval_gan`` does; a custom function returning a float does not), its trained
    models' ``files`` (:func:`model_files`)."""
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
        save_config(state.config, self.path / "config.yaml")
        if not self.resuming:
            self.cache.clear()
            for name in ("logbook.jsonl", "failures.jsonl"):
                write_atomic(self.path / name, "")
            return
        # Forget what the interrupted generation wrote; its finished evaluations stay cached.
        done = state.generation - 1
        rows = [json.dumps({k: _json_number(v) for k, v in row.items()}) + "\n" for row in state.logbook]
        write_atomic(self.path / "logbook.jsonl", "".join(rows))
        failures = self.path / "failures.jsonl"
        kept = [line for line in _read_lines(failures) if json.loads(line)["generation"] <= done]
        write_atomic(failures, "".join(line + "\n" for line in kept))

    def on_generation(self, state: GenerationState) -> None:
        self._write_failures(state)
        self._write_logbook(state)
        ids = [member.id for member in state.hall_of_fame]
        if ids != self._exported_ids:
            self._export_hall_of_fame(state)
            self._exported_ids = ids
        write_checkpoint(state, self.path)
        self.cache.clear()

    def _write_failures(self, state: GenerationState) -> None:
        with open(self.path / "failures.jsonl", "a") as stream:
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

    def _write_logbook(self, state: GenerationState) -> None:
        rows = [{k: _json_number(v) for k, v in row.items()} for row in state.logbook]
        with open(self.path / "logbook.jsonl", "a") as stream:
            stream.write(json.dumps(rows[-1]) + "\n")
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=state.logbook.header)
        writer.writeheader()
        writer.writerows(rows)
        write_atomic(self.path / "logbook.csv", buffer.getvalue())

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
            self._model_files[member.id] = files if _are_model_files(files) else model_files(job)
        kept = {m.id for m in members}
        self._model_files = {key: files for key, files in self._model_files.items() if key in kept}


def resume_run(
    run_directory: str | Path, generations: int | None = None, hooks: tuple[Hook, ...] = (), map_fn=None
):
    """Continue a run from its last complete generation, reusing evaluations it finished since.

    ``generations`` raises (or lowers) the total number of generations. The result equals
    that of the same run never interrupted.
    """
    from deatf_gan.config import load_config
    from deatf_gan.evolution import evolve

    run_directory = Path(run_directory)
    if not (run_directory / "config.yaml").is_file():
        raise ConfigError(f"{run_directory}: not a run directory (no config.yaml)")
    config = load_config(run_directory / "config.yaml")
    if generations is not None:
        if generations < 0:
            raise ConfigError(f"--generations: must be >= 0 (got {generations})")
        config = replace(config, evolution=replace(config.evolution, generations=generations))
    saved = load_checkpoint(run_directory)
    directory = RunDirectory(run_directory, resuming=True)
    return evolve(config, map_fn=map_fn, hooks=(directory, *hooks), cache=directory.cache, resume=saved)


# --- reading a run back ---------------------------------------------------------------------


class Member:
    """One hall-of-fame member read from disk; the Keras models load on first use."""

    def __init__(self, directory: Path, latent_stddev: float):
        self.directory = directory
        self.metrics: dict = json.loads((directory / "metrics.json").read_text())
        self.genome = GANGenome.from_json((directory / "genome.json").read_text())
        self.rank: int = self.metrics["rank"]
        self.fitness: tuple = tuple(self.metrics["fitness"])
        self.latent_stddev = latent_stddev
        self._models: dict = {}

    def _model(self, name: str):
        if name not in self._models:
            import keras

            path = self.directory / f"{name}.keras"
            if not path.is_file():
                raise ConfigError(f"{path}: no trained model (its evaluation returned no weights)")
            self._models[name] = keras.models.load_model(path)
        return self._models[name]

    @property
    def generator(self):
        return self._model("generator")

    @property
    def discriminator(self):
        return self._model("discriminator")

    def sample(self, n: int, seed: int = 0):
        """``n`` generated samples, latent ``z ~ N(0, latent_stddev²)`` drawn with ``seed``."""
        import numpy as np

        rng = np.random.default_rng(seed)
        latent = self.latent_stddev * rng.standard_normal((n, self.genome.hyperparameters.latent_dim))
        return np.asarray(self.generator(latent.astype(np.float32), training=False))

    def __repr__(self) -> str:
        return f"Member(rank={self.rank}, fitness={self.fitness})"


@dataclass(frozen=True)
class Run:
    """A run directory read back: config, logbook rows, hall of fame, failures."""

    directory: Path
    config: Config
    logbook: list[dict]
    hall_of_fame: list[Member]
    failures: list[dict]

    def member(self, rank: int) -> Member:
        for member in self.hall_of_fame:
            if member.rank == rank:
                return member
        raise ConfigError(f"--rank {rank}: the hall of fame has ranks 1 to {len(self.hall_of_fame)}")


def load_run(run_directory: str | Path) -> Run:
    """Read a finished or running run directory (the hall of fame is rewritten each generation)."""
    from deatf_gan.config import load_config

    run_directory = Path(run_directory)
    if not (run_directory / "config.yaml").is_file():
        raise ConfigError(f"{run_directory}: not a run directory (no config.yaml)")
    config = load_config(run_directory / "config.yaml")
    members_root = run_directory / HALL_OF_FAME
    ranks = sorted(members_root.glob("rank_*"), key=lambda p: int(p.name.split("_")[1])) if members_root.exists() else []
    return Run(
        directory=run_directory,
        config=config,
        logbook=[json.loads(line) for line in _read_lines(run_directory / "logbook.jsonl")],
        hall_of_fame=[Member(path, config.training.latent_stddev) for path in ranks],
        failures=[json.loads(line) for line in _read_lines(run_directory / "failures.jsonl")],
    )
