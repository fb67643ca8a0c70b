"""The GAN losses (``deatf_gan.losses``): hand-computed values, stability, per-network means."""

import math

import numpy as np
import pytest
import tensorflow as tf

from deatf_gan.genome import LOSSES
from deatf_gan.losses import (
    GAN_LOSSES,
    discriminator_loss,
    gan_loss,
    generator_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
    least_squares_discriminator_loss,
    least_squares_generator_loss,
    masked_mean,
    per_row_mean,
    r1_penalty,
)

FAKE = np.array([[-1.5], [0.5], [2.0]], np.float32)
REAL = np.array([[3.0], [0.25]], np.float32)


def test_generator_loss_matches_hand_computed_value():
    logits = np.array([[-2.0], [0.0], [3.0]], np.float32)
    expected = -np.mean(np.log(1 / (1 + np.exp(-logits))))
    assert math.isclose(float(generator_loss(tf.constant(logits))), expected, rel_tol=1e-6)
    assert math.isclose(float(generator_loss(tf.zeros((4, 1)))), math.log(2), rel_tol=1e-6)


def test_discriminator_loss_matches_hand_computed_value():
    fake = np.array([[-1.0], [0.5]], np.float32)
    real = np.array([[2.0], [-0.5], [1.0]], np.float32)
    d_fake = 1 / (1 + np.exp(-fake))
    d_real = 1 / (1 + np.exp(-real))
    expected = -np.mean(np.log(d_real)) - np.mean(np.log(1 - d_fake))
    assert math.isclose(float(discriminator_loss(tf.constant(fake), tf.constant(real))), expected, rel_tol=1e-6)


def test_losses_are_stable_for_extreme_logits():
    huge = tf.constant([[1000.0], [-1000.0]])
    assert math.isclose(float(generator_loss(huge)), 500.0, rel_tol=1e-6)
    assert math.isclose(float(discriminator_loss(huge, huge)), 1000.0, rel_tol=1e-6)


def test_per_network_means_give_each_network_its_own_loss():
    """K networks side by side: each one's loss is the loss it would have alone, over its own
    (unpadded) samples only."""
    logits = np.array([[-2.0, 0.0, 3.0, 9.0], [1.0, 1.0, 5.0, -7.0]], np.float32)
    weights = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], np.float32)  # row 0 has 3 samples, row 1 has 2
    mean = masked_mean(tf.constant(weights), tf.constant(weights.sum(axis=1)))
    batched = generator_loss(tf.constant(logits), mean=mean).numpy()
    alone = [float(generator_loss(tf.constant(logits[0, :3]))), float(generator_loss(tf.constant(logits[1, :2])))]
    np.testing.assert_allclose(batched, alone, rtol=1e-6)
    rows = discriminator_loss(tf.constant(logits[:, :, None]), tf.constant(-logits[:, :, None]), mean=per_row_mean)
    expected = [float(discriminator_loss(tf.constant(row), tf.constant(-row))) for row in logits]
    np.testing.assert_allclose(rows.numpy(), expected, rtol=1e-6)


def test_least_squares_losses_match_hand_computed_values():
    # L_G = ½ mean (l_fake - 1)² = ½ (6.25 + 0.25 + 1) / 3
    assert math.isclose(float(least_squares_generator_loss(tf.constant(FAKE))), 0.5 * 7.5 / 3, rel_tol=1e-6)
    # L_D = ½ mean (l_real - 1)² + ½ mean l_fake² = ½ (4 + 0.5625) / 2 + ½ (2.25 + 0.25 + 4) / 3
    expected = 0.5 * 4.5625 / 2 + 0.5 * 6.5 / 3
    actual = float(least_squares_discriminator_loss(tf.constant(FAKE), tf.constant(REAL)))
    assert math.isclose(actual, expected, rel_tol=1e-6)


def test_hinge_losses_match_hand_computed_values():
    # L_G = -mean l_fake = -(−1.5 + 0.5 + 2) / 3
    assert math.isclose(float(hinge_generator_loss(tf.constant(FAKE))), -1.0 / 3, rel_tol=1e-6)
    # L_D = mean relu(1 - l_real) + mean relu(1 + l_fake) = (0 + 0.75) / 2 + (0 + 1.5 + 3) / 3
    expected = 0.75 / 2 + 4.5 / 3
    assert math.isclose(float(hinge_discriminator_loss(tf.constant(FAKE), tf.constant(REAL))), expected, rel_tol=1e-6)


def test_every_genome_loss_has_its_pair_of_functions():
    assert tuple(GAN_LOSSES) == LOSSES
    assert gan_loss("non_saturating") == (generator_loss, discriminator_loss)
    with pytest.raises(KeyError, match="valid: non_saturating, least_squares, hinge"):
        gan_loss("wasserstein")


@pytest.mark.parametrize("name", LOSSES)
def test_every_loss_takes_per_network_means(name):
    """Two networks side by side, padded: each one's loss is the loss it would have alone."""
    loss = GAN_LOSSES[name]
    fake = np.array([[-2.0, 0.5, 3.0, 9.0], [1.0, -1.0, 5.0, -7.0]], np.float32)
    real = np.array([[0.5, 2.0, -1.0, 4.0], [1.5, 0.0, -3.0, 8.0]], np.float32)
    weights = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], np.float32)
    mean = masked_mean(tf.constant(weights), tf.constant(weights.sum(axis=1)))
    sizes = (3, 2)
    generator = loss.generator(tf.constant(fake), mean=mean).numpy()
    discriminator = loss.discriminator(tf.constant(fake), tf.constant(real), mean=mean).numpy()
    for row, size in enumerate(sizes):
        own_fake, own_real = tf.constant(fake[row, :size]), tf.constant(real[row, :size])
        assert generator[row] == pytest.approx(float(loss.generator(own_fake)), rel=1e-6)
        assert discriminator[row] == pytest.approx(float(loss.discriminator(own_fake, own_real)), rel=1e-6)


def test_r1_penalty_is_half_the_mean_squared_gradient_norm():
    gradients = tf.constant([[3.0, 4.0], [0.0, 0.0]])
    assert float(r1_penalty(gradients)) == pytest.approx(0.5 * (25.0 + 0.0) / 2)
