"""A chunk's genes and training state as named arrays: loaded from genomes, exported as Keras weights.

Every genome of a call is embedded in its role's superset (``planner.NetworkShape``):
padded units have zero kernel columns, bias, γ and β, padded layers are switched off, and
padded latent columns are masked. Weights and optimizer slots of ``K`` individuals are one
flat ``[K, P]`` vector per role (``ParameterLayout`` names its pieces), and so is the
generators' weight average where the superset has one; the genes are masks and
per-individual settings the compiled functions read. Loading builds these as
NumPy arrays, and an individual's weights come back out in ``keras.Model.get_weights()``
order, so ``deatf_gan.build`` models can hold them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from deatf_gan.batched.optimizers import OPTIMIZER_NAMES, Slots
from deatf_gan.batched.planner import NetworkShape, Superset
from deatf_gan.build import discriminator_input_dim, initial_weights
from deatf_gan.datasets import Dataset
from deatf_gan.genome import GANGenome, MLPDescriptor
from deatf_gan.inheritance import Weights
from deatf_gan.schedule import SEGMENT_STEPS, training_schedule

NORMALIZATION_EPSILON = 1e-7  # keras.backend.epsilon(): Normalization divides by max(sqrt(var), ε)


class Params(NamedTuple):
    """One role's trainable tensors per layer (hidden layers, then the output layer)."""

    kernels: list
    biases: list
    gammas: list
    betas: list


class ParameterLayout:
    """Where each weight tensor of a role's superset sits in its flat ``[K, P]`` vector:
    kernels, then biases (hidden layers and the output layer), then γ and β of batch norm."""

    def __init__(self, shape: NetworkShape):
        inputs = [shape.input_dim] + [shape.units] * (shape.layers - 1)
        norm = [(shape.units,)] * shape.layers if shape.batch_norm else []
        self.groups = (
            [(i, shape.units) for i in inputs] + [(shape.units, shape.output_dim)],
            [(shape.units,)] * shape.layers + [(shape.output_dim,)],
            norm,
            list(norm),
        )
        self.shapes = [s for group in self.groups for s in group]
        self.sizes = [math.prod(s) for s in self.shapes]
        self.size = sum(self.sizes)

    def _grouped(self, pieces: list) -> Params:
        out, rest = [], list(pieces)
        for group in self.groups:
            out.append(rest[: len(group)])
            rest = rest[len(group) :]
        return Params(*out)

    def unflatten(self, flat) -> Params:
        """Per-layer views ``[K, ...]`` of a flat tensor (its gradient is then one concat)."""
        pieces = tf.split(flat, self.sizes, axis=1)
        return self._grouped([tf.reshape(p, [-1, *s]) for p, s in zip(pieces, self.shapes)])

    def unflatten_numpy(self, flat: np.ndarray) -> Params:
        offsets = np.cumsum([0, *self.sizes])
        pieces = [flat[:, a:b].reshape(-1, *s) for a, b, s in zip(offsets[:-1], offsets[1:], self.shapes)]
        return self._grouped(pieces)

    @staticmethod
    def flatten_numpy(params: Params) -> np.ndarray:
        pieces = [p for group in params for p in group]
        return np.concatenate([p.reshape(len(p), -1) for p in pieces], axis=1)


class RoleGenes(NamedTuple):
    """One role's genome as masks and settings of K individuals."""

    unit_mask: np.ndarray  # [K, L, U]: 1 on each layer's own units
    layer_on: np.ndarray  # [K, L]
    activation: np.ndarray  # [K, L, A]: one-hot over the superset's activations
    bn_on: np.ndarray  # [K, L]
    dropout: np.ndarray  # [K, L] rates
    learning_rate: np.ndarray  # [K]
    optimizer: np.ndarray  # [K, 3]: one-hot over OPTIMIZER_NAMES


class RoleState(NamedTuple):
    """One role's training state: flat parameters, optimizer slots, batch norm's moving
    statistics (one ``[K, U]`` per layer; none where the superset has no batch norm)."""

    parameters: np.ndarray
    slots: Slots
    moving_means: tuple
    moving_variances: tuple


class ChunkGenes(NamedTuple):
    """What a call's individuals are: both roles' genes, and how each trains."""

    generator: RoleGenes
    discriminator: RoleGenes
    sample_mask: np.ndarray  # [K, B]: 1 on each individual's own minibatch rows
    latent_mask: np.ndarray  # [K, Z]: 1 on each individual's own latent columns
    discriminator_steps: np.ndarray  # [K] int32
    noise_seeds: np.ndarray  # [K] int64: each individual's in-graph noise seed
    data_mean: np.ndarray  # [dim]: the real data's standardisation (0 and 1 when off)
    data_scale: np.ndarray
    loss: np.ndarray  # [K, losses]: one-hot over the superset's losses
    generator_ema: np.ndarray  # [K]: each generator's weight-average decay β (0: none)
    r1_penalty: np.ndarray  # [K]: each discriminator's R1 weight γ (0: none)
    packing: np.ndarray  # [K] int32: samples per discriminator input (deatf_gan.packing)


