"""An independent judge discriminator, for a fitness a weak own discriminator cannot game.

The judge has a fixed architecture (two 64-unit ReLU layers and a logit), sees inputs
standardised by the real data's mean and standard deviation, and is trained from scratch
with Adam (1e-3) to separate a frozen generator's samples from real data. Its generator
loss ``-mean log D_J(G(z))`` on held-out samples then tracks how far the generator is
from the data (with an optimal judge, ``D_J = p_data / (p_data + p_G)`` and the loss
measures the Jensen–Shannon gap; Goodfellow et al. 2014, Prop. 1).

Because the architecture is fixed, the training loop is compiled (XLA) once per process,
input dimension and data size, and reused for every individual: only the initial weights
(from the individual's seed) and the samples change. Judges train four side by side in a
call (every weight carries a leading judge axis), at a fraction of four times the cost of
one; a judge's score never depends on which others share its call.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from deatf_gan.compiled import CompiledFunction
from deatf_gan.losses import discriminator_loss, generator_loss, per_row_mean
from deatf_gan.streams import SeedStream, numpy_generator

JUDGE_UNITS = (64, 64)
JUDGE_LEARNING_RATE = 1e-3
JUDGE_STEPS = 1000
JUDGE_BATCH = 128
JUDGE_GROUP = 4  # judges per compiled call (more than one: XLA compiles a lone judge's matmuls unbatched)


def _glorot(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def _logits(params, x):
    """``[K, n, dim]`` inputs to ``[K, n, 1]`` logits, judge ``k`` on row ``k``."""
    layers = len(params) // 2
    kernels, biases = params[:layers], params[layers:]
    for kernel, bias in zip(kernels[:-1], biases[:-1]):
        x = tf.nn.relu(tf.matmul(x, kernel) + bias)
    return tf.matmul(x, kernels[-1]) + biases[-1]


def _train(params, real, fakes, real_batches, fake_batches, fakes_eval):
    """Train judges ``params`` (kernels ``[K, a, b]``, then biases ``[K, 1, b]``) on ``real``
    vs ``fakes[k]``; return each judge's ``-mean log D_J(fakes_eval[k])``.

    ``real_batches`` and ``fake_batches`` are ``[steps, K, batch]`` indices. The loop
    minimises ``Σ_k L_D,k``, whose gradient on slice ``k`` is ``∂L_D,k/∂θ_k``, and Adam is
    elementwise, so each judge trains exactly as it would alone. Weights and moments are
    loop state rather than variables: compiled with XLA, a loop that only assigned
    variables left the judges untrained (measured).
    """
    beta1, beta2, epsilon = 0.9, 0.999, 1e-7

    def body(step, params, moments, second_moments):
        batch = tf.concat([tf.gather(fakes, fake_batches[step], batch_dims=1), tf.gather(real, real_batches[step])], 1)
        with tf.GradientTape() as tape:
            tape.watch(params)
            fake_logits, real_logits = tf.split(_logits(params, batch), 2, axis=1)
            loss = tf.reduce_sum(discriminator_loss(fake_logits, real_logits, mean=per_row_mean))
        grads = tape.gradient(loss, params)
        t = tf.cast(step + 1, tf.float32)
        correction = tf.sqrt(1 - beta2**t) / (1 - beta1**t)
        moments = [beta1 * m + (1 - beta1) * grad for m, grad in zip(moments, grads)]
        second_moments = [beta2 * v + (1 - beta2) * tf.square(grad) for v, grad in zip(second_moments, grads)]
        params = [
            p - JUDGE_LEARNING_RATE * correction * m / (tf.sqrt(v) + epsilon)
            for p, m, v in zip(params, moments, second_moments)
        ]
        return step + 1, params, moments, second_moments

    zeros = [tf.zeros_like(p) for p in params]
    steps = tf.shape(real_batches)[0]
    _, params, _, _ = tf.while_loop(lambda step, *_: step < steps, body, (tf.constant(0), params, zeros, zeros))
    return generator_loss(_logits(params, fakes_eval), mean=per_row_mean)


@functools.lru_cache(maxsize=8)
def _trainer_for(dim: int, count: int):
    """The training loop for ``count`` judges of inputs of width ``dim``, one function per
    pair so each keeps static shapes and its own compiled code.

    XLA, not a plain graph: a plain graph's batched matmuls and op-by-op dispatch cost more
    per judge, and its first call takes about as long (``benchmarks/judge_speed.py``).
    """
    return CompiledFunction(_train)


def _initial_params(rngs: Sequence[np.random.Generator], dim: int) -> list[np.ndarray]:
    """Glorot kernels drawn judge by judge from each judge's own generator, zero biases."""
    shapes = [dim, *JUDGE_UNITS, 1]
    kernels = [np.stack([_glorot(rng, a, b) for rng in rngs]) for a, b in zip(shapes[:-1], shapes[1:])]
    return kernels + [np.zeros((len(rngs), 1, b), np.float32) for b in shapes[1:]]


