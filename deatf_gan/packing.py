"""PacGAN packing: the discriminator judges ``m`` samples at once.

Lin et al. 2018 ("PacGAN: The power of two samples in generative adversarial networks",
§3) give the discriminator the concatenation of ``m`` samples drawn independently from one
distribution, all real or all fake. A generator that drops modes makes packs whose joint
distribution is much further from the data's than any single sample's, so the
discriminator sees mode collapse and the generator is pushed to cover the modes.

A batch of ``b`` samples gives ``b`` packs, pack ``i = [x_i, x_(i+1 mod b), …, x_(i+m-1 mod b)]``
(cyclic packing). Each pack holds ``m`` distinct samples of the batch, so its expected loss
is PacGAN's; the packs of one batch share samples, which only correlates the minibatch
estimate, and the discriminator's batch keeps the size and cost it has unpacked (PacGAN's
packs are disjoint and cost ``m`` times the samples). A trained discriminator with packing
``m`` takes inputs of ``m · data_dim`` columns: call it on ``pack(samples, m)``.
"""

from __future__ import annotations

import tensorflow as tf


def pack(samples, degree: int):
    """Packs ``[b, degree · dim]`` of samples ``[b, dim]``: row ``i`` is samples ``i, i+1, …,
    i+degree-1`` (mod ``b``) side by side. Degree 1 returns ``samples`` unchanged."""
    if degree == 1:
        return samples
    return tf.concat([tf.roll(samples, -j, axis=0) for j in range(degree)], axis=-1)


def pack_rows(samples, degree: int, counts=None):
    """:func:`pack` for ``K`` individuals side by side: samples ``[K, R, dim]`` of which
    individual ``k`` owns the first ``counts[k]`` rows (the rest padding; None: all ``R``)
    give packs ``[K, R, degree · dim]`` cycling within each individual's own rows."""
    if degree == 1:
        return samples
    if counts is None:
        return tf.concat([tf.roll(samples, -j, axis=1) for j in range(degree)], axis=-1)
    rows = tf.range(tf.shape(samples)[1])[None, :]
    counts = tf.cast(counts, tf.int32)[:, None]
    return tf.concat([tf.gather(samples, (rows + j) % counts, batch_dims=1) for j in range(degree)], axis=-1)
