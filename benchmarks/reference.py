"""The straightforward way to train a GAN: the reference the project's speed is measured against.

New Keras models per individual and one ``tf.function`` train step (every update of the step,
its noise and minibatch drawn inside) called from a Python loop: the way the library this
project reimagines does it, with what a careful user would add; not used by the project itself.
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
    each: one ``tf.function`` call per generator update, doing all of that step's updates, with
    the minibatch rows and the latent noise drawn inside it (stateless, keyed by ``rng``'s seed
    and the step). The fairest form of the straightforward way: no NumPy draws, no host-to-device
    copies and one Python call per step."""
    g_opt = make_optimizer(h.optimizer, h.generator_learning_rate)
    d_opt = make_optimizer(h.optimizer, h.discriminator_learning_rate)
    data = tf.constant(context.dataset.samples)
    rows, stddev = len(context.dataset.samples), context.latent_stddev
    seed = tf.constant(rng.integers(2**31, size=2), tf.int32)

    def latent(step, draw):
        return stddev * tf.random.stateless_normal((h.batch_size, h.latent_dim), seed + [step, draw])

    @tf.function
    def train_step(step):
        for k in range(h.discriminator_steps):
            real = tf.gather(
                data, tf.random.stateless_uniform((h.batch_size,), seed + [step, 100 + k], 0, rows, tf.int32)
            )
            with tf.GradientTape() as tape:
                fake_logits = discriminator(generator(latent(step, k), training=True), training=True)
                loss = discriminator_loss(fake_logits, discriminator(real, training=True))
            d_opt.apply(tape.gradient(loss, discriminator.trainable_variables), discriminator.trainable_variables)
        with tf.GradientTape() as tape:
            loss = generator_loss(discriminator(generator(latent(step, -1), training=True), training=True))
        g_opt.apply(tape.gradient(loss, generator.trainable_variables), generator.trainable_variables)
        return loss

    for step in range(context.steps):
        train_step(tf.constant(step, tf.int32))


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
