"""Data sources, registered by name and chosen in the config.

A data source returns a :class:`Dataset`: the real samples plus what the fixed output
layer of the generator needs to know (its activation, and whether the models standardise
the data internally). Nothing is downloaded: data is generated, ships in a package or is
read from the user's own file.
"""

from __future__ import annotations

import csv
import math
import numbers
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deatf_gan.errors import ConfigError, DataError
from deatf_gan.registry import Registry


@dataclass(frozen=True)
class Dataset:
    """Real samples (float32, one row per sample) and how a generator should end.

    ``output_activation`` is ``"linear"`` for unbounded data and ``"tanh"`` for data scaled
    to [-1, 1]. With ``standardize`` the decoded models carry fixed per-feature
    normalisation layers (the discriminator's input, the inverse on the generator's output),
    so training is well conditioned while both models still work in data units.

    ``kind`` chooses the quality metrics (``deatf_gan.metrics``) and the plot:
    ``univariate`` (1-D), ``mixture`` (Gaussian modes at ``centres`` with ``mode_stddev``),
    ``digits`` (8 × 8 images in [-1, 1]) or ``samples`` (anything else).
    """

    name: str
    samples: np.ndarray
    output_activation: str = "linear"
    standardize: bool = True
    kind: str = "samples"
    centres: np.ndarray | None = None
    mode_stddev: float | None = None

    def __post_init__(self):
        samples = self.samples
        if samples.ndim != 2 or samples.shape[0] < 2:
            raise DataError(f"dataset {self.name!r}: expected at least 2 rows of features, got shape {samples.shape}")
        if not np.all(np.isfinite(samples)):
            raise DataError(f"dataset {self.name!r}: contains NaN or inf")
        if self.output_activation not in ("linear", "tanh"):
            raise DataError(f"dataset {self.name!r}: output_activation must be linear or tanh")
        if self.kind not in KINDS:
            raise DataError(f"dataset {self.name!r}: kind must be one of {', '.join(KINDS)}")
        if (self.kind == "mixture") != (self.centres is not None and self.mode_stddev is not None):
            raise DataError(f"dataset {self.name!r}: a mixture needs centres and mode_stddev, other kinds none")

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


KINDS = ("univariate", "mixture", "digits", "samples")

DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")


@DATASETS.register("gaussian_1d")
def gaussian_1d(samples: int = 10_000, mean: float = 10.0, stddev: float = 1.0, seed: int = 0) -> Dataset:
    """The classic first GAN exercise: x ~ N(mean, stddev²), by default N(10, 1)."""
    rng = np.random.default_rng(seed)
    data = rng.normal(mean, stddev, size=(samples, 1)).astype(np.float32)
    return Dataset("gaussian_1d", data, output_activation="linear", standardize=True, kind="univariate")


def ring_centres(modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """``modes`` points evenly spaced on a circle, the first at angle 0."""
    angles = 2 * np.pi * np.arange(modes) / modes
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float32)


