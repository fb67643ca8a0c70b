"""The GAN losses, once: small pure functions of discriminator logits.

Every loss works on the discriminator's raw output ``l`` (its logits), never on
probabilities. The non-saturating pair uses TensorFlow's numerically stable sigmoid
cross-entropy: with ``D = σ(l)``, ``-log D = softplus(-l)`` and ``-log(1 - D) = softplus(l)``
(Goodfellow et al. 2014, "Generative Adversarial Nets", §3, with the non-saturating
generator objective). The least-squares and hinge pairs read ``l`` as an unbounded score.
:data:`GAN_LOSSES` names each (generator, discriminator) pair as the genome's ``loss`` gene does.

Each takes a ``mean`` over samples: the plain mean for one network (the default), or a
per-network mean for several trained side by side (``masked_mean`` for the batched
evaluator's padded batches, ``per_row_mean`` for the judges), so every training path
computes the same formula with the same ops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

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


def r1_penalty(real_gradients, mean: Mean = tf.reduce_mean):
    """R1 gradient penalty ``½ mean ‖∇ₓ l(x)‖²`` over real samples ``x``, from the gradients
    ``[..., samples, dim]`` of the logits with respect to them (Mescheder et al. 2018, "Which
    Training Methods for GANs do actually Converge?", eq. 9; the genome's ``r1_penalty`` is
    their γ): it pushes the discriminator's gradient on the data towards zero, which makes
    training converge locally."""
    return 0.5 * mean(tf.reduce_sum(tf.square(real_gradients), axis=-1))


def least_squares_generator_loss(fake_logits, mean: Mean = tf.reduce_mean):
    """Least-squares generator loss ``L_G = ½ mean (l_fake - 1)²`` (Mao et al. 2017, "Least
    Squares Generative Adversarial Networks", their ``a-b-c`` objective with ``a = 0, b = c = 1``): fakes far
    from the real target keep a gradient that the sigmoid's saturation would take away."""
    return 0.5 * mean(tf.square(fake_logits - 1.0))


def least_squares_discriminator_loss(fake_logits, real_logits, mean: Mean = tf.reduce_mean):
    """Least-squares discriminator loss ``L_D = ½ mean (l_real - 1)² + ½ mean l_fake²``
    (Mao et al. 2017, "Least Squares Generative Adversarial Networks", with ``a = 0, b = 1``)."""
    return 0.5 * mean(tf.square(real_logits - 1.0)) + 0.5 * mean(tf.square(fake_logits))


def hinge_generator_loss(fake_logits, mean: Mean = tf.reduce_mean):
    """Hinge generator loss ``L_G = -mean l_fake`` (Lim & Ye 2017, "Geometric GAN";
    Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks")."""
    return -mean(fake_logits)


def hinge_discriminator_loss(fake_logits, real_logits, mean: Mean = tf.reduce_mean):
    """Hinge discriminator loss ``L_D = mean relu(1 - l_real) + mean relu(1 + l_fake)`` (Lim & Ye
    2017, "Geometric GAN"; Miyato et al. 2018): samples beyond the margin cost nothing."""
    return mean(tf.nn.relu(1.0 - real_logits)) + mean(tf.nn.relu(1.0 + fake_logits))


class GANLoss(NamedTuple):
    """One loss type: ``generator(fake_logits, mean)`` and ``discriminator(fake_logits, real_logits, mean)``."""

    generator: Callable
    discriminator: Callable


# by the names of ``deatf_gan.genome.LOSSES`` (the genome holds names, never functions)
GAN_LOSSES: dict[str, GANLoss] = {
    "non_saturating": GANLoss(generator_loss, discriminator_loss),
    "least_squares": GANLoss(least_squares_generator_loss, least_squares_discriminator_loss),
    "hinge": GANLoss(hinge_generator_loss, hinge_discriminator_loss),
}


def gan_loss(name: str) -> GANLoss:
    """The loss pair called ``name``; a miss lists the valid names."""
    if name not in GAN_LOSSES:
        raise KeyError(f"unknown GAN loss {name!r} (valid: {', '.join(GAN_LOSSES)})")
    return GAN_LOSSES[name]


def masked_mean(weights, count) -> Mean:
    """Each network's mean over its own samples, ``Σ_b w_kb v_kb / n_k``, of ``[K, B]`` values
    whose rows are padded past each network's batch (``w`` is 1 on real rows, ``n = Σ_b w``)."""
    return lambda values: tf.reduce_sum(values * weights, axis=1) / count


def per_row_mean(values):
    """Each network's mean of ``[K, n, ...]`` values over everything but the first axis."""
    return tf.reduce_mean(values, axis=list(range(1, len(values.shape))))
