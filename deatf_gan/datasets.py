"""Data sources, registered by name and chosen in the config.

A data source returns a :class:`Dataset`: the real samples plus what the fixed output
layer of the generator needs to know (its activation, and whether the models standardise
the data internally). Nothing is downloaded: data is generated or ships in a package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from deatf_gan.errors import DataError
from deatf_gan.registry import Registry


@dataclass(frozen=True)
class Dataset:
    """Real samples (float32, one row per sample) and how a generator should end.

    ``output_activation`` is ``"linear"`` for unbounded data and ``"tanh"`` for data scaled
    to [-1, 1]. With ``standardize`` the decoded models carry fixed per-feature
    normalisation layers (the discriminator's input, the inverse on the generator's output),
    so training is well conditioned while both models still work in data units.
    """

    name: str
    samples: np.ndarray
    output_activation: str = "linear"
    standardize: bool = True

    def __post_init__(self):
        samples = self.samples
        if samples.ndim != 2 or samples.shape[0] < 2:
            raise DataError(f"dataset {self.name!r}: expected at least 2 rows of features, got shape {samples.shape}")
        if not np.all(np.isfinite(samples)):
            raise DataError(f"dataset {self.name!r}: contains NaN or inf")
        if self.output_activation not in ("linear", "tanh"):
            raise DataError(f"dataset {self.name!r}: output_activation must be linear or tanh")

    @property
    def dim(self) -> int:
        return int(self.samples.shape[1])

    @property
    def mean(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    @property
    def variance(self) -> np.ndarray:
        # A constant feature would divide by zero in the normalisation layer.
        return np.maximum(self.samples.var(axis=0), 1e-12)


DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")


@DATASETS.register("gaussian_1d")
def gaussian_1d(samples: int = 10_000, mean: float = 10.0, stddev: float = 1.0, seed: int = 0) -> Dataset:
    """The classic first GAN exercise: x ~ N(mean, stddev²), by default N(10, 1)."""
    rng = np.random.default_rng(seed)
    data = rng.normal(mean, stddev, size=(samples, 1)).astype(np.float32)
    return Dataset("gaussian_1d", data, output_activation="linear", standardize=True)


def load_dataset(name: str, params: dict | None = None, seed: int = 0) -> Dataset:
    """Build the named dataset; ``seed`` is used by sources that generate their samples."""
    factory = DATASETS.get(name)
    params = dict(params or {})
    try:
        return factory(seed=seed, **params)
    except TypeError as error:
        raise DataError(f"dataset {name!r}: bad parameters {params} ({error})") from None