def grid_centres(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    """A ``side`` × ``side`` grid centred on the origin: {-4, -2, 0, 2, 4}² by default."""
    axis = spacing * (np.arange(side) - (side - 1) / 2)
    return np.array([(x, y) for x in axis for y in axis], dtype=np.float32)


def _mixture(name: str, centres: np.ndarray, stddev: float, samples: int, seed: int) -> Dataset:
    """Equal-weight isotropic Gaussians at ``centres``: each sample picks a centre uniformly."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(centres), size=samples)
    data = (centres[picks] + stddev * rng.standard_normal((samples, centres.shape[1]))).astype(np.float32)
    return Dataset(name, data, kind="mixture", centres=centres, mode_stddev=float(stddev))


@DATASETS.register("ring8")
def ring8(samples: int = 10_000, modes: int = 8, radius: float = 2.0, stddev: float = 0.02, seed: int = 0) -> Dataset:
    """The usual mode-collapse benchmark (VEEGAN, PacGAN): 8 Gaussians on a circle of radius 2, std 0.02."""
    return _mixture("ring8", ring_centres(modes, radius), stddev, samples, seed)


@DATASETS.register("grid25")
def grid25(samples: int = 10_000, side: int = 5, spacing: float = 2.0, stddev: float = 0.05, seed: int = 0) -> Dataset:
    """The harder mode-collapse benchmark: a 5 × 5 grid of Gaussians at {-4, -2, 0, 2, 4}², std 0.05."""
    return _mixture("grid25", grid_centres(side, spacing), stddev, samples, seed)


@DATASETS.register("digits")
def digits(seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 handwritten 8 × 8 digits (they ship inside the package), pixels
    0..16 scaled to [-1, 1] for a tanh generator output. ``seed`` is unused: the data is fixed."""
    from sklearn.datasets import load_digits

    images = load_digits().data.astype(np.float32) / 8.0 - 1.0
    return Dataset("digits", images, output_activation="tanh", standardize=False, kind="digits")


@DATASETS.register("file")
def file_data(path: str, standardize: bool = True, output_activation: str = "linear", seed: int = 0) -> Dataset:
    """The user's own samples: a 2-D numeric array in a ``.npy`` or ``.csv`` file, one row per
    sample (a 1-D array is one feature). A CSV may start with one header row of column names.
    ``seed`` is unused: the data is what the file holds. Every problem raises DataError naming
    the file (and the row and column where there is one), before any training starts."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    readers = {".npy": _read_npy, ".csv": _read_csv}
    if path.suffix.lower() not in readers:
        raise DataError(f"{path}: unknown data file extension {path.suffix!r} (expected .npy or .csv)")
    data = readers[path.suffix.lower()](path)
    if data.ndim == 1:
        data = data.reshape(-1, 1)
    if data.ndim != 2:
        raise DataError(f"{path}: expected a 1-D or 2-D array, got shape {data.shape}")
    if data.size == 0:
        raise DataError(f"{path}: the file holds no samples (shape {data.shape})")
    bad = np.argwhere(~np.isfinite(data))
    if len(bad):
        row, column = bad[0]
        raise DataError(f"{path}: NaN or inf at array row {row + 1}, column {column + 1} ({len(bad)} such values)")
    if output_activation == "tanh" and np.abs(data).max() > 1:
        raise DataError(
            f"{path}: output_activation tanh needs data in [-1, 1] (largest magnitude {np.abs(data).max():g})"
        )
    kind = "univariate" if data.shape[1] == 1 else "samples"
    return Dataset(
        f"file:{path}", data.astype(np.float32), output_activation=output_activation, standardize=standardize, kind=kind
    )


def _read_npy(path: Path) -> np.ndarray:
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable numeric .npy array ({error})") from None
    if not isinstance(data, np.ndarray) or data.dtype.kind not in "iuf":
        raise DataError(
            f"{path}: expected an integer or float array, got dtype {getattr(data, 'dtype', type(data).__name__)}"
        )
    return data


def _read_csv(path: Path) -> np.ndarray:
    """Rows of numbers; an all-text first row is taken as a header. Errors give the line and column."""
    try:
        with open(path, newline="") as stream:
            rows = [
                (line, row) for line, row in enumerate(csv.reader(stream), start=1) if any(cell.strip() for cell in row)
            ]
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: not a readable text CSV file ({error})") from None
    if rows and all(_number(cell) is None for cell in rows[0][1]):
        rows = rows[1:]  # a header row of column names
    if not rows:
        raise DataError(f"{path}: the file holds no samples")
    width = len(rows[0][1])
    values = []
    for line, row in rows:
        if len(row) != width:
            raise DataError(f"{path}: line {line} has {len(row)} columns, expected {width} like line {rows[0][0]}")
        numbers = [_number(cell) for cell in row]
        for column, (cell, number) in enumerate(zip(row, numbers), start=1):
            if number is None:
                raise DataError(f"{path}: line {line}, column {column}: not a number ({cell!r})")
            if not math.isfinite(number):
                raise DataError(f"{path}: line {line}, column {column}: NaN or inf ({cell.strip()!r})")
        values.append(numbers)
    return np.array(values, dtype=np.float64)


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


# Bounds of the generating sources' parameters, by name: each means the same in every source.
_AT_LEAST = {"samples": 2, "modes": 1, "side": 1}
_POSITIVE = ("stddev", "radius", "spacing")
_TYPES = {int: (numbers.Integral, "an integer"), float: (numbers.Real, "a number"), bool: (bool, "true or false")}


def check_params(name: str, params: dict) -> None:
    """Each number or flag has the type its source declares, is finite and in range.

    The error names ``data.params.<key>`` as a config would, before any data is made: NumPy's
    own message (``scale < 0``) names neither the key nor the source.
    """
    hints = typing.get_type_hints(DATASETS.get(name))
    for key, value in params.items():
        where, hint = f"data.params.{key}", hints.get(key)
        if hint not in _TYPES:
            continue
        kind, kind_name = _TYPES[hint]
        if isinstance(value, bool) != (hint is bool) or not isinstance(value, kind):
            raise ConfigError(f"{where}: must be {kind_name} (got {value!r})")
        if hint is float and not math.isfinite(value):
            raise ConfigError(f"{where}: must be a finite number (got {value!r})")
        if key in _AT_LEAST and value < _AT_LEAST[key]:
            raise ConfigError(f"{where}: must be >= {_AT_LEAST[key]} (got {value!r})")
        if key in _POSITIVE and value <= 0:
            raise ConfigError(f"{where}: must be > 0 (got {value!r})")


def load_dataset(name: str, params: dict | None = None, seed: int = 0) -> Dataset:
    """Build the named dataset; ``seed`` is used by sources that generate their samples."""
    factory = DATASETS.get(name)
    params = dict(params or {})
    check_params(name, params)
    try:
        return factory(seed=seed, **params)
    except TypeError as error:
        raise DataError(f"dataset {name!r}: bad parameters {params} ({error})") from None
