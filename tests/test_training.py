import math
from dataclasses import replace

import numpy as np
import tensorflow as tf

from deatf_gan.build import build_pair
from deatf_gan.genome import LayerGene, MLPDescriptor
from deatf_gan.losses import GAN_LOSSES
from deatf_gan.schedule import MinibatchStream
from deatf_gan.training import make_optimizer, train_pair
from tests.conftest import small_genome


def test_minibatches_come_from_shuffled_epochs_whatever_the_pieces_they_are_taken_in(rng):
    whole = MinibatchStream(10, 4, np.random.default_rng(5)).take(6)
    assert whole.shape == (6, 4)
    flat = whole.ravel()
    assert sorted(flat[:10]) == list(range(10))  # the first epoch covers every row once
    assert sorted(flat[10:20]) == list(range(10))
    assert not np.array_equal(flat[:10], flat[10:20])
    stream = MinibatchStream(10, 4, np.random.default_rng(5))
    pieces = [stream.take(n) for n in (1, 0, 3, 2)]  # drawn as needed: the same rows in the same order
    np.testing.assert_array_equal(np.concatenate(pieces), whole)


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


def _trained(genome, dataset, steps, seed=3):
    generator, discriminator = build_pair(genome, dataset, seed=0)
    outcome = train_pair(generator, discriminator, genome.hyperparameters, dataset, steps=steps, seed=seed)
    return outcome, generator.get_weights(), discriminator.get_weights()


def test_the_genomes_loss_is_the_one_trained_with(gaussian):
    """Each loss gene trains with its own pair of functions from ``deatf_gan.losses``."""
    non_saturating = _trained(small_genome(), gaussian, steps=3)[0]
    for name in ("least_squares", "hinge"):
        genome = small_genome(loss=name)
        by_gene = _trained(genome, gaussian, steps=3)
        generator, discriminator = build_pair(genome, gaussian, seed=0)
        loss = GAN_LOSSES[name]
        by_hand = train_pair(
            generator, discriminator, genome.hyperparameters, gaussian, steps=3, seed=3,
            generator_loss_fn=loss.generator, discriminator_loss_fn=loss.discriminator,
        )  # fmt: skip
        assert by_gene[0] == by_hand
        assert by_gene[0] != non_saturating


def test_the_r1_penalty_changes_the_discriminators_update_by_its_weight(gaussian):
    """γ > 0 adds ``γ/2 mean ‖∇ₓ l(x)‖²`` to L_D: after one step the discriminator differs from
    plain training, and the reported L_D of step one holds the penalty; γ = 0 is plain training.
    (SGD: Adam's first step is the gradient's sign, which a penalty may leave as it is.)"""
    plain = _trained(small_genome(optimizer="sgd"), gaussian, steps=1)
    zero = _trained(small_genome(optimizer="sgd", r1_penalty=0.0), gaussian, steps=1)
    assert all(np.array_equal(a, b) for a, b in zip(plain[2], zero[2]))
    penalised = _trained(small_genome(optimizer="sgd", r1_penalty=100.0), gaussian, steps=1)
    assert not all(np.allclose(a, b) for a, b in zip(plain[2], penalised[2]))
    assert penalised[0].discriminator_loss > plain[0].discriminator_loss


def test_generator_ema_leaves_the_generator_holding_the_average_of_its_trajectory(gaussian):
    """With decay β the generator ends as ``θ_ema``, the recurrence ``θ_ema ← β θ_ema + (1 - β) θ``
    over the trajectory ``θ_0, θ_1, θ_2`` that plain training (β = 0) follows:
    ``β² θ_0 + β (1 - β) θ_1 + (1 - β) θ_2``. Batch norm's moving statistics and the
    discriminator are the plain trajectory's, and the averaged weights train nothing."""
    beta = 0.75
    genome = small_genome()
    genome = replace(genome, generator=MLPDescriptor((LayerGene(16, "relu", "he_uniform", batch_norm=True),)))
    initial = build_pair(genome, gaussian, seed=0)
    plain = [(None, initial[0].get_weights(), initial[1].get_weights())]
    plain += [_trained(genome, gaussian, steps) for steps in (1, 2)]
    averaging = replace(genome, hyperparameters=replace(genome.hyperparameters, generator_ema=beta))
    outcome, generator_weights, discriminator_weights = _trained(averaging, gaussian, steps=2)
    assert outcome == plain[2][0]
    assert all(np.array_equal(a, b) for a, b in zip(discriminator_weights, plain[2][2]))
    trainable = {id(v) for v in initial[0].trainable_variables}
    for index, variable in enumerate(initial[0].weights):
        theta = [weights[1][index] for weights in plain]
        if id(variable) in trainable:
            expected = beta * (beta * theta[0] + (1 - beta) * theta[1]) + (1 - beta) * theta[2]
        else:  # moving mean and variance: the trained generator's
            expected = theta[2]
        np.testing.assert_allclose(generator_weights[index], expected, rtol=1e-5, atol=1e-7)
    assert not all(np.array_equal(a, b) for a, b in zip(generator_weights, plain[2][1]))


def test_training_in_segments_gives_the_same_bits_as_in_one_call(gaussian, monkeypatch):
    """Minibatch rows are drawn a segment at a time (memory bounded whatever the steps); the
    segments change nothing, the generator average (carried across calls) included."""
    import deatf_gan.training

    genome = small_genome(generator_ema=0.9, discriminator_steps=2)
    trained = []
    for segment in (1000, 3):
        monkeypatch.setattr(deatf_gan.training, "SEGMENT_STEPS", segment)
        generator, discriminator = build_pair(genome, gaussian, seed=4)
        outcome = train_pair(generator, discriminator, genome.hyperparameters, gaussian, steps=10, seed=4)
        trained.append((outcome, generator.get_weights() + discriminator.get_weights()))
    (whole, whole_weights), (pieces, piece_weights) = trained
    assert (whole.generator_loss, whole.discriminator_loss) == (pieces.generator_loss, pieces.discriminator_loss)
    assert all(np.array_equal(a, b) for a, b in zip(whole_weights, piece_weights))
