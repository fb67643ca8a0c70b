"""Quality of a generator's samples against the real data, in plain NumPy/SciPy.

Fitness comes from the discriminator; these measures say how good the samples honestly are,
each suited to one kind of data (``univariate``, ``mixture``, ``digits``, ``samples``) and
reached through :func:`quality_metrics`. All take float arrays with one sample per row.
SciPy (over a second to import) is imported by the measures that use it, not with the
module, which the command line and the evolution driver import for the metric names.
"""

from __future__ import annotations

import importlib.resources
import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

HIGH_QUALITY_STDDEVS = 3.0
"""A generated sample is high quality within this many standard deviations of its nearest centre."""
MIN_SAMPLES_PER_COVERED_MODE = 1
"""A mode is covered when at least this many high-quality samples are nearest to it: VEEGAN's
published definition ("mixture components whose mean is nearest to at least one high quality
sample", scored on 2,500 samples), which PacGAN's reference code also applies."""
STRICT_SHARE = 0.2
"""A mode is strictly covered when it holds at least this fraction of a fair share (an equal
split over the modes) of the high-quality samples: one stray sample does not count."""


def _as_rows(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    return samples.reshape(-1, 1) if samples.ndim == 1 else samples


def wasserstein_1d(real: np.ndarray, generated: np.ndarray) -> float:
    """Exact W1 between two empirical 1-D distributions, ∫|F_r⁻¹(u) − F_g⁻¹(u)| du.

    Unlike moment errors it sees every difference in shape; sample sizes may differ."""
    real, generated = _as_rows(real), _as_rows(generated)
    if real.shape[1] != 1 or generated.shape[1] != 1:
        raise ValueError(f"wasserstein_1d needs one column, got {real.shape} and {generated.shape}")
    import scipy.stats

    return float(scipy.stats.wasserstein_distance(real[:, 0], generated[:, 0]))


def mean_error(real: np.ndarray, generated: np.ndarray) -> float:
    """|mean_g − mean_r|, averaged over features when there are several."""
    return float(np.mean(np.abs(_as_rows(generated).mean(axis=0) - _as_rows(real).mean(axis=0))))


def stddev_error(real: np.ndarray, generated: np.ndarray) -> float:
    """|std_g − std_r| (population std), averaged over features: a collapsed generator scores std_r."""
    return float(np.mean(np.abs(_as_rows(generated).std(axis=0) - _as_rows(real).std(axis=0))))


@dataclass(frozen=True)
class ModeStatistics:
    """Mode collapse on a Gaussian mixture: how many modes, how sharp, how evenly."""

    modes_covered: int
    modes: int
    high_quality_share: float
    reverse_kl: float
    modes_covered_strict: int = 0


def mode_statistics(generated: np.ndarray, centres: np.ndarray, stddev: float) -> ModeStatistics:
    """The mixture benchmarks' measures of VEEGAN (Srivastava et al., NeurIPS 2017) and
    PacGAN (Lin et al., NeurIPS 2018).

    Each sample goes to its nearest centre and is high quality when ‖x − c‖ ≤ 3·stddev
    (:data:`HIGH_QUALITY_STDDEVS`). A mode is covered with at least
    :data:`MIN_SAMPLES_PER_COVERED_MODE` high-quality samples on it, strictly covered with
    :data:`STRICT_SHARE` of a fair share of them (and at least one). ``reverse_kl`` is
    KL(p_g ‖ uniform) = Σ_k p_g(k) log(K p_g(k)) over the histogram p_g of high-quality samples,
    empty modes adding 0: 0 when balanced, log 2 on half the modes, at most log K. With no
    high-quality sample at all it is that worst case, log K, as if all mass sat on one mode.
    """
    generated = _as_rows(generated)
    centres = np.asarray(centres, dtype=np.float64)
    distances = np.linalg.norm(generated[:, None, :] - centres[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    high_quality = distances[np.arange(len(generated)), nearest] <= HIGH_QUALITY_STDDEVS * stddev
    counts = np.bincount(nearest[high_quality], minlength=len(centres))
    modes = len(centres)
    total = counts.sum()
    if total == 0:
        reverse_kl = math.log(modes)
    else:
        share = counts[counts > 0] / total
        reverse_kl = float(np.sum(share * np.log(modes * share)))
    return ModeStatistics(
        modes_covered=int(np.sum(counts >= MIN_SAMPLES_PER_COVERED_MODE)),
        modes=modes,
        high_quality_share=float(high_quality.mean()) if len(generated) else 0.0,
        reverse_kl=max(reverse_kl, 0.0),
        modes_covered_strict=int(np.sum((counts >= STRICT_SHARE * total / modes) & (counts > 0))),
    )


def knn_precision_recall(real: np.ndarray, generated: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019, "Improved Precision and
    Recall Metric for Assessing Generative Models"), in the samples' own space.

    Each set's manifold is the union of balls around its samples, each reaching the sample's
    ``k``-th nearest neighbour in its own set. Precision is the share of generated samples
    inside the real manifold (how many are realistic: sharp modes), recall the share of real
    samples inside the generated one (how much of the data is covered: every mode). Unlike
    a discriminator, it sees a sample 0.1 off a mode of width 0.02 as off the data. Samples
    holding NaN or inf give (0, 0).
    """
    real, generated = _as_rows(real), _as_rows(generated)
    if min(len(real), len(generated)) <= k or not np.all(np.isfinite(generated)):
        return 0.0, 0.0
    precision = _inside(generated, real, _kth_neighbour_distances(real, k))
    recall = _inside(real, generated, _kth_neighbour_distances(generated, k))
    return precision, recall


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)


def _kth_neighbour_distances(samples: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """Each sample's squared distance to its ``k``-th nearest other sample."""
    out = np.empty(len(samples))
    for first in range(0, len(samples), chunk):
        distances = _squared_distances(samples[first : first + chunk], samples)
        out[first : first + chunk] = np.partition(distances, k, axis=1)[:, k]  # index 0 is the sample itself
    return out


def _inside(points: np.ndarray, centres: np.ndarray, squared_radii: np.ndarray, chunk: int = 1024) -> float:
    """The share of ``points`` within some centre's ball."""
    inside = 0
    for first in range(0, len(points), chunk):
        inside += int(np.any(_squared_distances(points[first : first + chunk], centres) <= squared_radii, axis=1).sum())
    return inside / len(points)


class DigitsClassifier:
    """The shipped MLP 64 → 128 → 64 → 10 (ReLU, softmax) for 8 × 8 digits scaled to [-1, 1].

    Written by ``scripts/train_digits_classifier.py`` (97.8 % test accuracy); ``class_distribution``
    is the label frequency of scikit-learn's 1,797 digits. Get it with :func:`digits_classifier`."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.layers = [(weights[f"w{i}"].astype(np.float64), weights[f"b{i}"].astype(np.float64)) for i in (1, 2, 3)]
        self.class_distribution = weights["class_distribution"].astype(np.float64)

    def features(self, images: np.ndarray) -> np.ndarray:
        """The 64-unit penultimate ReLU layer: the space the Fréchet distance is measured in."""
        hidden = _as_rows(images)
        for weight, bias in self.layers[:-1]:
            hidden = np.maximum(hidden @ weight + bias, 0.0)
        return hidden

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Softmax class probabilities, one row per image."""
        weight, bias = self.layers[-1]
        logits = self.features(images) @ weight + bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


@lru_cache(maxsize=1)
def digits_classifier() -> DigitsClassifier:
    """The shipped classifier, read once per process."""
    resource = importlib.resources.files("deatf_gan").joinpath("data/digits_classifier.npz")
    with resource.open("rb") as handle, np.load(handle) as weights:
        return DigitsClassifier(dict(weights))


def frechet_distance_features(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2(ΣaΣb)^½) between Gaussians fitted to two feature sets
    (Heusel et al., NeurIPS 2017, the FID). Needs at least two rows on each side."""
    features_a, features_b = _as_rows(features_a), _as_rows(features_b)
    if len(features_a) < 2 or len(features_b) < 2:
        raise ValueError("the Fréchet distance needs at least two samples on each side")
    mean_a, mean_b = features_a.mean(axis=0), features_b.mean(axis=0)
    cov_a, cov_b = np.cov(features_a, rowvar=False), np.cov(features_b, rowvar=False)
    if not all(np.all(np.isfinite(value)) for value in (mean_a, mean_b, cov_a, cov_b)):
        return math.inf  # overflowing features: no Gaussian to compare (and sqrtm would crawl)
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b) - 2 * _trace_sqrt_product(cov_a, cov_b)
    return float(max(distance, 0.0)) if np.isfinite(distance) else math.inf  # round-off: tiny negatives


def _trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
    """Tr((ΣaΣb)^½), real part. Dead ReLU features make the product singular, which sqrtm
    handles (it warns); when it fails, both covariances get 1e-6 on the diagonal, as pytorch-fid does."""
    import scipy.linalg

    for offset in (0.0, 1e-6):
        shift = offset * np.eye(len(cov_a))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            try:
                root = scipy.linalg.sqrtm((cov_a + shift) @ (cov_b + shift))
            except (np.linalg.LinAlgError, ValueError):
                continue
        if np.all(np.isfinite(root)):
            return float(np.trace(np.real(root)))
    return math.nan


def frechet_distance(real: np.ndarray, generated: np.ndarray) -> float:
    """Fréchet distance between real and generated digits in the shipped classifier's features."""
    classifier = digits_classifier()
    return frechet_distance_features(classifier.features(real), classifier.features(generated))


def class_coverage_tvd(generated: np.ndarray, reference: np.ndarray | None = None) -> float:
    """½ Σ_c |p_gen(c) − p_real(c)|, p_gen the histogram of the classifier's predictions.

    ``reference`` is integer labels or a class distribution; by default the label frequency of
    the 1,797 digits. 0 for balanced classes, about 0.9 when every image is one digit."""
    classifier = digits_classifier()
    classes = len(classifier.class_distribution)
    if reference is None:
        expected = classifier.class_distribution
    else:
        reference = np.asarray(reference)
        labels = reference.dtype.kind in "iu"
        expected = np.bincount(reference, minlength=classes) if labels else reference.astype(np.float64)
        if expected.shape != (classes,):
            raise ValueError(
                f"reference: expected integer labels or {classes} class frequencies, got {reference.shape}"
            )
        expected = expected / expected.sum()
    predicted = classifier.probabilities(generated).argmax(axis=1)
    observed = np.bincount(predicted, minlength=classes) / max(len(predicted), 1)
    return float(0.5 * np.abs(observed - expected).sum())


def mean_confidence(generated: np.ndarray) -> float:
    """Mean of the largest softmax probability: near 1 when each image is clearly some digit."""
    return float(digits_classifier().probabilities(generated).max(axis=1).mean())


WORST = {
    "wasserstein_1d": math.inf,
    "mean_error": math.inf,
    "stddev_error": math.inf,
    "modes_covered": 0.0,
    "modes_covered_strict": 0.0,
    "high_quality_share": 0.0,
    "reverse_kl": math.inf,
    "frechet_distance": math.inf,
    "class_coverage_tvd": 1.0,
    "mean_confidence": 0.0,
}
"""What a generator whose samples hold NaN or inf (or no sample at all) scores: unbounded
distances are inf (the caller fails the individual), bounded measures take their worst value.
A measure that comes out NaN (finite samples too large for the classifier) takes it too."""


METRIC_NAMES = {
    "univariate": ("wasserstein_1d", "mean_error", "stddev_error"),
    "mixture": ("modes_covered", "modes_covered_strict", "high_quality_share", "reverse_kl"),
    "digits": ("frechet_distance", "class_coverage_tvd", "mean_confidence"),
    "samples": ("mean_error", "stddev_error"),
}
"""The keys :func:`quality_metrics` returns for each kind of data."""


def quality_metrics(
    kind: str, real: np.ndarray, generated: np.ndarray, centres: np.ndarray | None = None, stddev: float | None = None
) -> dict[str, float]:
    """The measures of :data:`METRIC_NAMES` for one kind of data, as plain floats.

    ``mixture`` needs ``centres`` and ``stddev``. ``samples`` (data with no known structure)
    gets mean_error and stddev_error averaged over features, the only measures that need none.
    Samples holding NaN or inf score :data:`WORST` instead of raising.
    """
    if kind not in METRIC_NAMES:
        raise ValueError(f"unknown metrics kind {kind!r}; valid kinds: {', '.join(METRIC_NAMES)}")
    if kind == "mixture" and (centres is None or stddev is None):
        raise ValueError("mixture metrics need centres and stddev")
    generated = _as_rows(generated)
    if len(generated) < 2 or not np.all(np.isfinite(generated)):
        return {name: WORST[name] for name in METRIC_NAMES[kind]}
    with np.errstate(all="ignore"):  # huge but finite samples may overflow the classifier
        if kind == "mixture":
            statistics = mode_statistics(generated, centres, stddev)
            values = {name: getattr(statistics, name) for name in METRIC_NAMES[kind]}
        else:
            values = {name: _MEASURES[name](real, generated) for name in METRIC_NAMES[kind]}
    return {name: WORST[name] if math.isnan(value) else float(value) for name, value in values.items()}


_MEASURES = {
    "wasserstein_1d": wasserstein_1d,
    "mean_error": mean_error,
    "stddev_error": stddev_error,
    "frechet_distance": frechet_distance,
    "class_coverage_tvd": lambda real, generated: class_coverage_tvd(generated),
    "mean_confidence": lambda real, generated: mean_confidence(generated),
}
