"""A trained pair's ``.keras`` files, made as a job where the run's evaluations run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from deatf_gan.datasets import Dataset
from deatf_gan.genome import ROLES, GANGenome

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


def are_model_files(value) -> bool:
    """Whether a job's result is a pair of files (a dead worker's job comes back as something else)."""
    return isinstance(value, tuple) and len(value) == 2 and all(isinstance(part, bytes) for part in value)
