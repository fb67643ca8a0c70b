"""The superset MLP's forward pass for K individuals at once, each computing exactly its own network.

- units: padded units have zero kernel columns, bias, γ and β, so with an activation that
  maps 0 to 0 they stay exact zeros with exact zero gradients; a superset with ``sigmoid``
  or ``softplus`` also multiplies by the unit mask;
- layers: an inactive layer passes its input through; active layers come first, so the
  output layer reads the last active one;
- choices are selections, not conditionals: every option of the superset is computed and
  each individual's own selected (``tf.where``). A conditional's branches become functions
  whose names carry a process-wide counter into the compiled HLO, so a process that had
  traced anything else first compiled a different module and missed XLA's disk cache
  (docs/performance.md);
- activations: Keras 3's definitions; relu, leaky_relu (slope 0.2), elu and linear as one
  expression, ``z`` for ``z > 0`` else ``q z + r (exp z - 1)`` with per-individual ``q, r``;
- batch norm (Keras ``BatchNormalization``: momentum 0.99, ε = 10⁻³): batch mean and
  biased variance over the individual's own samples, ``y = γ (z - μ) / sqrt(σ² + ε) + β``,
  moving statistics ``s ← 0.99 s + 0.01 μ`` updated on every training-mode call;
- dropout: keep where a hashed uniform exceeds the rate, scale by ``1/(1 - rate)``
  (``deatf_gan.noise.dropout_keep``), fresh masks every draw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf

from deatf_gan.batched.planner import NetworkShape
from deatf_gan.batched.state import Params, RoleGenes
from deatf_gan.noise import dropout_keep

ACTIVATION_FUNCTIONS: dict[str, Callable] = {
    "relu": tf.nn.relu,
    "elu": tf.nn.elu,
    "leaky_relu": lambda x: tf.nn.leaky_relu(x, alpha=0.2),
    "selu": tf.nn.selu,
    "tanh": tf.tanh,
    "sigmoid": tf.sigmoid,
    "softplus": tf.math.softplus,
    "swish": tf.nn.silu,
    "linear": tf.identity,
}
# relu, leaky_relu, linear and elu: z for z > 0, else q·z + r·(exp(z) - 1), so a layer mixing
# them costs one exp and one select rather than one activation each
PIECEWISE: dict[str, tuple[float, float]] = {
    "relu": (0.0, 0.0),
    "leaky_relu": (0.2, 0.0),
    "linear": (1.0, 0.0),
    "elu": (0.0, 1.0),
}
ZERO_AT_ZERO = {"relu", "elu", "leaky_relu", "selu", "tanh", "swish", "linear"}  # padded units stay exact zeros
BN_MOMENTUM, BN_EPSILON = 0.99, 1e-3


class LayerGenes(NamedTuple):
    """A role's genes as per-layer tensors, sliced once per call rather than once per use."""

    units: list  # [K, 1, U] unit masks
    layer_on: list  # [K] bool
    activation: list  # per layer, one [K, 1, 1] bool per activation of the superset
    slope: list  # per layer, [K, 1, 1]: q of the piecewise family
    exp_weight: list  # per layer, [K, 1, 1]: r of the piecewise family
    bn_on: list  # [K] bool
    bias_on: list  # [K, 1]: 0 where batch norm follows (Keras builds no bias there)
    dropout: list  # [K, 1, 1, 1] rates

    @classmethod
    def of(cls, shape: NetworkShape, genes: RoleGenes) -> LayerGenes:
        """Each field split per layer by one ``tf.unstack``: a slice per layer and option
        would be four graph nodes each, which every process traces and lowers to XLA again."""
        layers, names = shape.layers, shape.activations

        def per_layer(values, *trailing: int) -> list:
            """``[K, L, ...]`` → L tensors ``[K, *trailing]``."""
            moved = tf.transpose(values, [1, 0, *range(2, len(values.shape))])
            return tf.unstack(tf.reshape(moved, [layers, -1, *trailing]), layers)

        def family(coefficient: int) -> list:
            weights = [PIECEWISE[name][coefficient] if name in PIECEWISE else 0.0 for name in names]
            return per_layer(tf.linalg.matvec(genes.activation, tf.constant(weights)), 1, 1)

        onehot = tf.transpose(genes.activation > 0, [1, 2, 0])  # [L, A, K]
        options = tf.unstack(tf.reshape(onehot, [layers * len(names), -1, 1, 1]), layers * len(names))
        return cls(
            units=per_layer(genes.unit_mask, 1, shape.units),
            layer_on=per_layer(genes.layer_on > 0),
            activation=[options[j * len(names) : (j + 1) * len(names)] for j in range(layers)],
            slope=family(0),
            exp_weight=family(1),
            bn_on=per_layer(genes.bn_on > 0),
            bias_on=per_layer(1.0 - genes.bn_on, 1),
            dropout=per_layer(genes.dropout, 1, 1, 1),
        )