def judged_generator_losses(
    real: np.ndarray,
    fakes_train: Sequence[np.ndarray],
    fakes_eval: Sequence[np.ndarray],
    seeds: Sequence[int],
    steps: int = JUDGE_STEPS,
) -> list[float]:
    """Train ``K`` fresh judges at once, judge ``k`` on ``real`` vs ``fakes_train[k]`` from
    ``seeds[k]``; return each ``-mean log D_J(fakes_eval[k])``.

    Judge ``k`` gets the initial weights, minibatches and standardisation a lone judge of
    seed ``seeds[k]`` would get, so its score does not depend on its neighbours. Inputs
    are standardised by the real data's mean and standard deviation, so a generator
    collapsed onto the mean is still easy to tell apart. A feature that barely varies (a
    blank pixel of every digit) is scaled up at most 100× more than the most spread one:
    dividing by its near-zero spread would turn round-off into huge logits.
    """
    count = len(seeds)
    if steps < 1:
        raise ValueError(f"a judge needs at least one training step, got steps={steps}")
    if not count or len(fakes_train) != count or len(fakes_eval) != count:
        raise ValueError(
            f"need one fake_train and one fake_eval per seed; got {len(fakes_train)} fake_train, "
            f"{len(fakes_eval)} fake_eval and {count} seeds"
        )
    for name, fakes in (("fakes_train", fakes_train), ("fakes_eval", fakes_eval)):
        shapes = sorted({tuple(np.shape(fake)) for fake in fakes})
        if len(shapes) != 1 or len(shapes[0]) != 2 or shapes[0][1] != real.shape[1]:
            raise ValueError(
                f"{name} must all have one shape [n, {real.shape[1]}] (the real data's width); got {shapes}"
            )
    if count != JUDGE_GROUP:
        # judges train in calls of JUDGE_GROUP, the last padded with copies of its first judge:
        # one compiled shape whatever the chunk, so a judge's bits never depend on its chunk
        scores = []
        for first in range(0, count, JUDGE_GROUP):
            group = slice(first, first + JUDGE_GROUP)
            extra = JUDGE_GROUP - len(seeds[group])
            scores += judged_generator_losses(
                real,
                [*fakes_train[group], *[fakes_train[first]] * extra],
                [*fakes_eval[group], *[fakes_eval[first]] * extra],
                [*seeds[group], *[seeds[first]] * extra],
                steps,
            )[: JUDGE_GROUP - extra]
        return scores
    spread = real.std(axis=0)
    mean, std = real.mean(axis=0), np.maximum(spread, 1e-2 * spread.max() + 1e-12)

    def standardise(x):
        return tf.constant(((np.asarray(x) - mean) / std).astype(np.float32))

    rngs = [numpy_generator(seed, SeedStream.JUDGE) for seed in seeds]
    params = [tf.constant(p) for p in _initial_params(rngs, real.shape[1])]
    real_batches = np.stack([rng.integers(len(real), size=(steps, JUDGE_BATCH)) for rng in rngs], axis=1)
    fake_batches = np.stack([rng.integers(len(fakes_train[0]), size=(steps, JUDGE_BATCH)) for rng in rngs], axis=1)
    losses = _trainer_for(real.shape[1], JUDGE_GROUP)(
        params,
        standardise(real),
        standardise(fakes_train),
        tf.constant(real_batches.astype(np.int32)),
        tf.constant(fake_batches.astype(np.int32)),
        standardise(fakes_eval),
    )
    return [float(loss) for loss in losses.numpy()]


def prepare(dim: int, real_rows: int, train_rows: int, eval_rows: int, steps: int = JUDGE_STEPS) -> None:
    """Trace the judges' training function for these shapes now (``compiled.CompiledFunction.prepare``)."""
    spec = tf.TensorSpec
    shapes = [dim, *JUDGE_UNITS, 1]
    params = [spec([JUDGE_GROUP, a, b], tf.float32) for a, b in zip(shapes[:-1], shapes[1:])]
    params += [spec([JUDGE_GROUP, 1, b], tf.float32) for b in shapes[1:]]
    _trainer_for(dim, JUDGE_GROUP).prepare(
        params,
        spec([real_rows, dim], tf.float32),
        spec([JUDGE_GROUP, train_rows, dim], tf.float32),
        spec([steps, JUDGE_GROUP, JUDGE_BATCH], tf.int32),
        spec([steps, JUDGE_GROUP, JUDGE_BATCH], tf.int32),
        spec([JUDGE_GROUP, eval_rows, dim], tf.float32),
    )


def judged_generator_loss(
    real: np.ndarray, fake_train: np.ndarray, fake_eval: np.ndarray, seed: int, steps: int = JUDGE_STEPS
) -> float:
    """One judge: :func:`judged_generator_losses` with ``K = 1``."""
    return judged_generator_losses(real, [fake_train], [fake_eval], [seed], steps)[0]
