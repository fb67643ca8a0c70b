"""An independent judge discriminator, for a fitness a weak own discriminator cannot game.

The judge has a fixed architecture (two 64-unit ReLU layers and a logit), sees inputs
standardised by the real data's mean and standard deviation, and is trained from scratch
with Adam (1e-3) to separate a frozen generator's samples from real data. Its generator
loss ``-mean log D_J(G(z))`` on held-out samples then tracks how far the generator is
from the data (with an optimal judge, ``D_J = p_data / (p_data + p_G)`` and the loss
measures the Jensen–Shannon gap; Goodfellow et al. 2014, Prop. 1).

Because the architecture is fixed, the training loop is traced once per process and data
size and reused for every individual: only the initial weights (from the individual's
seed) and the samples change.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from deatf_gan.training import discriminator_loss, generator_loss

JUDGE_UNITS = (64, 64)
JUDGE_LEARNING_RATE = 1e-3
JUDGE_STEPS = 1000
JUDGE_BATCH = 128


def _glorot(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


class _Judge:
    """Variables and the compiled training loop of the judge for one input dimension."""

    def __init__(self, dim: int):
        shapes = [dim, *JUDGE_UNITS, 1]
        self.kernels = [tf.Variable(tf.zeros((a, b))) for a, b in zip(shapes[:-1], shapes[1:])]
        self.biases = [tf.Variable(tf.zeros((b,))) for b in shapes[1:]]
        self.variables = self.kernels + self.biases
        # Adam moments, kept as plain variables so the loop stays one traced graph.
        self.moments = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        self.second_moments = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        self.shapes = shapes

    def reset(self, rng: np.random.Generator) -> None:
        for kernel, (a, b) in zip(self.kernels, zip(self.shapes[:-1], self.shapes[1:])):
            kernel.assign(_glorot(rng, a, b))
        for variable in self.biases + self.moments + self.second_moments:
            variable.assign(tf.zeros_like(variable))

    def logits(self, x):
        for kernel, bias in zip(self.kernels[:-1], self.biases[:-1]):
            x = tf.nn.relu(tf.matmul(x, kernel) + bias)
        return tf.matmul(x, self.kernels[-1]) + self.biases[-1]

    @tf.function(reduce_retracing=True)
    def train(self, real, fake, real_batches, fake_batches):
        beta1, beta2, epsilon = 0.9, 0.999, 1e-7
        steps = tf.shape(real_batches)[0]

        def body(step):
            with tf.GradientTape() as tape:
                loss = discriminator_loss(
                    self.logits(tf.gather(fake, fake_batches[step])), self.logits(tf.gather(real, real_batches[step]))
                )
            grads = tape.gradient(loss, self.variables)
            t = tf.cast(step + 1, tf.float32)
            correction = tf.sqrt(1 - beta2**t) / (1 - beta1**t)
            for variable, grad, m, v in zip(self.variables, grads, self.moments, self.second_moments):
                m.assign(beta1 * m + (1 - beta1) * grad)
                v.assign(beta2 * v + (1 - beta2) * tf.square(grad))
                variable.assign_sub(JUDGE_LEARNING_RATE * correction * m / (tf.sqrt(v) + epsilon))
            return (step + 1,)

        tf.while_loop(lambda step: step < steps, body, (tf.constant(0),))


@functools.lru_cache(maxsize=8)
def _judge_for(dim: int) -> _Judge:
    return _Judge(dim)


def judged_generator_loss(
    real: np.ndarray, fake_train: np.ndarray, fake_eval: np.ndarray, seed: int, steps: int = JUDGE_STEPS
) -> float:
    """Train a fresh judge on ``real`` vs ``fake_train``; return ``-mean log D_J(fake_eval)``.

    Inputs are standardised by the real data's mean and standard deviation, so a
    generator collapsed onto the mean is still easy to tell apart. A feature that barely
    varies (a blank pixel of every digit) is scaled up at most 100× more than the most
    spread one: dividing by its near-zero spread would turn round-off into huge logits.
    """
    spread = real.std(axis=0)
    mean, std = real.mean(axis=0), np.maximum(spread, 1e-2 * spread.max() + 1e-12)

    def standardise(x):
        return tf.constant(((x - mean) / std).astype(np.float32))

    rng = np.random.default_rng([seed, 2])
    judge = _judge_for(real.shape[1])
    judge.reset(rng)
    real_batches = rng.integers(len(real), size=(steps, JUDGE_BATCH)).astype(np.int32)
    fake_batches = rng.integers(len(fake_train), size=(steps, JUDGE_BATCH)).astype(np.int32)
    judge.train(standardise(real), standardise(fake_train), tf.constant(real_batches), tf.constant(fake_batches))
    return float(generator_loss(judge.logits(standardise(fake_eval))))