class ChunkState(NamedTuple):
    """What training changes; ``generator_average`` is the generators' weight average
    ``[K, P]`` (one-element tuple) where the superset has ``generator_ema``, else empty."""

    generator: RoleState
    discriminator: RoleState
    generator_average: tuple = ()


def load_role(
    shape: NetworkShape, descriptors: Sequence[MLPDescriptor], weights, input_dims, learning_rates, optimizers
):
    """``(RoleGenes, RoleState)`` of K individuals from their descriptors and Keras-ordered
    weights; optimizer slots start at zero."""
    k, n, u = len(descriptors), shape.layers, shape.units
    layout = ParameterLayout(shape)
    params = Params(*([np.zeros((k, *s), np.float32) for s in group] for group in layout.groups))
    means = [np.zeros((k, u), np.float32) for _ in params.gammas]
    variances = [np.ones((k, u), np.float32) for _ in params.gammas]
    genes = RoleGenes(
        unit_mask=np.zeros((k, n, u), np.float32),
        layer_on=np.zeros((k, n), np.float32),
        activation=np.zeros((k, n, len(shape.activations)), np.float32),
        bn_on=np.zeros((k, n), np.float32),
        dropout=np.zeros((k, n), np.float32),
        learning_rate=np.asarray(learning_rates, np.float32),
        optimizer=np.eye(len(OPTIMIZER_NAMES), dtype=np.float32)[[OPTIMIZER_NAMES.index(o) for o in optimizers]],
    )
    for i, (descriptor, values) in enumerate(zip(descriptors, weights)):
        values, width = list(values), input_dims[i]
        for j, layer in enumerate(descriptor.layers):
            params.kernels[j][i, :width, : layer.units] = values.pop(0)
            if not layer.batch_norm:
                params.biases[j][i, : layer.units] = values.pop(0)
            else:
                for target in (params.gammas, params.betas, means, variances):
                    target[j][i, : layer.units] = values.pop(0)
            genes.unit_mask[i, j, : layer.units] = 1.0
            genes.layer_on[i, j] = 1.0
            genes.activation[i, j, shape.activations.index(layer.activation)] = 1.0
            genes.bn_on[i, j] = float(layer.batch_norm)
            genes.dropout[i, j] = layer.dropout
            width = layer.units
        params.kernels[-1][i, :width] = values.pop(0)
        params.biases[-1][i] = values.pop(0)
    flat = ParameterLayout.flatten_numpy(params)
    slots = Slots(np.zeros_like(flat), np.zeros_like(flat), np.zeros(k, np.float32))
    return genes, RoleState(flat, slots, tuple(means), tuple(variances))


class BatchTable:
    """The chunk's minibatch rows one segment at a time, ``[K, SEGMENT_STEPS · D, batch]``:
    member ``i``'s rows of step ``first + t``, sub-step ``sub``, sit at ``t · D + sub`` (``D``
    the superset's discriminator steps), taken from its ``schedule.MinibatchStream`` as the
    Keras path takes them. Segments must be asked for in order."""

    def __init__(self, superset: Superset, hyper, streams, steps: int):
        self.superset, self.hyper, self.streams, self.steps = superset, hyper, streams, steps

    def segment(self, first: int) -> np.ndarray:
        s = self.superset
        table = np.zeros((len(self.streams), SEGMENT_STEPS, s.discriminator_steps, s.batch), np.int32)
        n = min(SEGMENT_STEPS, self.steps - first)
        for i, (h, stream) in enumerate(zip(self.hyper, self.streams)):
            rows = stream.take(n * h.discriminator_steps)
            table[i, :n, : h.discriminator_steps, : h.batch_size] = rows.reshape(n, h.discriminator_steps, h.batch_size)
        return table.reshape(len(self.streams), -1, s.batch)


