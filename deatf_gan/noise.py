"""In-graph noise from a counter-based hash: latent batches and dropout masks.

Element ``(row, col)`` of draw ``d`` depends only on ``(seed, d, stream, row, col)``, never
on global random state or on the shape drawn: a padded ``[K, max batch, max latent]`` draw
of a whole chunk holds each individual's own ``[batch, latent]`` draw in its corner
(TensorFlow's stateless ops take one key per call and their values depend on the shape).
The streams are named in ``deatf_gan.streams``.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from deatf_gan.streams import LATENT_KEY, LAYERS_PER_DROPOUT_STREAM


def dropout_key(stream, layer: int):
    """The hash stream of layer ``layer``'s dropout mask in ``stream`` (broadcasts), disjoint
    from the latent batches' (``LATENT_KEY``), so no mask is correlated with a latent draw."""
    return 1 + stream * LAYERS_PER_DROPOUT_STREAM + layer


def _mix32(x):
    """Wellons' ``lowbias32`` integer hash: a bijection of uint32 with good avalanche."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))
    x = x * tf.constant(0x7FEB352D, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(15, tf.uint32)))
    x = x * tf.constant(0x846CA68B, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))


def _as_u32(value):
    return tf.cast(tf.cast(value, tf.int64) % (2**32), tf.uint32)


def _key(seed, draw, stream=LATENT_KEY):
    """``h(h(h(seed) ^ draw) ^ stream)`` as uint32; arguments broadcast."""
    inner = _mix32(tf.bitwise.bitwise_xor(_mix32(_as_u32(seed)), _as_u32(draw)))
    return _mix32(tf.bitwise.bitwise_xor(inner, _as_u32(stream)))


def _element_uniform(key, rows, cols, lane: int):
    """``u = ((h(h(key ^ row) ^ (4·col + lane)) >> 8) + 1) / 2²⁴`` in (0, 1]: a hash chain,
    so no row or column count can overflow a counter."""
    row_hash = _mix32(tf.bitwise.bitwise_xor(key, tf.cast(rows, tf.uint32)))
    column = tf.cast(cols, tf.uint32) * tf.constant(4, tf.uint32) + tf.constant(lane, tf.uint32)
    bits = _mix32(tf.bitwise.bitwise_xor(row_hash, column))
    return (tf.cast(tf.bitwise.right_shift(bits, tf.constant(8, tf.uint32)), tf.float32) + 1.0) * (1.0 / 2**24)


def hashed_uniform(seed, draw, stream, rows, cols):
    """Counter-based uniforms in (0, 1] for element ``(row, col)`` of draw ``draw`` of
    ``stream``; every argument broadcasts, so one call can serve many individuals."""
    return _element_uniform(_key(seed, draw, stream), rows, cols, 0)


# sin x = x (1 - x²/3! + x⁴/5! - ... + x¹²/13!): on |x| <= π/2 the next term is below 10⁻⁹
_SIN_SERIES = tuple((-1) ** n / math.factorial(2 * n + 1) for n in range(7))


def cos_2pi(u):
    """``cos(2π u)`` for ``u`` in [0, 1], as ``sin(2π s)`` with ``s = |u - ½| - ¼`` in [-¼, ¼]
    (both exact in float32 for ``u = k / 2²⁴``) and sin's series to x¹³: float32 rounding is
    the only error (at most 1.5e-7). Why not ``tf.cos``: XLA's CPU cosine is not vectorised,
    and it dominated a small network's training step (docs/performance.md)."""
    x = (2.0 * np.pi) * (tf.abs(u - 0.5) - 0.25)
    square = x * x
    series = tf.constant(_SIN_SERIES[-1], tf.float32)
    for coefficient in reversed(_SIN_SERIES[:-1]):
        series = series * square + coefficient
    return x * series


def hashed_normal(seed, draw, rows, cols, stream=LATENT_KEY):
    """Box–Muller ``z = sqrt(-2 ln u₁) cos(2π u₂)`` from two hashed uniforms of element
    ``(row, col)`` (cosine: ``cos_2pi``); arguments broadcast, and an element never depends
    on the shape drawn."""
    key = _key(seed, draw, stream)
    u1 = _element_uniform(key, rows, cols, 0)
    u2 = _element_uniform(key, rows, cols, 1)
    return tf.sqrt(-2.0 * tf.math.log(u1)) * cos_2pi(u2)


def latent_noise(noise_seed: int, draw, shape: tuple[int, int], stddev: float = 1.0):
    """Latent batch number ``draw``: ``z ~ N(0, stddev²)``, element ``(r, c)`` being
    ``stddev · hashed_normal(noise_seed, draw, r, c)``: every draw fresh, none depending on
    global random state, and the batched evaluator's padded draws hold exactly these."""
    rows = tf.range(shape[0])[:, None]
    cols = tf.range(shape[1])[None, :]
    return stddev * hashed_normal(noise_seed, draw, rows, cols)


def dropout_keep(seeds, draws, stream, layer: int, rows, cols, rate):
    """Where dropout keeps a unit: ``u > rate`` for a hashed uniform ``u`` of the layer's
    own hash stream (arguments broadcast; ``stream`` may be a tensor of DropoutStream values)."""
    return hashed_uniform(seeds, draws, dropout_key(stream, layer), rows, cols) > rate
