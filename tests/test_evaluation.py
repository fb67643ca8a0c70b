import math
from dataclasses import replace

import numpy as np
import pytest

from deatf_gan.errors import ConfigError, IndividualFailed
from deatf_gan.evaluation import EvalContext, EvalResult, check_result, eval_gan, evaluate_safely
from deatf_gan.fitness import FITNESSES
from tests.conftest import small_genome


@pytest.fixture(scope="module")
def context():
    from deatf_gan.datasets import load_dataset

    return EvalContext(
        load_dataset("gaussian_1d"), steps=300, seed=4, latent_stddev=2.0, eval_samples=1000, fitness="generator_loss"
    )


def test_good_pair_beats_a_broken_one(context):
    """Generator learning rate 0: the discriminator learns to reject its samples."""
    good = eval_gan(small_genome(), context)
    broken = eval_gan(small_genome(generator_learning_rate=0.0), context)
    assert not good.failed and not broken.failed
    assert good.fitness[0] < broken.fitness[0]
    assert broken.discriminator_accuracy_fake > 0.5
    assert good.generator_parameters >= (2 * 16 + 16) + (16 + 1)  # two Dense layers, plus normalisation stats
    assert good.weights is not None and len(good.weights) == 2


def test_result_reports_diagnostics(context):
    result = eval_gan(small_genome(), context)
    for name in ("generator_loss", "discriminator_loss", "discriminator_accuracy_real", "discriminator_accuracy_fake"):
        assert math.isfinite(getattr(result, name))
    assert result.fitness[0] == pytest.approx(result.generator_loss)
    assert 0 <= result.discriminator_accuracy_real <= 1
    assert result.seconds > 0
    assert result.metrics()["failure"] is None


def test_same_seed_same_fitness(context):
    assert eval_gan(small_genome(), context).fitness == eval_gan(small_genome(), context).fitness


@pytest.mark.parametrize(
    "value, reason",
    [
        (float("nan"), "non-finite value in fitness[0]"),
        (float("inf"), "non-finite value in fitness[0]"),
        ((1.0, 2.0), "2 fitness values"),
        ("0.5", "returned str"),
        (None, "returned NoneType"),
        (EvalResult(fitness=(1.0,), discriminator_loss=float("nan")), "non-finite value in discriminator_loss"),
    ],
)
def test_bad_return_values_fail_the_individual(value, reason):
    result = check_result(value)
    assert result.failed and reason in result.failure
    assert result.fitness == (math.inf,)


def test_good_return_values_are_accepted():
    assert check_result(0.25).fitness == (0.25,)
    assert check_result(np.float32(0.5)).fitness == (0.5,)
    assert check_result((0.1, 0.2), objectives=2).fitness == (0.1, 0.2)


def test_exception_in_evaluation_fails_the_individual_with_traceback(context):
    def explodes(genome, ctx):
        raise ZeroDivisionError("boom")

    result = evaluate_safely(explodes, small_genome(), context)
    assert result.failed and "ZeroDivisionError: boom" in result.failure
    assert "explodes" in result.traceback


def test_individual_failed_carries_its_reason(context):
    def refuses(genome, ctx):
        raise IndividualFailed("too large")

    assert evaluate_safely(refuses, small_genome(), context).failure == "too large"


def test_config_error_in_evaluation_aborts(context):
    from dataclasses import replace

    with pytest.raises(ConfigError, match="unknown fitness 'nope'"):
        evaluate_safely(eval_gan, small_genome(), replace(context, fitness="nope"))


def test_diverging_training_fails_instead_of_crashing(context):
    """A learning rate of 10 with SGD blows the weights up to NaN: a failed individual."""
    genome = small_genome(generator_learning_rate=10.0, discriminator_learning_rate=10.0, optimizer="sgd")
    result = evaluate_safely(eval_gan, genome, context)
    assert result.failed and "non-finite" in result.failure


def test_fitness_registry_accepts_plain_callables(context):
    from dataclasses import replace

    def mean_of_samples(pair):
        return float(np.mean(pair.generator(pair.latent)))

    result = eval_gan(small_genome(), replace(context, fitness=mean_of_samples))
    assert 0 < result.fitness[0] < 20
    assert "generator_loss" in FITNESSES


def test_judged_fitness_prefers_the_trained_generator(context):
    from dataclasses import replace

    judged = replace(context, fitness="judged_generator_loss")
    good = eval_gan(small_genome(), judged)
    broken = eval_gan(small_genome(generator_learning_rate=0.0), judged)
    assert good.fitness[0] < broken.fitness[0]
    assert good.fitness[0] != pytest.approx(good.generator_loss)  # judged, not the own discriminator


def test_several_fitness_measures_and_quality_diagnostics(context):
    """A tuple of measures gives one objective each; quality metrics always come along."""
    result = eval_gan(small_genome(), replace(context, fitness=("generator_loss", "wasserstein_1d")))
    assert not result.failed and len(result.fitness) == 2
    assert result.fitness[0] == pytest.approx(result.generator_loss)
    assert result.fitness[1] == result.extra["wasserstein_1d"] > 0
    assert set(result.extra) >= {"wasserstein_1d", "mean_error", "stddev_error"}


def test_quality_fitness_of_another_dataset_kind_is_a_config_error(context):
    from deatf_gan.config import config_from_dict
    from deatf_gan.evolution import evolve

    with pytest.raises(ConfigError, match="'frechet_distance' needs a digits dataset; 'gaussian_1d' is univariate"):
        evolve(config_from_dict({"evaluation": {"fitness": "frechet_distance"}, "executor": {"kind": "serial"}}))
    with pytest.raises(ConfigError, match="modes_missed"):
        evaluate_safely(eval_gan, small_genome(), replace(context, fitness="modes_missed", steps=5))


def test_the_precision_recall_fitness_is_two_minus_knn_precision_and_recall():
    from deatf_gan.datasets import ring8
    from deatf_gan.fitness import TrainedPair
    from deatf_gan.metrics import knn_precision_recall

    dataset = ring8(samples=1000)
    rng = np.random.default_rng(0)
    real = dataset.samples[:500]
    sharp_half = dataset.centres[::2][rng.integers(4, size=500)] + 0.02 * rng.standard_normal((500, 2))
    pair = TrainedPair(small_genome(), lambda: None, dataset, None, real).knowing(generated=sharp_half)
    precision, recall = knn_precision_recall(real, sharp_half)
    assert FITNESSES.get("precision_recall")(pair) == pytest.approx(2.0 - precision - recall)
    assert 0.4 < FITNESSES.get("precision_recall")(pair) < 0.7  # sharp samples on half the modes