def load_chunk(superset: Superset, genomes: Sequence[GANGenome], seeds: Sequence[int], dataset: Dataset, steps: int,
               start: Sequence[Weights | None] | None = None):  # fmt: skip
    """``(ChunkGenes, ChunkState, batch table)`` of a call, padded to K with copies of its
    first member. Each member starts from its ``start`` weights (Keras-ordered, as
    ``deatf_gan.inheritance`` gives them), or where None from ``build.initial_weights``.
    The :class:`BatchTable` gives the minibatch rows segment by segment."""
    s, k = superset, superset.population
    genomes = list(genomes) + [genomes[0]] * (k - len(genomes))
    seeds = list(seeds) + [seeds[0]] * (k - len(seeds))
    hyper = [g.hyperparameters for g in genomes]
    start = list(start or [None] * len(genomes))
    start = start + [start[0]] * (k - len(start))
    initial = [w if w is not None else initial_weights(g, dataset, seed) for g, seed, w in zip(genomes, seeds, start)]
    optimizers = [h.optimizer for h in hyper]
    g_genes, g_state = load_role(
        s.generator, [g.generator for g in genomes], [w[0] for w in initial], [h.latent_dim for h in hyper],
        [h.generator_learning_rate for h in hyper], optimizers,
    )  # fmt: skip
    d_genes, d_state = load_role(
        s.discriminator, [g.discriminator for g in genomes], [w[1] for w in initial],
        [discriminator_input_dim(g, dataset) for g in genomes],
        [h.discriminator_learning_rate for h in hyper], optimizers,
    )  # fmt: skip
    streams, noise_seeds = zip(*(training_schedule(len(dataset.samples), h, seed) for h, seed in zip(hyper, seeds)))
    if s.standardize:
        mean = dataset.mean.astype(np.float32)
        scale = np.maximum(np.sqrt(dataset.variance), NORMALIZATION_EPSILON).astype(np.float32)
    else:
        mean, scale = np.zeros(dataset.dim, np.float32), np.ones(dataset.dim, np.float32)
    genes = ChunkGenes(
        generator=g_genes,
        discriminator=d_genes,
        sample_mask=(np.arange(s.batch)[None, :] < np.array([h.batch_size for h in hyper])[:, None]).astype(np.float32),
        latent_mask=(np.arange(s.latent)[None, :] < np.array([h.latent_dim for h in hyper])[:, None]).astype(
            np.float32
        ),
        discriminator_steps=np.array([h.discriminator_steps for h in hyper], np.int32),
        noise_seeds=np.asarray(noise_seeds, np.int64),
        data_mean=mean,
        data_scale=scale,
        loss=np.eye(len(s.losses), dtype=np.float32)[[s.losses.index(h.loss) for h in hyper]],
        generator_ema=np.array([h.generator_ema for h in hyper], np.float32),
        r1_penalty=np.array([h.r1_penalty for h in hyper], np.float32),
        packing=np.array([h.packing for h in hyper], np.int32),
    )
    average = (g_state.parameters.copy(),) if s.generator_ema else ()  # starts at the initial weights
    return genes, ChunkState(g_state, d_state, average), BatchTable(s, hyper, list(streams), steps)


def export_role(
    shape: NetworkShape, state: RoleState, index: int, descriptor: MLPDescriptor, input_dim: int
) -> list[np.ndarray]:
    """Individual ``index``'s weights of one role in ``keras.Model.get_weights()`` order."""
    params = ParameterLayout(shape).unflatten_numpy(np.asarray(state.parameters)[index : index + 1])
    means = [np.asarray(m)[index] for m in state.moving_means]
    variances = [np.asarray(v)[index] for v in state.moving_variances]
    values, width = [], input_dim
    for j, layer in enumerate(descriptor.layers):
        values.append(params.kernels[j][0, :width, : layer.units].copy())
        if not layer.batch_norm:
            values.append(params.biases[j][0, : layer.units].copy())
        else:
            values += [
                v[j][..., : layer.units].reshape(layer.units).copy()
                for v in (params.gammas, params.betas, means, variances)
            ]
        width = layer.units
    return values + [params.kernels[-1][0, :width].copy(), params.biases[-1][0].copy()]


def chunk_specs(superset: Superset, data_dim: int) -> tuple[ChunkGenes, ChunkState]:
    """The ``tf.TensorSpec`` of every array ``load_chunk`` gives for ``superset``: what the
    compiled functions can be traced for before any genome is loaded."""
    k = superset.population

    def spec(*shape, dtype=tf.float32) -> tf.TensorSpec:
        return tf.TensorSpec(shape, dtype)

    def role(shape: NetworkShape) -> tuple[RoleGenes, RoleState]:
        n, u, size = shape.layers, shape.units, ParameterLayout(shape).size
        genes = RoleGenes(
            spec(k, n, u), spec(k, n), spec(k, n, len(shape.activations)), spec(k, n), spec(k, n), spec(k),
            spec(k, len(OPTIMIZER_NAMES)),
        )  # fmt: skip
        moving = tuple(spec(k, u) for _ in range(n)) if shape.batch_norm else ()
        return genes, RoleState(spec(k, size), Slots(spec(k, size), spec(k, size), spec(k)), moving, moving)

    (g_genes, g_state), (d_genes, d_state) = role(superset.generator), role(superset.discriminator)
    genes = ChunkGenes(
        g_genes, d_genes, spec(k, superset.batch), spec(k, superset.latent), spec(k, dtype=tf.int32),
        spec(k, dtype=tf.int64), spec(data_dim), spec(data_dim), spec(k, len(superset.losses)), spec(k), spec(k),
        spec(k, dtype=tf.int32),
    )  # fmt: skip
    average = (spec(k, ParameterLayout(superset.generator).size),) if superset.generator_ema else ()
    return genes, ChunkState(g_state, d_state, average)
