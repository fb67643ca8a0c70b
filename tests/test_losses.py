"""The GAN losses (``deatf_gan.losses``): hand-computed values, stability, per-network means."""

import math

import numpy as np
import tensorflow as tf

from deatf_gan.losses import discriminator_loss, generator_loss, masked_mean, per_row_mean


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