class Batch(NamedTuple):
    """A training-mode call's sample rows: ``mask`` ``[K, B]`` (1 on each individual's own
    rows), ``count`` ``[K]`` rows each, and ``update`` ``[K]``: whose moving statistics move."""

    mask: tf.Tensor
    count: tf.Tensor
    update: tf.Tensor


def where_individual(mask, new, old):
    """``new`` where ``mask[k]`` (one flag per individual), else ``old``."""
    return tf.where(tf.reshape(mask, [-1] + [1] * (len(new.shape) - 1)), new, old)


def forward(shape: NetworkShape, params: Params, genes: LayerGenes, x, moving, batch: Batch | None = None,
            noise=None, groups: int = 1):  # fmt: skip
    """Outputs ``[K, B, out]`` of the K networks, and their moving statistics after the call
    (changed only in training mode, ``batch`` given).

    ``x`` may hold ``groups`` separate calls side by side (``[K, groups·B, in]``, as the
    discriminator's fake and real batches): batch statistics, moving-statistic updates (in
    group order, as successive Keras calls) and dropout masks are per group, the matrix
    products shared. ``noise = (seeds, draws, DropoutStream or one per group)`` keys the
    dropout masks; ``moving = (means, variances)``, one ``[K, U]`` per layer each.
    """
    k, training = params.kernels[0].shape[0], batch is not None
    means, variances = list(moving[0]), list(moving[1])

    if training:  # the batch's row weights and counts, shaped once for every layer
        row_weights = tf.reshape(batch.mask, [k, 1, -1, 1])
        row_count = tf.reshape(batch.count, [k, 1, 1])

    def normalise(j: int, z, mean_j, variance_j, on):
        """Layer ``j``'s batch norm of ``z``; ``on`` (``[K]``) leaves ``z`` exactly as it is,
        and the statistics unchanged, where the layer has none."""
        if training:
            grouped = tf.reshape(z, [k, groups, -1, shape.units])
            mean = tf.reduce_sum(grouped * row_weights, axis=2) / row_count
            centred = (grouped - tf.expand_dims(tf.stop_gradient(mean), 2)) * row_weights
            variance = tf.reduce_sum(tf.square(centred), axis=2) / row_count
            apply = tf.reshape(tf.logical_and(batch.update, on), [k, 1])
            by_group = zip(tf.unstack(mean, groups, axis=1), tf.unstack(variance, groups, axis=1))
            for group_mean, group_variance in by_group:  # in group order, as successive Keras calls
                mean_j = tf.where(apply, mean_j * BN_MOMENTUM + group_mean * (1.0 - BN_MOMENTUM), mean_j)
                variance_j = tf.where(
                    apply, variance_j * BN_MOMENTUM + group_variance * (1.0 - BN_MOMENTUM), variance_j
                )
        else:
            grouped, mean, variance = tf.expand_dims(z, 1), tf.expand_dims(mean_j, 1), tf.expand_dims(variance_j, 1)
        inverse = tf.math.rsqrt(variance + BN_EPSILON) * tf.expand_dims(params.gammas[j], 1)
        shift = tf.expand_dims(params.betas[j], 1) - mean * inverse
        # y = z·1 + 0 (exactly z) where the layer has no batch norm
        has_norm = tf.reshape(on, [k, 1, 1])
        shift, inverse = tf.where(has_norm, shift, 0.0), tf.where(has_norm, inverse, 1.0)
        out = grouped * tf.expand_dims(inverse, 2) + tf.expand_dims(shift, 2)
        return tf.reshape(out, tf.shape(z)), mean_j, variance_j

    def layer(j: int, h, mean_j, variance_j):
        bias = params.biases[j] * genes.bias_on[j] if shape.batch_norm else params.biases[j]  # none before BN
        z = tf.einsum("kbi,kiu->kbu", h, params.kernels[j]) + tf.expand_dims(bias, 1)
        if shape.batch_norm:
            z, mean_j, variance_j = normalise(j, z, mean_j, variance_j, genes.bn_on[j])
        a = _activate(z, shape.activations, genes, j)
        if training and shape.dropout:
            a = _dropout(a, j, genes.dropout[j], noise, k, groups, shape.units)
        if not set(shape.activations) <= ZERO_AT_ZERO:
            a = a * genes.units[j]  # else padded units are exact zeros already
        return a, mean_j, variance_j

    h = x
    for j in range(shape.layers):
        statistics = (means[j], variances[j]) if shape.batch_norm else (tf.zeros([k, shape.units]),) * 2
        a, mean_j, variance_j = layer(j, h, *statistics)
        if j > 0:  # the first layer is always on; an inactive one passes its input through
            a = where_individual(genes.layer_on[j], a, h)
        h = a
        if shape.batch_norm:
            means[j], variances[j] = mean_j, variance_j
    out = tf.einsum("kbu,kuo->kbo", h, params.kernels[-1]) + params.biases[-1][:, None, :]
    return out, (means, variances)


