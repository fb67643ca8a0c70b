import math

import numpy as np
import tensorflow as tf

from deatf_gan.build import build_pair
from deatf_gan.training import make_optimizer, minibatch_indices, train_pair
from tests.conftest import small_genome


def test_minibatches_come_from_shuffled_epochs(rng):
    batches = minibatch_indices(10, 4, 5, rng)
    assert batches.shape == (5, 4)
    flat = batches.ravel()
    assert sorted(flat[:10]) == list(range(10))  # the first epoch covers every row once
    assert sorted(flat[10:20]) == list(range(10))
    assert not np.array_equal(flat[:10], flat[10:20])


def test_optimizers_use_the_given_learning_rate():
    for name, cls in (("adam", "Adam"), ("rmsprop", "RMSprop"), ("sgd", "SGD")):
        optimizer = make_optimizer(name, 0.0123)
        assert type(optimizer).__name__ == cls
        assert math.isclose(float(optimizer.learning_rate), 0.0123, rel_tol=1e-6)


def _changed(before, after):
    return any(not np.array_equal(x, y) for x, y in zip(before, after))


def test_learning_rates_of_the_genome_are_used(gaussian):
    """A zero learning rate freezes exactly that network: evolved rates are not ignored."""
    for g_rate, d_rate in ((0.0, 1e-3), (1e-3, 0.0)):
        genome = small_genome(generator_learning_rate=g_rate, discriminator_learning_rate=d_rate)
        generator, discriminator = build_pair(genome, gaussian, seed=1)
        g0, d0 = generator.get_weights(), discriminator.get_weights()
        train_pair(generator, discriminator, genome.hyperparameters, gaussian, steps=5, seed=1)
        assert _changed(g0, generator.get_weights()) == (g_rate > 0)
        assert _changed(d0, discriminator.get_weights()) == (d_rate > 0)


def test_training_is_reproducible_and_depends_on_the_seed(gaussian):
    genome = small_genome(discriminator_steps=2)

    def final_losses(seed):
        generator, discriminator = build_pair(genome, gaussian, seed=0)
        return train_pair(generator, discriminator, genome.hyperparameters, gaussian, steps=20, seed=seed)

    assert final_losses(5) == final_losses(5)
    assert final_losses(5) != final_losses(6)


def test_custom_losses_are_used(gaussian):
    genome = small_genome()
    generator, discriminator = build_pair(genome, gaussian, seed=0)
    outcome = train_pair(
        generator,
        discriminator,
        genome.hyperparameters,
        gaussian,
        steps=3,
        seed=0,
        generator_loss_fn=lambda fake: tf.constant(42.0) + 0 * tf.reduce_mean(fake),
    )
    assert outcome.generator_loss == 42.0
