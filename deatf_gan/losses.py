"""The GAN losses, once: small pure functions of discriminator logits.

Every loss works on logits with TensorFlow's numerically stable sigmoid cross-entropy,
never on probabilities: with ``D = σ(l)``, ``-log D = softplus(-l)`` and
``-log(1 - D) = softplus(l)`` (Goodfellow et al. 2014, "Generative Adversarial Nets",
§3, with the non-saturating generator objective).

Each takes a ``mean`` over samples: the plain mean for one network (the default), or a
per-network mean for several trained side by side (``masked_mean`` for the batched
evaluator's padded batches, ``per_row_mean`` for the judges), so every training path
computes the same formula with the same ops.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

Mean = Callable[[tf.Tensor], tf.Tensor]


def negative_log_real(logits):
    """``-log σ(l) = softplus(-l)`` per sample: the loss of calling a sample real."""
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(logits), logits=logits)


def negative_log_fake(logits):
    """``-log(1 - σ(l)) = softplus(l)`` per sample: the loss of calling a sample fake."""
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(logits), logits=logits)


def generator_loss(fake_logits, mean: Mean = tf.reduce_mean):
    """Non-saturating generator loss ``L_G = -mean log D(G(z)) = mean softplus(-l_fake)``."""
    return mean(negative_log_real(fake_logits))


def discriminator_loss(fake_logits, real_logits, mean: Mean = tf.reduce_mean):
    """Discriminator loss ``L_D = -mean log D(x) - mean log(1 - D(G(z)))``
    ``= mean softplus(-l_real) + mean softplus(l_fake)``."""
    return mean(negative_log_real(real_logits)) + mean(negative_log_fake(fake_logits))


def masked_mean(weights, count) -> Mean:
    """Each network's mean over its own samples, ``Σ_b w_kb v_kb / n_k``, of ``[K, B]`` values
    whose rows are padded past each network's batch (``w`` is 1 on real rows, ``n = Σ_b w``)."""
    return lambda values: tf.reduce_sum(values * weights, axis=1) / count


def per_row_mean(values):
    """Each network's mean of ``[K, n, ...]`` values over everything but the first axis."""
    return tf.reduce_mean(values, axis=list(range(1, len(values.shape))))
