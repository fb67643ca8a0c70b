"""The run directory: resolved config, logbook, failures and the exported hall of fame.

Layout::

    RUN_DIR/config.yaml            the resolved config (loads back equal)
    RUN_DIR/logbook.csv, .jsonl    one row per generation
    RUN_DIR/failures.jsonl         one line per failed individual, with the reason
    RUN_DIR/hall_of_fame/rank_N/   genome.json, generator.keras, discriminator.keras, metrics.json

Every file is written to a temporary name and renamed into place, and the hall of fame is
rewritten after every generation in which it changed, so a run in progress, or one that
crashed, always leaves complete files behind.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
from pathlib import Path

from deatf_gan.build import build_pair
from deatf_gan.config import save_config
from deatf_gan.datasets import Dataset
from deatf_gan.errors import ConfigError
from deatf_gan.evolution import GenerationState, Hook, Individual

HALL_OF_FAME = "hall_of_fame"


def write_atomic(path: Path, text: str) -> None:
    """Write to ``path.tmp`` then rename: readers see the old file or the new one, never half."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


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


def export_member(individual: Individual, rank: int, dataset: Dataset, directory: Path) -> None:
    """Write one member: its genome, its trained models as ``.keras`` files and its metrics."""
    directory.mkdir(parents=True, exist_ok=True)
    generator, discriminator = build_pair(individual.genome, dataset, individual.seed)
    generator_weights, discriminator_weights = individual.result.weights
    generator.set_weights(generator_weights)
    discriminator.set_weights(discriminator_weights)
    generator.save(directory / "generator.keras")
    discriminator.save(directory / "discriminator.keras")
    (directory / "genome.json").write_text(individual.genome.to_json())
    (directory / "metrics.json").write_text(json.dumps(member_record(individual, rank), indent=2))


class RunDirectory(Hook):
    """The hook that keeps a run directory up to date after every generation."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._exported_ids: list[int] = []

    def on_start(self, state: GenerationState) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        save_config(state.config, self.path / "config.yaml")
        for name in ("logbook.jsonl", "failures.jsonl"):
            (self.path / name).write_text("")

    def on_generation(self, state: GenerationState) -> None:
        self._write_failures(state)
        self._write_logbook(state)
        ids = [member.id for member in state.hall_of_fame]
        if ids != self._exported_ids:
            self._export_hall_of_fame(state)
            self._exported_ids = ids

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
        for rank, member in enumerate(state.hall_of_fame, start=1):
            export_member(member, rank, state.dataset, fresh / f"rank_{rank}")
        if final.exists():
            os.replace(final, stale)
        os.replace(fresh, final)
        shutil.rmtree(stale, ignore_errors=True)
