"""The straightforward way to train a GAN: the reference the project's speed is measured against.

New Keras models per individual and a ``tf.function`` train step called from a Python loop,
the way the library this project reimagines does it; not used by the project itself.
``straightforward`` scores with the pair's own generator loss (``eval_throughput.py``);
``eval_gan_straightforward`` is ``eval_gan`` with only the training swapped, so a whole run
can use it (``end_to_end.py``)::

    deatf-gan run configs/gaussian_1d.yaml \
        --set evaluation.function=benchmarks.reference:eval_gan_straightforward

from the repository root, so that ``benchmarks.reference`` imports (worker processes too).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from deatf_gan.evaluation import EvalContext, EvalResult, eval_gan
from deatf_gan.losses import discriminator_loss, generator_loss
from deatf_gan.training import make_optimizer


def train_straightforward(generator, discriminator, h, context: EvalContext, rng: np.random.Generator) -> None:
    """``context.steps`` generator updates after ``h.discriminator_steps`` discriminator updates
    each, one Python iteration and one ``tf.function`` call per update; batches and noise from ``rng``."""
    g_opt = make_optimizer(h.optimizer, h.generator_learning_rate)
    d_opt = make_optimizer(h.optimizer, h.discriminator_learning_rate)

    @tf.function
    def d_step(real, z):
        with tf.GradientTape() as tape:
            loss = discriminator_loss(
                discriminator(generator(z, training=True), training=True), discriminator(real, training=True)
            )
        d_opt.apply(tape.gradient(loss, discriminator.trainable_variables), discriminator.trainable_variables)
        return loss

    @tf.function
    def g_step(z):
        with tf.GradientTape() as tape:
            loss = generator_loss(discriminator(generator(z, training=True), training=True))
        g_opt.apply(tape.gradient(loss, generator.trainable_variables), generator.trainable_variables)
        return loss

    data = context.dataset.samples
    for _ in range(context.steps):
        for _ in range(h.discriminator_steps):
            real = data[rng.integers(len(data), size=h.batch_size)]
            d_step(real, context.latent_stddev * rng.standard_normal((h.batch_size, h.latent_dim)).astype(np.float32))
        g_step(context.latent_stddev * rng.standard_normal((h.batch_size, h.latent_dim)).astype(np.float32))


def straightforward(genome, context: EvalContext) -> float:
    """The reference: new Keras models, a tf.function step, a Python loop over steps; the
    generator loss on held-out latent samples drawn after training from the same stream."""
    h = genome.hyperparameters
    generator, discriminator = context.build_pair(genome)
    rng = np.random.default_rng(context.seed)
    train_straightforward(generator, discriminator, h, context, rng)
    latent = context.latent_stddev * rng.standard_normal((context.eval_samples, h.latent_dim)).astype(np.float32)
    return float(generator_loss(discriminator(generator(latent, training=False), training=False)))


class StraightforwardContext(EvalContext):
    """An ``EvalContext`` whose ``train_pair`` is the straightforward loop, so that ``eval_gan``
    builds, scores and keeps weights exactly as in a default run."""

    def train_pair(self, genome, generator, discriminator) -> None:
        train_straightforward(generator, discriminator, genome.hyperparameters, self, np.random.default_rng(self.seed))


def eval_gan_straightforward(genome, context: EvalContext) -> EvalResult:
    """``eval_gan`` with the straightforward training: same build, fitness, diagnostics,
    quality metrics and weights; the evaluation function of a reference run."""
    return eval_gan(genome, StraightforwardContext(**vars(context)))