def _dropout(a, layer: int, rate, noise, k: int, groups: int, units: int):
    """Inverted dropout of ``a`` with each group's own masks (``forward``'s ``noise``)."""
    seeds, draws, streams = noise
    grouped = tf.reshape(a, [k, groups, -1, units])
    stream = tf.reshape(tf.constant(streams if isinstance(streams, (tuple, list)) else [streams]), [1, -1, 1, 1])
    rows = tf.range(tf.shape(grouped)[2])[None, None, :, None]
    cols = tf.range(units)[None, None, None, :]
    keep = dropout_keep(seeds[:, None, None, None], draws[:, None, None, None], stream, layer, rows, cols, rate)
    return tf.reshape(tf.where(keep, grouped / (1.0 - rate), 0.0), tf.shape(a))


def _activate(z, names: tuple[str, ...], genes: LayerGenes, layer: int):
    """Each individual's own activation of layer ``layer``: the piecewise family in one
    expression, every other activation of the superset selected per individual."""
    if len(names) == 1:
        return ACTIVATION_FUNCTIONS[names[0]](z)
    family = [name for name in names if name in PIECEWISE]
    others = [
        (name, on) for name, on in zip(names, genes.activation[layer]) if len(family) < 2 or name not in PIECEWISE
    ]
    a = None
    if len(family) >= 2:
        negative = z * genes.slope[layer] if any(PIECEWISE[name][0] for name in family) else tf.zeros_like(z)
        if any(PIECEWISE[name][1] for name in family):  # exp of min(z, 0): no inf in the unused branch's gradient
            negative = negative + genes.exp_weight[layer] * (tf.exp(tf.minimum(z, 0.0)) - 1.0)
        a = tf.where(z > 0.0, z, negative)
    for name, on in others:
        value = ACTIVATION_FUNCTIONS[name](z)
        a = value if a is None else tf.where(on, value, a)
    return a
