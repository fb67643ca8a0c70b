"""The compiled training loop of one Keras pair.

The losses are ``deatf_gan.losses``' (the genome's ``loss`` names the pair); the latent
noise is ``deatf_gan.noise``'s, drawn per step from the individual's noise seed; the minibatch
rows are ``deatf_gan.schedule``'s, which the batched evaluator shares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from deatf_gan.datasets import Dataset
from deatf_gan.genome import Hyperparameters
from deatf_gan.losses import gan_loss, r1_penalty
from deatf_gan.noise import latent_noise
from deatf_gan.packing import pack
from deatf_gan.schedule import SEGMENT_STEPS, training_schedule

_OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    """The genome's optimizer with the genome's learning rate (Keras defaults otherwise)."""
    return _OPTIMIZERS[name](learning_rate=learning_rate)


@dataclass(frozen=True)
class TrainingOutcome:
    """Losses of the last training step (on that step's batches, models in training mode)."""

    generator_loss: float
    discriminator_loss: float
    steps: int


def train_pair(
    generator: keras.Model,
    discriminator: keras.Model,
    hyperparameters: Hyperparameters,
    dataset: Dataset,
    steps: int,
    seed: int,
    latent_stddev: float = 1.0,
    jit_compile: bool = False,
    generator_loss_fn: Callable | None = None,
    discriminator_loss_fn: Callable | None = None,
) -> TrainingOutcome:
    """Train the pair for ``steps`` generator updates inside one ``tf.function``.

    Each generator update follows ``discriminator_steps`` discriminator updates. Every
    update draws a fresh latent batch ``z ~ N(0, latent_stddev²)`` from stateless random
    ops keyed by ``(seed, draw number)``, so noise never repeats and never depends on what
    the process ran before; real minibatches come from shuffled epochs of the data. The
    genome's optimizer, both learning rates, batch size, latent size, discriminator steps
    and loss (unless loss functions are given) are all used.

    With ``generator_ema = β > 0`` the loop also keeps ``θ_ema ← β θ_ema + (1 - β) θ`` of the
    generator's trainable weights after every generator update (starting at the initial
    ``θ``), and the generator leaves holding ``θ_ema``: the averaged generator is the one
    scored and kept. Batch norm's moving statistics are not averaged; the averaged
    generator uses the trained generator's. With ``r1_penalty = γ > 0`` each discriminator
    loss adds ``γ · losses.r1_penalty`` of the real batch's input gradients. With ``packing =
    m > 1`` the discriminator judges packs of ``m`` samples (``deatf_gan.packing.pack``), real
    and fake alike, and R1 takes the gradients with respect to the real packs.
    """
    h = hyperparameters
    d_steps = h.discriminator_steps
    generator_loss_fn = generator_loss_fn or gan_loss(h.loss).generator
    discriminator_loss_fn = discriminator_loss_fn or gan_loss(h.loss).discriminator
    stream, noise_seed = training_schedule(len(dataset.samples), h, seed)
    g_optimizer = make_optimizer(h.optimizer, h.generator_learning_rate)
    d_optimizer = make_optimizer(h.optimizer, h.discriminator_learning_rate)
    g_optimizer.build(generator.trainable_variables)
    d_optimizer.build(discriminator.trainable_variables)
    latent_shape = (h.batch_size, h.latent_dim)

    def latent(draw):
        return latent_noise(noise_seed, draw, latent_shape, latent_stddev)

    def average(averaged):
        """The generator's weight average after an update: ``β θ_ema + (1 - β) θ`` (β in float32,
        as ``deatf_gan.batched`` computes it)."""
        decay = tf.constant(h.generator_ema, tf.float32)
        return tuple(decay * a + (1.0 - decay) * v for a, v in zip(averaged, generator.trainable_variables))

    def loop(data, batches, first, last, averaged):
        def body(step, _g_loss, _d_loss, averaged):
            d_loss = tf.constant(0.0)
            for k in range(d_steps):
                real = pack(tf.gather(data, batches[(step - first) * d_steps + k]), h.packing)
                z = latent(step * (d_steps + 1) + k)
                with tf.GradientTape() as tape:
                    fake = generator(z, training=True)
                    fake_logits = discriminator(pack(fake, h.packing), training=True)
                    with tf.GradientTape() as inner:  # the real packs' input gradients, for R1
                        inner.watch(real)
                        real_logits = discriminator(real, training=True)
                        real_total = tf.reduce_sum(real_logits)
                    d_loss = discriminator_loss_fn(fake_logits, real_logits)
                    if h.r1_penalty > 0:
                        real_gradients = inner.gradient(real_total, real)
                        d_loss = d_loss + h.r1_penalty * r1_penalty(real_gradients)
                grads = tape.gradient(d_loss, discriminator.trainable_variables)
                d_optimizer.apply(grads, discriminator.trainable_variables)
            z = latent(step * (d_steps + 1) + d_steps)
            with tf.GradientTape() as tape:
                g_loss = generator_loss_fn(discriminator(pack(generator(z, training=True), h.packing), training=True))
            grads = tape.gradient(g_loss, generator.trainable_variables)
            g_optimizer.apply(grads, generator.trainable_variables)
            return step + 1, g_loss, d_loss, average(averaged) if averaged else averaged

        zero = tf.constant(0.0)
        _, g_loss, d_loss, averaged = tf.while_loop(lambda step, *_: step < last, body, (first, zero, zero, averaged))
        return g_loss, d_loss, averaged

    compiled = tf.function(loop, jit_compile=jit_compile, reduce_retracing=True)
    data = tf.constant(dataset.samples)
    # no average at all when β = 0, so plain training runs the loop without the average's ops
    averaged = tuple(tf.identity(v) for v in generator.trainable_variables) if h.generator_ema > 0 else ()
    segment = min(steps, SEGMENT_STEPS)  # one table shape for every call: one trace
    g_loss = d_loss = tf.constant(0.0)
    for first in range(0, steps, segment):
        last = min(first + segment, steps)
        batches = np.zeros((segment * d_steps, h.batch_size), np.int32)
        batches[: (last - first) * d_steps] = stream.take((last - first) * d_steps)
        g_loss, d_loss, averaged = compiled(
            data, tf.constant(batches), tf.constant(first, tf.int32), tf.constant(last, tf.int32), averaged
        )
    for variable, value in zip(generator.trainable_variables, averaged):
        variable.assign(value)
    return TrainingOutcome(float(g_loss), float(d_loss), steps)
