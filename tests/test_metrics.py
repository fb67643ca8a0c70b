"""Each quality measure on known cases: two real draws agree, a collapsed generator does not."""

import math

import numpy as np
import pytest

from deatf_gan import metrics
from deatf_gan.datasets import grid_centres, ring_centres


@pytest.fixture(scope="module")
def digits_split():
    """The classifier script's split: stratified, 25 % test, random_state 0."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.data / 16.0 * 2.0 - 1.0
    return train_test_split(images, digits.target, test_size=0.25, random_state=0, stratify=digits.target)


def mixture(centres, stddev, samples, rng):
    picks = rng.integers(len(centres), size=samples)
    return centres[picks] + stddev * rng.standard_normal((samples, 2))


# --- one dimension ---------------------------------------------------------------------------


def test_wasserstein_1d_between_shifted_normals_is_the_shift(rng):
    real, generated = rng.normal(0, 1, (5000, 1)), rng.normal(3, 1, (4000, 1))
    assert metrics.wasserstein_1d(real, generated) == pytest.approx(3.0, abs=0.1)
    assert metrics.wasserstein_1d(real, rng.normal(0, 1, (3000, 1))) < 0.1


def test_wasserstein_1d_exact_on_small_samples():
    # Quantile functions of {0, 1} and {0, 1, 2, 3}: |0-0|/4 + |0-1|/4 + |1-2|/4 + |1-3|/4 = 1.
    assert metrics.wasserstein_1d(np.array([[0.0], [1.0]]), np.array([[0.0], [1.0], [2.0], [3.0]])) == pytest.approx(
        1.0
    )
    with pytest.raises(ValueError):
        metrics.wasserstein_1d(np.zeros((4, 2)), np.zeros((4, 1)))


def test_moment_errors(rng):
    real = rng.normal(10, 1, (20000, 1))
    assert metrics.mean_error(real, rng.normal(10, 1, (20000, 1))) < 0.05
    assert metrics.mean_error(real, real + 2.5) == pytest.approx(2.5)
    assert metrics.stddev_error(real, 3 * (real - real.mean())) == pytest.approx(2 * real.std())
    assert metrics.stddev_error(real, np.full((100, 1), 10.0)) == pytest.approx(real.std())  # collapsed
    # Several features: the absolute errors are averaged.
    assert metrics.mean_error(np.zeros((4, 2)), np.array([[1.0, -3.0]] * 4)) == pytest.approx(2.0)


# --- Gaussian mixtures -----------------------------------------------------------------------


def test_centres():
    ring = ring_centres()
    assert ring.shape == (8, 2) and ring.dtype == np.float32
    np.testing.assert_allclose(ring[0], [2.0, 0.0])
    np.testing.assert_allclose(ring[2], [0.0, 2.0], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0, rtol=1e-6)
    grid = grid_centres()
    assert grid.shape == (25, 2) and grid.dtype == np.float32
    assert sorted(set(grid[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


@pytest.mark.parametrize("centres, stddev", [(ring_centres(), 0.02), (grid_centres(), 0.05)])
def test_real_mixture_covers_every_mode(centres, stddev, rng):
    statistics = metrics.mode_statistics(mixture(centres, stddev, 2500, rng), centres, stddev)
    assert statistics.modes_covered == statistics.modes == len(centres)
    assert statistics.high_quality_share > 0.98  # a 2-D Gaussian leaves exp(-9/2) ≈ 1.1 % beyond 3σ
    assert statistics.reverse_kl < 0.02


def test_half_the_ring_gives_log_two(rng):
    centres = ring_centres()
    statistics = metrics.mode_statistics(mixture(centres[::2], 0.02, 2000, rng), centres, 0.02)
    assert statistics.modes_covered == 4
    assert statistics.reverse_kl == pytest.approx(math.log(2), abs=0.01)


def test_collapsed_and_off_mode_generators(rng):
    centres = ring_centres()
    collapsed = metrics.mode_statistics(np.tile(centres[3], (500, 1)), centres, 0.02)
    assert (collapsed.modes_covered, collapsed.high_quality_share) == (1, 1.0)
    assert collapsed.reverse_kl == pytest.approx(math.log(8))
    off_mode = metrics.mode_statistics(rng.normal(0, 0.1, (500, 2)), centres, 0.02)  # the ring's empty centre
    assert (off_mode.modes_covered, off_mode.high_quality_share) == (0, 0.0)
    assert off_mode.reverse_kl == pytest.approx(math.log(8))  # the documented finite worst case


def test_one_high_quality_sample_covers_a_mode():
    centres = ring_centres()
    samples = np.array([centres[0] + [0.059, 0.0], centres[1] + [0.061, 0.0]])  # 2.95σ and 3.05σ
    statistics = metrics.mode_statistics(samples, centres, 0.02)
    assert (statistics.modes_covered, statistics.high_quality_share) == (1, 0.5)


def test_knn_precision_sees_spread_and_recall_sees_missing_modes(rng):
    centres = ring_centres()
    real = mixture(centres, 0.02, 2500, rng)
    assert metrics.knn_precision_recall(real, mixture(centres, 0.02, 2500, rng)) > (0.9, 0.9)
    spread = metrics.knn_precision_recall(real, mixture(centres, 0.1, 2500, rng))
    assert spread[0] < 0.4 and spread[1] > 0.9  # off the modes, yet around every one
    half = metrics.knn_precision_recall(real, mixture(centres[::2], 0.02, 2500, rng))
    assert half[0] > 0.9 and 0.4 < half[1] < 0.6  # sharp, on half the modes
    assert metrics.knn_precision_recall(real, np.full((100, 2), np.nan)) == (0.0, 0.0)


def test_strict_coverage_ignores_modes_with_a_few_stray_samples(rng):
    centres = ring_centres()
    # 1,000 samples on each of four modes, 10 on each of the other four: a fair share is
    # 505, a fifth of it 101
    samples = np.concatenate([np.tile(c, (1000 if i % 2 == 0 else 10, 1)) for i, c in enumerate(centres)])
    statistics = metrics.mode_statistics(samples, centres, 0.02)
    assert (statistics.modes_covered, statistics.modes_covered_strict) == (8, 4)
    real = metrics.mode_statistics(mixture(centres, 0.02, 2500, rng), centres, 0.02)
    assert real.modes_covered_strict == 8


# --- digits ----------------------------------------------------------------------------------


def test_shipped_classifier_loads_with_the_expected_shapes():
    classifier = metrics.digits_classifier()
    assert classifier is metrics.digits_classifier()  # read once per process
    assert [(w.shape, b.shape) for w, b in classifier.layers] == [
        ((64, 128), (128,)),
        ((128, 64), (64,)),
        ((64, 10), (10,)),
    ]
    assert classifier.class_distribution.sum() == pytest.approx(1.0, abs=1e-6)
    images = np.zeros((3, 64))
    assert classifier.features(images).shape == (3, 64)
    np.testing.assert_allclose(classifier.probabilities(images).sum(axis=1), 1.0)


def test_shipped_classifier_accuracy(digits_split):
    _, x_test, _, y_test = digits_split
    predictions = metrics.digits_classifier().probabilities(x_test).argmax(axis=1)
    assert np.mean(predictions == y_test) >= 0.9


def test_frechet_distance_real_versus_collapsed(digits_split):
    x_train, x_test, _, y_test = digits_split
    real = metrics.frechet_distance(x_train, x_test)
    one_digit = metrics.frechet_distance(x_train, x_test[y_test == 0])
    one_image = metrics.frechet_distance(x_train, np.repeat(x_test[:1], 200, axis=0))
    assert 0.0 <= real < 5.0  # measured: 1.40
    assert one_digit > 50 * real and one_image > 50 * real  # measured: 293 and 502


def test_frechet_distance_features_exact():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 3))
    features -= features.mean(axis=0)
    assert metrics.frechet_distance_features(features, features) == pytest.approx(0.0, abs=1e-8)
    # Same covariance, means apart by (1, 2, 2): the distance is ‖Δμ‖² = 9.
    assert metrics.frechet_distance_features(features, features + [1.0, 2.0, 2.0]) == pytest.approx(9.0)
    # Equal means, covariances Σ and 4Σ: Tr(Σ + 4Σ − 2·(4Σ²)^½) = Tr(Σ).
    scaled = metrics.frechet_distance_features(features, 2 * features)
    assert scaled == pytest.approx(np.trace(np.cov(features, rowvar=False)), rel=1e-6)
    with pytest.raises(ValueError):
        metrics.frechet_distance_features(features[:1], features)


def test_class_coverage_and_confidence(digits_split):
    _, x_test, _, y_test = digits_split
    assert metrics.class_coverage_tvd(x_test) < 0.05
    assert metrics.class_coverage_tvd(x_test, y_test) < 0.05
    assert metrics.class_coverage_tvd(x_test, np.full(10, 0.1)) < 0.05
    assert metrics.class_coverage_tvd(x_test[y_test == 0]) == pytest.approx(0.9, abs=0.02)
    assert metrics.mean_confidence(x_test) > 0.9
    with pytest.raises(ValueError, match="class frequencies"):
        metrics.class_coverage_tvd(x_test, np.full(9, 1 / 9))


# --- the dispatcher --------------------------------------------------------------------------


def test_quality_metrics_keys_and_plain_floats(rng, digits_split):
    x_train, x_test, _, _ = digits_split
    centres = ring_centres()
    cases = {
        "univariate": (rng.normal(size=(500, 1)), rng.normal(size=(500, 1)), {}),
        "mixture": (None, mixture(centres, 0.02, 500, rng), {"centres": centres, "stddev": 0.02}),
        "digits": (x_train, x_test, {}),
        "samples": (rng.normal(size=(500, 3)), rng.normal(size=(500, 3)), {}),
    }
    for kind, (real, generated, extra) in cases.items():
        values = metrics.quality_metrics(kind, real, generated, **extra)
        assert tuple(values) == metrics.METRIC_NAMES[kind]
        assert all(type(value) is float and math.isfinite(value) for value in values.values())
    assert (
        metrics.quality_metrics("mixture", None, mixture(centres, 0.02, 500, rng), centres, 0.02)["modes_covered"]
        == 8.0
    )


@pytest.mark.parametrize("kind", ["univariate", "mixture", "digits", "samples"])
def test_quality_metrics_non_finite_samples_score_worst(kind):
    dim = {"univariate": 1, "mixture": 2, "digits": 64, "samples": 3}[kind]
    real = np.zeros((10, dim))
    generated = np.zeros((10, dim))
    generated[3, 0] = np.nan
    generated[5, -1] = np.inf
    values = metrics.quality_metrics(kind, real, generated, ring_centres(), 0.02)
    assert values == {name: metrics.WORST[name] for name in metrics.METRIC_NAMES[kind]}


def test_quality_metrics_huge_digits_do_not_crash(digits_split):
    values = metrics.quality_metrics("digits", digits_split[0], np.full((10, 64), 1e200))
    assert values["frechet_distance"] == math.inf


def test_quality_metrics_rejects_bad_requests():
    with pytest.raises(ValueError, match="valid kinds"):
        metrics.quality_metrics("images", np.zeros((4, 1)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="centres"):
        metrics.quality_metrics("mixture", None, np.zeros((4, 2)))


def test_metrics_module_does_not_import_tensorflow():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(metrics))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"tensorflow", "keras"}
