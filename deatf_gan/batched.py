"""Train a whole chunk of individuals side by side in one compiled function.

Every genome of a chunk is embedded in a fixed *superset* MLP per role: ``L`` hidden layers
of ``U`` units (the search space's maxima), stored as ``[K, ...]`` tensors for ``K``
individuals and multiplied with batched ``einsum``. Masks make the superset compute
exactly the individual's own network:

- units: padded units have zero kernel columns, bias, γ and β, so with an activation that
  maps 0 to 0 they are exact zeros and get exact zero gradients; a superset with ``sigmoid``
  or ``softplus`` multiplies by the unit mask ``m_j`` (1 on the layer's real units) as well;
- layers: an inactive layer passes its input through (``h_j = h_{j-1}``); active layers
  come first, so the output layer reads the last active one;
- one individual per call (K = 1, the built-in spaces) takes its layer, batch-norm and
  activation choices with conditionals, so only its own network is computed: 32 toy genomes
  of 1,000 steps took 5.7-7.9 s instead of 8.1-9.4 s (docs/performance.md, ninth round);
  calls of several compute every option and select per individual, as below;
- activations: relu, leaky_relu (``negative_slope = 0.2``), elu and linear in one expression,
  ``z`` for ``z > 0`` else ``q z + r (exp z - 1)`` with per-individual ``q, r``; any other
  activation of the superset selected per individual (Keras 3 definitions);
- batch norm (Keras ``BatchNormalization``: momentum 0.99, ε = 10⁻³): batch mean and
  biased variance over the individual's own ``b`` samples,
  ``y = γ (z - μ) / sqrt(σ² + ε) + β``, moving statistics ``s ← 0.99 s + 0.01 μ`` updated
  on every training-mode call that really happens; inference uses the moving statistics;
- samples: batch rows past the individual's batch size are masked out of every mean;
- latent columns past the individual's latent size are zero (and their kernel rows too);
- discriminator steps: an inner loop of the chunk's largest count; sub-step ``k`` updates
  only individuals with ``k <`` their steps, and only those optimizers' step counters advance;
- optimizers: Keras 3 Adam (β₁ 0.9, β₂ 0.999, ε 10⁻⁷), RMSprop (ρ 0.9, ε 10⁻⁷) and SGD
  update rules, chosen per individual, each with its own learning rates, applied to one flat
  ``[K, P]`` parameter vector per role.

Noise is ``deatf_gan.training.hashed_normal`` keyed by each individual's noise seed and
draw number, so the per-individual path (``train_pair``) sees the same latent batches.
Dropout masks come from ``hashed_uniform`` (keep where ``u > rate``, scale ``1/(1-rate)``);
the Keras path's ``Dropout`` layers draw other masks, so parity holds without dropout and
dropout is tested by its statistics (``tests/test_batched.py``).

Variables persist per superset and ``K``: a new chunk assigns its initial weights (the
Keras initializers called with the same seeds and shapes as ``deatf_gan.build``) into them,
so a run traces once per shape bucket and memory does not grow with evaluations.
``BatchedEvaluation`` runs a chunk as several calls of a few individuals each
(``call_population``; one each in the built-in spaces, padded to its batch bucket): a call
pays for its largest minibatch and discriminator-step count in all of its individuals.
The calls run in lanes (threads, one per core the process has), each lane with its own
variables and all of them one compiled function: one call keeps about one core busy.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from deatf_gan import xla_cache
from deatf_gan.build import _INITIALIZER_CLASSES, layer_seeds, trained_pair
from deatf_gan.datasets import Dataset
from deatf_gan.evaluation import (
    EvalContext,
    EvalResult,
    TrainedPair,
    _held_out,
    check_result,
    eval_gan,
    evaluate_safely,
    fitness_functions,
    fitness_judged_generator_loss,
    held_out_diagnostics,
    latent_stream,
)
from deatf_gan.genome import GANGenome, MLPDescriptor, SearchSpace
from deatf_gan.judge import judged_generator_losses
from deatf_gan.shapes import batch_bucket, training_cost
from deatf_gan.training import hashed_normal, hashed_uniform, training_schedule

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
# relu, leaky_relu, linear and elu are one family: z for z > 0, else q·z + r·(exp(z) - 1), so a
# layer mixing them costs one exp and one select rather than one activation each (Keras values:
# relu(z) = 0, leaky_relu 0.2·z, elu exp(z) - 1 for z <= 0; linear z)
PIECEWISE: dict[str, tuple[float, float]] = {"relu": (0.0, 0.0), "leaky_relu": (0.2, 0.0), "linear": (1.0, 0.0), "elu": (0.0, 1.0)}
ZERO_AT_ZERO = {"relu", "elu", "leaky_relu", "selu", "tanh", "swish", "linear"}  # padded units stay exact zeros
OPTIMIZER_NAMES = ("adam", "rmsprop", "sgd")
BN_MOMENTUM, BN_EPSILON = 0.99, 1e-3
ADAM_BETA_1, ADAM_BETA_2, RMSPROP_RHO, OPTIMIZER_EPSILON = 0.9, 0.999, 0.9, 1e-7
NORMALIZATION_EPSILON = 1e-7  # keras.backend.epsilon(): Normalization divides by max(sqrt(var), ε)


@dataclass(frozen=True)
class NetworkShape:
    """One role's superset: ``layers`` hidden layers of ``units`` units."""

    input_dim: int
    output_dim: int
    layers: int
    units: int
    activations: tuple[str, ...]
    batch_norm: bool  # whether any layer may normalise (else BN is not even computed)
    dropout: bool  # whether any layer may drop units


@dataclass(frozen=True)
class Superset:
    """The padded shapes a chunk trains in; one traced function per Superset."""

    generator: NetworkShape
    discriminator: NetworkShape
    population: int  # K, individuals per call
    batch: int
    latent: int
    discriminator_steps: int
    output_activation: str
    standardize: bool
    jit_compile: bool

    @classmethod
    def covering(
        cls, genomes: Sequence[GANGenome], dataset: Dataset, space: SearchSpace | None, population: int, jit_compile: bool
    ) -> "Superset":
        """The space's maxima (so one trace serves a whole run), widened to any genome beyond them."""

        def network(role: str, input_dim: int, output_dim: int) -> NetworkShape:
            layers = [layer for g in genomes for layer in g.network(role).layers]
            depth = max(len(g.network(role).layers) for g in genomes)
            units = max(layer.units for layer in layers)
            activations = {layer.activation for layer in layers}
            batch_norm = any(layer.batch_norm for layer in layers)
            dropout = any(layer.dropout > 0 for layer in layers)
            if space is not None:
                net = space.network(role)
                depth, units = max(depth, net.max_layers), max(units, net.units.high)
                activations |= set(net.activation.options)
                batch_norm |= True in net.batch_norm.options
                dropout |= net.dropout.high > 0
            ordered = tuple(name for name in ACTIVATION_FUNCTIONS if name in activations)
            return NetworkShape(input_dim, output_dim, depth, units, ordered, batch_norm, dropout)

        hyper = [g.hyperparameters for g in genomes]
        batch = max(h.batch_size for h in hyper)
        latent = max(h.latent_dim for h in hyper)
        d_steps = max(h.discriminator_steps for h in hyper)
        if space is not None:
            hs = space.hyperparameters
            batch = max(batch, *hs.batch_size.options)
            latent, d_steps = max(latent, hs.latent_dim.high), max(d_steps, hs.discriminator_steps.high)
        return cls(
            generator=network("generator", latent, dataset.dim),
            discriminator=network("discriminator", dataset.dim, 1),
            population=population,
            batch=batch,
            latent=latent,
            discriminator_steps=d_steps,
            output_activation=dataset.output_activation,
            standardize=dataset.standardize,
            jit_compile=jit_compile,
        )


def _zeros(*shape) -> tf.Variable:
    return tf.Variable(tf.zeros(shape), trainable=False)


def _where(mask, new, old):
    """``new`` where ``mask[k]`` (one flag per individual), else ``old``."""
    return tf.where(tf.reshape(mask, [-1] + [1] * (len(new.shape) - 1)), new, old)


class _Params(NamedTuple):
    """One role's trainable tensors for K individuals (views of the flat ``[K, P]`` vector while training)."""

    kernels: list
    biases: list
    gammas: list
    betas: list


class _Genes(NamedTuple):
    """Per-layer genome tensors, read and sliced once per call rather than once per use."""

    units: list  # [K, 1, U] unit masks
    layer_on: list  # [K] bool
    activation: list  # per layer, one [K, 1, 1] bool per activation of the superset
    choice: list  # per layer, [K] int32: the index of the individual's activation in the superset's
    slope: list  # per layer, [K, 1, 1]: q of the piecewise family (see PIECEWISE)
    exp_weight: list  # per layer, [K, 1, 1]: r of the piecewise family
    bn_on: list  # [K] bool
    bias_on: list  # [K, 1]: 0 where batch norm follows (Keras builds no bias there)
    dropout: list  # [K, 1, 1, 1] rates


class _Rules(NamedTuple):
    """Per-individual optimizer choice and learning rate, ``[K, 1]`` each."""

    learning_rate: tf.Tensor
    adam: tf.Tensor
    rms: tf.Tensor


class _RoleState(NamedTuple):
    """One role's training state as loop tensors: flat parameters and optimizer slots ``[K, P]``,
    step counters ``[K]``, and the batch-norm moving statistics ``([K, U] per layer, ...)``."""

    parameters: tf.Tensor
    first_moment: tf.Tensor
    second_moment: tf.Tensor
    iterations: tf.Tensor
    moving: tuple

    def flat(self) -> list:
        """The tensors in ``_Network.save`` order."""
        return [self.parameters, self.first_moment, self.second_moment, self.iterations, *self.moving[0], *self.moving[1]]


class _Network:
    """One role's superset variables for K individuals, with optimizer slots and genome masks.

    Weights are stored per layer (for loading and export); training reads them once into one
    flat ``[K, P]`` vector per role, so the optimizer rules and their per-individual selection
    are a handful of ops on that vector instead of a handful per variable, and writes them back
    after the last step.
    """

    def __init__(self, shape: NetworkShape, population: int):
        k, n_layers, units = population, shape.layers, shape.units
        self.shape, self.population = shape, population
        inputs = [shape.input_dim] + [units] * (n_layers - 1)
        self.kernels = [_zeros(k, i, units) for i in inputs] + [_zeros(k, units, shape.output_dim)]
        self.biases = [_zeros(k, units) for _ in range(n_layers)] + [_zeros(k, shape.output_dim)]
        self.gammas = [_zeros(k, units) for _ in range(n_layers)] if shape.batch_norm else []
        self.betas = [_zeros(k, units) for _ in range(n_layers)] if shape.batch_norm else []
        self.moving_means = [_zeros(k, units) for _ in range(n_layers)] if shape.batch_norm else []
        self.moving_variances = [_zeros(k, units) for _ in range(n_layers)] if shape.batch_norm else []
        self.sizes = [math.prod(v.shape[1:]) for v in self.trainables]
        self.first_moment = _zeros(k, sum(self.sizes))
        self.second_moment = _zeros(k, sum(self.sizes))
        self.iterations = _zeros(k)
        # genome masks
        self.unit_mask = _zeros(k, n_layers, units)
        self.layer_on = _zeros(k, n_layers)
        self.activation = _zeros(k, n_layers, len(shape.activations))
        self.bn_on = _zeros(k, n_layers)
        self.dropout = _zeros(k, n_layers)
        self.learning_rate = _zeros(k)
        self.optimizer = _zeros(k, len(OPTIMIZER_NAMES))

    @property
    def trainables(self) -> list[tf.Variable]:
        return self.kernels + self.biases + self.gammas + self.betas

    def load(self, descriptors: Sequence[MLPDescriptor], weights: Sequence[list[np.ndarray]], input_dims, learning_rates, optimizers):
        """Assign K individuals' genomes and Keras-ordered initial weights; zero optimizer state."""
        s, k = self.shape, len(descriptors)
        masks = {
            "unit_mask": np.zeros((k, s.layers, s.units), np.float32),
            "layer_on": np.zeros((k, s.layers), np.float32),
            "activation": np.zeros((k, s.layers, len(s.activations)), np.float32),
            "bn_on": np.zeros((k, s.layers), np.float32),
            "dropout": np.zeros((k, s.layers), np.float32),
        }
        kernels = [np.zeros((k, *v.shape[1:]), np.float32) for v in self.kernels]
        biases = [np.zeros((k, *v.shape[1:]), np.float32) for v in self.biases]
        gammas = [np.zeros((k, s.units), np.float32) for _ in self.gammas]
        betas = [np.zeros((k, s.units), np.float32) for _ in self.betas]
        means = [np.zeros((k, s.units), np.float32) for _ in self.moving_means]
        variances = [np.ones((k, s.units), np.float32) for _ in self.moving_variances]
        for i, (descriptor, values) in enumerate(zip(descriptors, weights)):
            values = list(values)
            width = input_dims[i]
            for j, layer in enumerate(descriptor.layers):
                kernels[j][i, :width, : layer.units] = values.pop(0)
                if not layer.batch_norm:
                    biases[j][i, : layer.units] = values.pop(0)
                else:
                    for target in (gammas, betas, means, variances):
                        target[j][i, : layer.units] = values.pop(0)
                masks["unit_mask"][i, j, : layer.units] = 1.0
                masks["layer_on"][i, j] = 1.0
                masks["activation"][i, j, s.activations.index(layer.activation)] = 1.0
                masks["bn_on"][i, j] = float(layer.batch_norm)
                masks["dropout"][i, j] = layer.dropout
                width = layer.units
            kernels[-1][i, :width] = values.pop(0)
            biases[-1][i] = values.pop(0)
        for variables, values in ((self.kernels, kernels), (self.biases, biases), (self.gammas, gammas),
                                  (self.betas, betas), (self.moving_means, means), (self.moving_variances, variances)):
            for variable, value in zip(variables, values):
                variable.assign(value)
        for name, value in masks.items():
            getattr(self, name).assign(value)
        for variable in (self.first_moment, self.second_moment, self.iterations):
            variable.assign(tf.zeros_like(variable))
        self.learning_rate.assign(np.asarray(learning_rates, np.float32))
        self.optimizer.assign(np.eye(len(OPTIMIZER_NAMES), dtype=np.float32)[[OPTIMIZER_NAMES.index(o) for o in optimizers]])

    def export(self, index: int, descriptor: MLPDescriptor, input_dim: int) -> list[np.ndarray]:
        """Individual ``index``'s weights in ``keras.Model.get_weights()`` order."""
        values, width = [], input_dim
        for j, layer in enumerate(descriptor.layers):
            values.append(self.kernels[j][index, :width, : layer.units].numpy())
            if not layer.batch_norm:
                values.append(self.biases[j][index, : layer.units].numpy())
            else:
                values += [v[j][index, : layer.units].numpy() for v in (self.gammas, self.betas, self.moving_means, self.moving_variances)]
            width = layer.units
        return values + [self.kernels[-1][index, :width].numpy(), self.biases[-1][index].numpy()]

    # --- the compiled math -------------------------------------------------------------------

    def parameters(self) -> _Params:
        """The stored weights as tensors (scoring and tests)."""
        return _Params(*(list(group) for group in (self.kernels, self.biases, self.gammas, self.betas)))

    def unflatten(self, flat) -> _Params:
        """Per-layer views of a flat ``[K, P]`` parameter vector (its gradient is one concat)."""
        pieces = [tf.reshape(piece, v.shape) for piece, v in zip(tf.split(flat, self.sizes, axis=1), self.trainables)]
        n_kernels, n_norm = len(self.kernels), len(self.gammas)
        kernels, biases = pieces[:n_kernels], pieces[n_kernels : 2 * n_kernels]
        rest = pieces[2 * n_kernels :]
        return _Params(kernels, biases, rest[:n_norm], rest[n_norm:])

    def genes(self) -> _Genes:
        layers, names = range(self.shape.layers), self.shape.activations
        onehot = [[self.activation[:, j, i, None, None] for i in range(len(names))] for j in layers]

        def family(coefficient: int) -> list:
            return [sum(o * PIECEWISE[n][coefficient] for o, n in zip(onehot[j], names) if n in PIECEWISE) for j in layers]

        return _Genes(
            units=[self.unit_mask[:, j, None, :] for j in layers],
            layer_on=[self.layer_on[:, j] > 0 for j in layers],
            activation=[[o > 0 for o in onehot[j]] for j in layers],
            choice=[tf.argmax(self.activation[:, j], axis=1, output_type=tf.int32) for j in layers],
            slope=family(0),
            exp_weight=family(1),
            bn_on=[self.bn_on[:, j] > 0 for j in layers],
            bias_on=[1.0 - self.bn_on[:, j, None] for j in layers],
            dropout=[self.dropout[:, j, None, None, None] for j in layers],
        )

    def rules(self) -> _Rules:
        return _Rules(self.learning_rate[:, None], self.optimizer[:, 0, None] > 0, self.optimizer[:, 1, None] > 0)

    def state(self) -> _RoleState:
        """The variables as one role's loop state."""
        flat = tf.concat([tf.reshape(v, [self.population, -1]) for v in self.trainables], axis=1)
        moving = ([tf.convert_to_tensor(v) for v in self.moving_means], [tf.convert_to_tensor(v) for v in self.moving_variances])
        return _RoleState(flat, tf.convert_to_tensor(self.first_moment), tf.convert_to_tensor(self.second_moment),
                          tf.convert_to_tensor(self.iterations), moving)

    @property
    def state_size(self) -> int:
        """How many tensors ``_RoleState.flat`` gives."""
        return 4 + len(self.moving_means) + len(self.moving_variances)

    def save(self, flat: Sequence) -> None:
        """Assign a training state given as ``_RoleState.flat()``."""
        parameters, first_moment, second_moment, iterations, *moving = flat
        for variable, value in zip(self.trainables, tf.split(parameters, self.sizes, axis=1)):
            variable.assign(tf.reshape(value, variable.shape))
        self.first_moment.assign(first_moment)
        self.second_moment.assign(second_moment)
        self.iterations.assign(iterations)
        for variable, value in zip(self.moving_means + self.moving_variances, moving):
            variable.assign(value)

    def forward(self, x, training: bool, sample_mask=None, count=None, update=None, noise=None, moving=None,
                params: _Params | None = None, genes: _Genes | None = None, groups: int = 1):
        """Logits/outputs ``[K, B, out]``; in training mode also the new moving statistics.

        ``x`` may hold ``groups`` separate calls side by side (``[K, groups·B, in]``, as the
        discriminator's fake and real batches): batch statistics, moving-statistic updates
        (in group order, as successive Keras calls) and dropout streams are per group, the
        matrix products shared. ``noise = (seeds, draws, stream or one stream per group)``
        keys the dropout masks; ``moving`` carries the moving statistics of an earlier call in
        the same step (Keras updates them per call).
        """
        s, k = self.shape, self.population
        params = params if params is not None else self.parameters()
        genes = genes if genes is not None else self.genes()
        means = list(moving[0]) if moving is not None else [tf.convert_to_tensor(v) for v in self.moving_means]
        variances = list(moving[1]) if moving is not None else [tf.convert_to_tensor(v) for v in self.moving_variances]

        def normalise(j: int, z, mean_j, variance_j, on):
            """Layer ``j``'s batch norm of ``z`` (training: batch statistics over each group's
            own samples, and the moving statistics updated per group); ``on`` (``[K]``) leaves
            ``z`` exactly as it is, and the statistics unchanged, where the layer has none
            (None: every individual has it)."""
            if training:
                grouped = tf.reshape(z, [k, groups, -1, s.units])
                weights = sample_mask[:, None, :, None]
                mean = tf.reduce_sum(grouped * weights, axis=2) / count[:, None, None]
                centred = (grouped - tf.stop_gradient(mean)[:, :, None, :]) * weights
                variance = tf.reduce_sum(tf.square(centred), axis=2) / count[:, None, None]
                apply = update if on is None else tf.logical_and(update, on)
                for group in range(groups):
                    mean_j = _where(apply, mean_j * BN_MOMENTUM + mean[:, group] * (1.0 - BN_MOMENTUM), mean_j)
                    variance_j = _where(apply, variance_j * BN_MOMENTUM + variance[:, group] * (1.0 - BN_MOMENTUM), variance_j)
            else:
                grouped, mean, variance = z[:, None], mean_j[:, None], variance_j[:, None]
            inverse = tf.math.rsqrt(variance + BN_EPSILON) * params.gammas[j][:, None, :]
            shift = params.betas[j][:, None, :] - mean * inverse
            if on is not None:  # y = z·1 + 0 (exactly z) where the layer has no batch norm: a select
                shift = tf.where(on[:, None, None], shift, 0.0)  # on [K, groups, U], not on every sample
                inverse = tf.where(on[:, None, None], inverse, 1.0)
            return tf.reshape(grouped * inverse[:, :, None, :] + shift[:, :, None, :], tf.shape(z)), mean_j, variance_j

        def layer(j: int, h, mean_j, variance_j):
            """Hidden layer ``j``. One individual (K = 1) runs only what its genome has, taken
            with conditionals: batch norm if it has it, its own activation. Several compute
            every option and select per individual."""
            bias = params.biases[j] * genes.bias_on[j] if s.batch_norm else params.biases[j]  # none before BN
            z = tf.einsum("kbi,kiu->kbu", h, params.kernels[j]) + bias[:, None, :]
            if s.batch_norm and k == 1:
                z, mean_j, variance_j = tf.cond(genes.bn_on[j][0], lambda: normalise(j, z, mean_j, variance_j, None),
                                                lambda: (z, mean_j, variance_j))
            elif s.batch_norm:
                z, mean_j, variance_j = normalise(j, z, mean_j, variance_j, genes.bn_on[j])
            if k == 1 and len(s.activations) > 1:
                a = tf.switch_case(genes.choice[j][0], [functools.partial(_in_branch, ACTIVATION_FUNCTIONS[name], z) for name in s.activations])
            else:
                a = _activate(z, s.activations, genes, j)
            if training and s.dropout:
                seeds, draws, streams = noise
                grouped = tf.reshape(a, [k, groups, -1, s.units])
                stream = tf.reshape(tf.constant(streams if isinstance(streams, (tuple, list)) else [streams]), [1, -1, 1, 1])
                rows = tf.range(tf.shape(grouped)[2])[None, None, :, None]
                cols = tf.range(s.units)[None, None, None, :]
                u = hashed_uniform(seeds[:, None, None, None], draws[:, None, None, None], stream * 64 + j, rows, cols)
                rate = genes.dropout[j]
                a = tf.reshape(tf.where(u > rate, grouped / (1.0 - rate), 0.0), tf.shape(a))
            if not set(s.activations) <= ZERO_AT_ZERO:
                a = a * genes.units[j]  # else padded units are exact zeros already (zero kernel columns, bias, γ, β)
            return a, mean_j, variance_j

        h = x
        for j in range(s.layers):
            statistics = (means[j], variances[j]) if s.batch_norm else (tf.zeros([k, s.units]),) * 2
            if j == 0:
                a, mean_j, variance_j = layer(j, h, *statistics)
            elif k == 1:  # an inactive layer passes its input through, and is not computed
                a, mean_j, variance_j = tf.cond(genes.layer_on[j][0], functools.partial(layer, j, h, *statistics),
                                                lambda: (h, *statistics))
            else:
                a, mean_j, variance_j = layer(j, h, *statistics)
                a = _where(genes.layer_on[j], a, h)
            h = a
            if s.batch_norm:
                means[j], variances[j] = mean_j, variance_j
        out = tf.einsum("kbu,kuo->kbo", h, params.kernels[-1]) + params.biases[-1][:, None, :]
        return out, (means, variances)

    @staticmethod
    def optimize(state: _RoleState, grads, active, rules: _Rules) -> _RoleState:
        """One Keras-3 optimizer step per active individual (its own rule and learning rate) on
        the flat parameters: Adam ``m += (g - m)(1 - β₁)``, ``v += (g² - v)(1 - β₂)``,
        ``θ -= α m / (√v + ε)`` with ``α = lr √(1 - β₂ᵗ) / (1 - β₁ᵗ)``; RMSprop
        ``v = ρ v + (1 - ρ) g²``, ``θ -= lr g / √(v + ε)``; SGD ``θ -= lr g``."""
        m, v, lr = state.first_moment, state.second_moment, rules.learning_rate
        t = state.iterations + 1.0
        alpha = lr * tf.sqrt(1.0 - tf.pow(ADAM_BETA_2, t[:, None])) / (1.0 - tf.pow(ADAM_BETA_1, t[:, None]))
        m_adam = m + (grads - m) * (1.0 - ADAM_BETA_1)
        v_adam = v + (tf.square(grads) - v) * (1.0 - ADAM_BETA_2)
        v_rms = RMSPROP_RHO * v + (1.0 - RMSPROP_RHO) * tf.square(grads)
        step_adam = m_adam * alpha / (tf.sqrt(v_adam) + OPTIMIZER_EPSILON)
        step_rms = lr * grads / tf.sqrt(v_rms + OPTIMIZER_EPSILON)
        step = tf.where(rules.adam, step_adam, tf.where(rules.rms, step_rms, grads * lr))
        on = active[:, None]
        return _RoleState(
            parameters=tf.where(on, state.parameters - step, state.parameters),
            first_moment=tf.where(tf.logical_and(on, rules.adam), m_adam, m),
            second_moment=tf.where(on, tf.where(rules.adam, v_adam, tf.where(rules.rms, v_rms, v)), v),
            iterations=state.iterations + tf.cast(active, tf.float32),
            moving=state.moving,
        )


def _activate(z, names: tuple[str, ...], genes: _Genes, layer: int):
    """Each individual's own activation of layer ``layer``: the piecewise family (PIECEWISE) in one
    expression, every other activation of the superset selected per individual."""
    if len(names) == 1:
        return ACTIVATION_FUNCTIONS[names[0]](z)
    family = [name for name in names if name in PIECEWISE]
    others = [(name, on) for name, on in zip(names, genes.activation[layer]) if len(family) < 2 or name not in PIECEWISE]
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


def _in_branch(function: Callable, z):
    """``function(z)`` on the branch's own copy of ``z``: an activation with a custom gradient
    (swish) otherwise closes over the outer tensor, which a conditional's gradient cannot
    resolve (TensorFlow raises an AssertionError while taking it)."""
    return function(tf.identity(z))


def _sigmoid_xent(labels_value: float, logits):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), labels_value), logits=logits)


def _masked_mean(values, sample_mask, count):
    return tf.reduce_sum(values * sample_mask, axis=1) / count


def _public(holder) -> list[tuple[str, object]]:
    return [(name, value) for name, value in sorted(vars(holder).items()) if not name.startswith("_")]


def _variables(holder) -> list[tf.Variable]:
    """Every variable an object holds in its public attributes (variables, lists of them,
    networks), in name order."""
    found = []
    for _, value in _public(holder):
        if isinstance(value, tf.Variable):
            found.append(value)
        elif isinstance(value, list) and value and all(isinstance(v, tf.Variable) for v in value):
            found.extend(value)
        elif isinstance(value, _Network):
            found.extend(_variables(value))
    return found


def _with_variables(holder, variables: list) -> object:
    """A shallow copy of ``holder`` whose variables are ``variables`` (in ``_variables`` order)."""
    copy, rest = object.__new__(type(holder)), list(variables)
    copy.__dict__.update(vars(holder))
    for name, value in _public(holder):
        if isinstance(value, tf.Variable):
            value = rest.pop(0)
        elif isinstance(value, list) and value and all(isinstance(v, tf.Variable) for v in value):
            value, rest = rest[: len(value)], rest[len(value) :]
        elif isinstance(value, _Network):
            count = len(_variables(value))
            value, rest = _with_variables(value, rest[:count]), rest[count:]
        setattr(copy, name, value)
    return copy


class _Functions:
    """The compiled functions of one Superset, shared by all its engines: each call takes the
    values of the engine's variables as its first argument, so lanes with their own
    variables run one compiled function (one trace and one compilation per superset and
    machine), and the function reads and writes no variable, so it can be stored as one
    StableHLO module (``xla_cache``)."""

    def __init__(self, template: "_Engine"):
        def bound(method: str) -> Callable:
            return lambda values, *args: getattr(_with_variables(template, values), method)(*args)

        jit, shapes = template.superset.jit_compile, repr(template.superset)
        self.train = xla_cache.CompiledFunction(bound("_train"), jit, key=f"batched._train {shapes}")
        self.score_and_generate = xla_cache.CompiledFunction(bound("_score_and_generate"), jit, key=f"batched._score_and_generate {shapes}")
        self.generate = xla_cache.CompiledFunction(bound("_generate_samples"), jit, key=f"batched._generate_samples {shapes}")


_FUNCTIONS: dict[Superset, _Functions] = {}


class _Engine:
    """One lane's variables for a Superset, and the superset's traced training and scoring functions."""

    def __init__(self, superset: Superset):
        self.superset = superset
        k = superset.population
        self.generator = _Network(superset.generator, k)
        self.discriminator = _Network(superset.discriminator, k)
        self.sample_mask = _zeros(k, superset.batch)
        self.latent_mask = _zeros(k, superset.latent)
        self.discriminator_steps = tf.Variable(tf.ones(k, tf.int32), trainable=False)
        self.noise_seeds = tf.Variable(tf.zeros(k, tf.int64), trainable=False)
        dim = superset.generator.output_dim
        self.data_mean = _zeros(dim)
        self.data_scale = _zeros(dim)
        self._variables = _variables(self)
        self._functions = _recent(_FUNCTIONS, superset, lambda: _Functions(self))  # engines keep theirs

    def train(self, data, batches, first, last, latent_stddev):
        """Run ``_train`` on the variables' values and assign the trained state back."""
        g_loss, d_loss, *state = self._functions.train(self._values(), data, batches, first, last, latent_stddev)
        self.generator.save(state[: self.generator.state_size])
        self.discriminator.save(state[self.generator.state_size :])
        return g_loss, d_loss

    def _values(self) -> list[tf.Tensor]:
        return [variable.value() for variable in self._variables]

    def score(self, latent, real):
        """Inference-mode logits of generated and real held-out samples, ``[K, E]`` each."""
        return self.score_and_generate(latent, real)[:2]

    def score_and_generate(self, latent, real):
        return self._functions.score_and_generate(self._values(), latent, real)

    def generate(self, latent):
        return self._functions.generate(self._values(), latent)

    def _generate_samples(self, latent):
        return self._generate(latent, False)[0]

    def _generate(self, z, training: bool, **kwargs):
        out, moving = self.generator.forward(z, training, **kwargs)
        if self.superset.output_activation == "tanh":
            out = tf.tanh(out)
        if self.superset.standardize:
            out = self.data_mean + out * self.data_scale
        return out, moving

    def _discriminate(self, x, training: bool, **kwargs):
        if self.superset.standardize:
            x = (x - self.data_mean) / self.data_scale
        logits, moving = self.discriminator.forward(x, training, **kwargs)
        return logits[..., 0], moving

    def _train(self, data, batches, first, last, latent_stddev):
        """Generator updates ``first..last-1``, each after ``discriminator_steps`` D updates, as in
        ``deatf_gan.training.train_pair``; returns the last step's ``(L_G, L_D)`` per individual.
        ``batches[:, (step - first) · D + sub]`` holds sub-step ``sub``'s minibatch rows, ``D``
        the superset's discriminator steps.

        The D updates are an inner loop over the chunk's largest ``discriminator_steps`` (one
        copy of the update in the graph, not one per possible sub-step); each sub-step runs
        the discriminator once on its fake and real batches side by side. Weights, optimizer
        slots and moving statistics are loop tensors, read before the loop and returned after
        it (``_RoleState.flat`` of the generator, then of the discriminator), for ``train`` to
        assign: the compiled function reads no variable and writes none.
        """
        s = self.superset
        G, D = self.generator, self.discriminator
        sample_mask = tf.convert_to_tensor(self.sample_mask)
        count = tf.reduce_sum(sample_mask, axis=1)
        latent_mask = tf.convert_to_tensor(self.latent_mask)[:, None, :]
        d_steps = tf.convert_to_tensor(self.discriminator_steps)
        seeds = tf.convert_to_tensor(self.noise_seeds)
        g_genes, d_genes, g_rules, d_rules = G.genes(), D.genes(), G.rules(), D.rules()
        rows = tf.range(s.batch)[None, :, None]
        cols = tf.range(s.latent)[None, None, :]
        # Every individual takes each generator step. Not tf.ones: a constant is copied into the
        # loop under a name TensorFlow numbers differently from process to process, and XLA
        # then compiled the same stored graph again in every other process.
        always = d_steps >= 0

        def latent(draw):
            return latent_stddev * hashed_normal(seeds[:, None, None], draw[:, None, None], rows, cols) * latent_mask

        def discriminator_update(step, g_params, sub, d_loss, g_moving, d_state):
            active = sub < d_steps
            draw = step * (d_steps + 1) + sub
            real = tf.gather(data, tf.gather(batches, (step - first) * s.discriminator_steps + sub, axis=1))
            common = dict(sample_mask=sample_mask, count=count, update=active)
            fake, g_moving = self._generate(latent(draw), True, noise=(seeds, draw, 0), moving=g_moving,
                                            params=g_params, genes=g_genes, **common)
            with tf.GradientTape() as tape:
                tape.watch(d_state.parameters)
                logits, d_moving = self._discriminate(tf.concat([fake, real], axis=1), True, noise=(seeds, draw, (1, 2)),
                                                      moving=d_state.moving, params=D.unflatten(d_state.parameters),
                                                      genes=d_genes, groups=2, **common)
                fake_logits, real_logits = logits[:, : s.batch], logits[:, s.batch :]
                loss = _masked_mean(_sigmoid_xent(1.0, real_logits), sample_mask, count) + _masked_mean(
                    _sigmoid_xent(0.0, fake_logits), sample_mask, count
                )
                total = tf.reduce_sum(loss)  # individuals are independent: ∂total/∂θ_k = ∂loss_k/∂θ_k
            grads = tape.gradient(total, d_state.parameters, unconnected_gradients="zero")
            d_state = D.optimize(d_state, grads, active, d_rules)._replace(moving=d_moving)
            return sub + 1, tf.where(active, loss, d_loss), g_moving, d_state

        def body(step, g_loss, d_loss, g_state, d_state):
            _, d_loss, g_moving, d_state = tf.while_loop(
                lambda sub, *_: sub < max_sub,
                functools.partial(discriminator_update, step, G.unflatten(g_state.parameters)),
                (tf.constant(0), d_loss, g_state.moving, d_state),
            )
            draw = step * (d_steps + 1) + d_steps
            common = dict(sample_mask=sample_mask, count=count, update=always)
            with tf.GradientTape() as tape:
                tape.watch(g_state.parameters)
                fake, g_moving = self._generate(latent(draw), True, noise=(seeds, draw, 3), moving=g_moving,
                                                params=G.unflatten(g_state.parameters), genes=g_genes, **common)
                fake_logits, d_moving = self._discriminate(fake, True, noise=(seeds, draw, 4), moving=d_state.moving,
                                                           params=D.unflatten(d_state.parameters), genes=d_genes, **common)
                g_loss = _masked_mean(_sigmoid_xent(1.0, fake_logits), sample_mask, count)
                total = tf.reduce_sum(g_loss)
            grads = tape.gradient(total, g_state.parameters, unconnected_gradients="zero")
            g_state = G.optimize(g_state, grads, always, g_rules)._replace(moving=g_moving)
            return step + 1, g_loss, d_loss, g_state, d_state._replace(moving=d_moving)

        max_sub = tf.reduce_max(d_steps)
        zero = tf.zeros([s.population])
        _, g_loss, d_loss, g_state, d_state = tf.while_loop(
            lambda step, *_: step < last, body, (first, zero, zero, G.state(), D.state())
        )
        return (g_loss, d_loss, *g_state.flat(), *d_state.flat())

    def _score_and_generate(self, latent, real):
        """The two logits of ``_score`` and the generated samples ``[K, E, dim]``."""
        fake, _ = self._generate(latent, False)
        fake_logits, _ = self._discriminate(fake, False)
        real_logits, _ = self._discriminate(real, False)
        return fake_logits, real_logits, fake

    def load(self, genomes: Sequence[GANGenome], seeds: Sequence[int], dataset: Dataset, steps: int) -> np.ndarray:
        """Assign a chunk (padded to K with copies of its first member); return the batch table
        ``[K, steps · D, batch]`` (row ``step · D + sub``), steps padded to whole segments."""
        s = self.superset
        k = s.population
        genomes = list(genomes) + [genomes[0]] * (k - len(genomes))
        seeds = list(seeds) + [seeds[0]] * (k - len(seeds))
        hyper = [g.hyperparameters for g in genomes]
        initial = [initial_weights(g, dataset, seed) for g, seed in zip(genomes, seeds)]
        self.generator.load([g.generator for g in genomes], [w[0] for w in initial], [h.latent_dim for h in hyper],
                            [h.generator_learning_rate for h in hyper], [h.optimizer for h in hyper])
        self.discriminator.load([g.discriminator for g in genomes], [w[1] for w in initial], [dataset.dim] * k,
                                [h.discriminator_learning_rate for h in hyper], [h.optimizer for h in hyper])
        table = np.zeros((k, -(-steps // SEGMENT_STEPS) * SEGMENT_STEPS, s.discriminator_steps, s.batch), np.int32)
        noise_seeds = []
        for i, (h, seed) in enumerate(zip(hyper, seeds)):
            batches, noise_seed = training_schedule(len(dataset.samples), h, steps, seed)
            table[i, :steps, : h.discriminator_steps, : h.batch_size] = batches.reshape(steps, h.discriminator_steps, h.batch_size)
            noise_seeds.append(noise_seed)
        self.noise_seeds.assign(np.asarray(noise_seeds, np.int64))
        self.sample_mask.assign((np.arange(s.batch)[None, :] < np.array([h.batch_size for h in hyper])[:, None]).astype(np.float32))
        self.latent_mask.assign((np.arange(s.latent)[None, :] < np.array([h.latent_dim for h in hyper])[:, None]).astype(np.float32))
        self.discriminator_steps.assign(np.array([h.discriminator_steps for h in hyper], np.int32))
        self.data_mean.assign(dataset.mean.astype(np.float32) if s.standardize else np.zeros(dataset.dim, np.float32))
        scale = np.maximum(np.sqrt(dataset.variance), NORMALIZATION_EPSILON) if s.standardize else np.ones(dataset.dim)
        self.data_scale.assign(scale.astype(np.float32))
        return table.reshape(k, -1, s.batch)

    def export(self, index: int, genome: GANGenome, dataset: Dataset) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Trained weights of chunk member ``index`` as ``(generator, discriminator)`` Keras weight lists."""
        return (
            self.generator.export(index, genome.generator, genome.hyperparameters.latent_dim),
            self.discriminator.export(index, genome.discriminator, dataset.dim),
        )


def initial_weights(genome: GANGenome, dataset: Dataset, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The initial weights ``deatf_gan.build.build_pair(genome, dataset, seed)`` would have, in
    ``get_weights()`` order, without building models: each Keras initializer called with the
    same seed and shape (Keras 3 initializers with an integer seed are stateless)."""

    def network(role: str, input_dim: int, output_dim: int) -> list[np.ndarray]:
        descriptor = genome.network(role)
        seeds = layer_seeds(seed, role, len(descriptor.layers))
        values, width = [], input_dim
        for layer, layer_seed in zip(descriptor.layers, seeds):
            values.append(np.asarray(_INITIALIZER_CLASSES[layer.initializer](seed=layer_seed)((width, layer.units))))
            zeros, ones = np.zeros(layer.units, np.float32), np.ones(layer.units, np.float32)
            # Dense bias, or (no bias before batch norm) gamma, beta, moving mean, moving variance
            values += [ones, zeros, zeros, ones] if layer.batch_norm else [zeros]
            width = layer.units
        output = _INITIALIZER_CLASSES["glorot_uniform"](seed=seeds[-1])((width, output_dim))
        return values + [np.asarray(output), np.zeros(output_dim, np.float32)]

    return network("generator", genome.hyperparameters.latent_dim, dataset.dim), network("discriminator", dataset.dim, 1)


_ENGINES: dict[tuple[Superset, int], _Engine] = {}
_ENGINES_LOCK = threading.Lock()
_MAX_ENGINES = 8


def engine_for(superset: Superset, lane: int = 0) -> _Engine:
    """The engine of a superset in one lane (lanes train at the same time, each in its own
    variables), kept per process (least recently used dropped beyond eight)."""
    with _ENGINES_LOCK:
        return _recent(_ENGINES, (superset, lane), lambda: _Engine(superset))


def _recent(table: dict, key, make: Callable):
    """``table[key]``, made if missing, as the most recently used entry; the least recently
    used beyond _MAX_ENGINES are dropped (their compiled functions and variables freed)."""
    value = table.pop(key, None) or make()
    table[key] = value
    while len(table) > _MAX_ENGINES:
        table.pop(next(iter(table)))
    return value


def population_bucket(count: int) -> int:
    """K for a chunk of ``count``: the next power of two (at least 4), so few shapes are traced."""
    return max(4, 1 << max(0, math.ceil(math.log2(count))))


# steps per compiled call: the batch table's shape never depends on a run's steps. Each call
# reads the engine's variables and assigns the trained state back (eager ops, under the GIL
# in a lane): 32 toy genomes of 1,000 steps in two lanes took 8.9-9.5 s in calls of 1,000
# steps against 11.8-15.5 s in calls of 100 (docs/performance.md, eighth round)
SEGMENT_STEPS = 1000
ELEMENTS_PER_CALL = 4096  # K · batch · units per layer tensor (16 KB of float32) that stays fast


def call_population(superset: Superset) -> int:
    """K for one compiled call: the largest power of two whose ``[K, batch, units]`` layer
    tensors hold at most ELEMENTS_PER_CALL values (toy and digits-shaped spaces: 1). A call
    pays for its largest minibatch and discriminator-step count in every individual, and
    the work is elementwise: four toy individuals trained as four one-individual calls (in
    their batch buckets) took 27 % less time than as one call of four (300 steps, one
    thread, eight interleaved rounds; docs/performance.md, eighth round)."""
    units = max(superset.generator.units, superset.discriminator.units)
    return 1 << max(0, int(math.log2(max(1, ELEMENTS_PER_CALL // (superset.batch * units)))))


def call_superset(chunk_superset: Superset, genome: GANGenome) -> Superset:
    """The superset ``genome``'s call trains in: the chunk's, except that a one-individual call
    (K = 1) pads the minibatch only to the individual's batch-size bucket
    (``shapes.batch_bucket``), one more compiled shape per bucket. Padded rows cost as much
    as real ones, and a K = 1 call is one individual's anyway; in calls of several the buckets
    would split a small chunk into more calls. The bucket depends on the genome alone, so an
    individual's bits still do not depend on its chunk."""
    if chunk_superset.population > 1:
        return chunk_superset
    return dataclasses.replace(chunk_superset, batch=min(chunk_superset.batch, batch_bucket(genome.hyperparameters.batch_size)))


@dataclass(frozen=True)
class TrainedChunk:
    """A trained chunk: the engine holding its weights and the last step's losses."""

    engine: _Engine
    genomes: tuple[GANGenome, ...]
    generator_losses: np.ndarray
    discriminator_losses: np.ndarray


def train_chunk(
    genomes: Sequence[GANGenome],
    seeds: Sequence[int],
    dataset: Dataset,
    steps: int,
    latent_stddev: float = 1.0,
    space: SearchSpace | None = None,
    jit_compile: bool = True,
    superset: Superset | None = None,
    lane: int = 0,
) -> TrainedChunk:
    """Train every ``(genome, seed)`` pair as ``train_pair`` would, all in one compiled call
    (in ``superset`` if given: it must cover the genomes and hold at least as many), in the
    engine of ``lane`` (one thread per lane at a time)."""
    if superset is None:
        superset = Superset.covering(genomes, dataset, space, population_bucket(len(genomes)), jit_compile)
    elif len(genomes) > superset.population:
        raise ValueError(f"{len(genomes)} genomes do not fit a superset of population {superset.population}")
    engine = engine_for(superset, lane)
    table = engine.load(genomes, seeds, dataset, steps)
    data, stddev, rows = tf.constant(dataset.samples), tf.constant(latent_stddev, tf.float32), SEGMENT_STEPS * superset.discriminator_steps
    g_loss = d_loss = tf.zeros([superset.population])
    for first in range(0, steps, SEGMENT_STEPS):  # one input shape whatever the step count: no recompilation
        segment = tf.constant(table[:, first // SEGMENT_STEPS * rows : (first // SEGMENT_STEPS + 1) * rows])
        g_loss, d_loss = engine.train(data, segment, tf.constant(first), tf.constant(min(first + SEGMENT_STEPS, steps)), stddev)
    return TrainedChunk(engine, tuple(genomes), g_loss.numpy()[: len(genomes)], d_loss.numpy()[: len(genomes)])


class BatchedEvaluation:
    """``eval_gan`` for a whole chunk: ``evaluate_chunk(jobs, context)`` gives one EvalResult
    per ``(genome, seed)`` job with the same fields, in job order.

    The built-in fitness measures read what the batched calls computed: scores and samples
    of the held-out latent batch, and for ``judged_generator_loss`` one judge call for the
    whole chunk; Keras models holding the trained weights (``build.trained_pair``)
    are built only for a measure that asks for them.
    If the batched call itself raises, each job falls back to ``eval_gan`` alone.

    The chunk runs as calls of ``population`` individuals each (default ``call_population``),
    all in one superset covering the whole chunk (calls of one: in their batch bucket's,
    ``call_superset``), so the calls share one compiled function per bucket.
    ``lanes`` calls run at the same time, each in its own thread and engine: one compiled
    call of these small shapes keeps about one core busy (two lanes on 2 cores trained
    1.7-1.9x as many individual-steps per second as one, ``benchmarks/lanes.py``). Default
    (``default_lanes``): one per thread this process was given.
    """

    def __init__(self, space: SearchSpace | None = None, jit_compile: bool = True, population: int | None = None,
                 lanes: int | None = None):
        self.space = space
        self.jit_compile = jit_compile
        self.population = population
        self.lanes = lanes

    def superset_for(self, genomes: Sequence[GANGenome], dataset: Dataset) -> Superset:
        """The superset every call of a chunk of ``genomes`` trains in. Its population does not
        depend on the chunk's size: an individual then gets the same bits whatever chunk (and
        so whichever worker) it lands in, and wherever it sits in its call (measured)."""
        covering = Superset.covering(genomes, dataset, self.space, 1, self.jit_compile)
        return dataclasses.replace(covering, population=self.population or call_population(covering))

    def __call__(self, genome: GANGenome, context: EvalContext) -> EvalResult:
        """The one-individual contract (a chunk of one)."""
        return self.evaluate_chunk([(genome, context.seed)], context)[0]

    @staticmethod
    def job_cost(genome: GANGenome, context: EvalContext) -> float:
        """``shapes.training_cost``, which executors balance a generation's chunks with."""
        return training_cost(genome, context.steps)

    def evaluate_chunk(self, jobs: Sequence[tuple[GANGenome, int]], context: EvalContext) -> list[EvalResult]:
        if not jobs:
            return []
        start = time.perf_counter()
        try:
            results = self._evaluate(jobs, context, start)
        except Exception:  # noqa: BLE001 - one bad chunk must not end the run; fall back per individual
            return [evaluate_safely(eval_gan, genome, context.for_seed(seed), context.objectives) for genome, seed in jobs]
        return [check_result(result, context.objectives) for result in results]

    def _evaluate(self, jobs, context: EvalContext, start: float) -> list[EvalResult]:
        chunk_superset = self.superset_for([g for g, _ in jobs], context.dataset)
        supersets = [call_superset(chunk_superset, genome) for genome, _ in jobs]
        held = [_held_out(context.for_seed(seed), genome) for genome, seed in jobs]
        fitness_fns = fitness_functions(context.fitness)
        judged = fitness_judged_generator_loss in fitness_fns
        # a call runs its largest discriminator-step count, so jobs alike in it share calls, and
        # calls of one run in their batch bucket's superset; the costliest calls go first, so no
        # lane is left with a long one at the end; results return in job order
        order = sorted(range(len(jobs)), key=lambda i: (supersets[i].batch, jobs[i][0].hyperparameters.discriminator_steps), reverse=True)
        parts = []
        for _, group in itertools.groupby(order, key=lambda i: supersets[i]):
            group = list(group)
            parts += [group[first : first + chunk_superset.population] for first in range(0, len(group), chunk_superset.population)]
        lanes = self.lanes or default_lanes()
        free_lanes = list(range(lanes))  # list.pop/append are atomic: a lane is never used by two threads

        def call(part: list[int]) -> list[_Trained]:
            lane = free_lanes.pop()
            try:
                return self._train_and_score([jobs[i] for i in part], [held[i] for i in part], context, supersets[part[0]], judged, lane)
            finally:
                free_lanes.append(lane)

        if lanes == 1 or len(parts) == 1:
            outputs = [call(part) for part in parts]
        else:
            with ThreadPoolExecutor(min(lanes, len(parts)), thread_name_prefix="deatf-gan-lane") as pool:
                outputs = list(pool.map(call, parts))
        trained: list[_Trained] = [None] * len(jobs)
        for part, part_outputs in zip(parts, outputs):
            for i, output in zip(part, part_outputs):
                trained[i] = output
        dataset = context.dataset
        pairs = [
            TrainedPair(
                genome, functools.partial(trained_pair, genome, dataset, seed, out.weights), dataset, *held[i], seed,
                context.latent_stddev,
            ).knowing(generated=out.generated, fake_logits=out.fake_logits)
            for i, ((genome, seed), out) in enumerate(zip(jobs, trained))
        ]
        if judged:  # every judge of the chunk in one call
            losses = judged_generator_losses(dataset.samples, [out.judge_samples for out in trained],
                                             [pair.generated for pair in pairs], [seed for _, seed in jobs])
            for pair, loss in zip(pairs, losses):
                pair.knowing(judged_loss=loss)
        seconds = (time.perf_counter() - start) / len(jobs)
        results = []
        for pair, out in zip(pairs, trained):
            results.append(
                EvalResult(
                    fitness=tuple(float(measure(pair)) for measure in fitness_fns),
                    **held_out_diagnostics(out.fake_logits, out.real_logits),
                    generator_parameters=sum(w.size for w in out.weights[0]),
                    discriminator_parameters=sum(w.size for w in out.weights[1]),
                    seconds=seconds,
                    extra=dict(pair.quality),
                    weights=out.weights if context.keep_weights else None,
                )
            )
        return results

    def _train_and_score(self, jobs, held, context: EvalContext, superset: Superset, judged: bool, lane: int) -> list[_Trained]:
        """One compiled call's jobs: train, score on the held-out samples, export the weights, and
        for a judged fitness generate the judge's training samples (latent stream 0)."""
        genomes, seeds = [g for g, _ in jobs], [int(s) for _, s in jobs]
        chunk = train_chunk(genomes, seeds, context.dataset, context.steps, context.latent_stddev, superset=superset, lane=lane)
        engine, s = chunk.engine, superset

        def padded(latents):
            out = np.zeros((s.population, len(latents[0]), s.latent), np.float32)
            for i, z in enumerate(latents):
                out[i, :, : z.shape[1]] = z
            return tf.constant(out)

        real = np.zeros((s.population, len(held[0][1]), context.dataset.dim), np.float32)
        real[: len(held)] = [x for _, x in held]
        fake_logits, real_logits, generated = (t.numpy() for t in engine.score_and_generate(padded([z for z, _ in held]), tf.constant(real)))
        judge_samples = [None] * len(jobs)
        if judged:
            count = len(context.dataset.samples)
            latents = [latent_stream(g, seed, context.latent_stddev, count, stream=0) for g, seed in zip(genomes, seeds)]
            judge_samples = engine.generate(padded(latents)).numpy()
        return [
            _Trained(fake_logits[i], real_logits[i], generated[i], engine.export(i, genome, context.dataset), judge_samples[i])
            for i, genome in enumerate(genomes)
        ]


def default_lanes() -> int:
    """One lane per thread this process was given: ``TF_NUM_INTRAOP_THREADS`` where set (a
    run's worker processes get 1 each, ``executors.configure_worker``), else its cores."""
    threads = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        return int(threads)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Trained(NamedTuple):
    """One individual's outputs of a compiled call (held-out scores and samples, trained weights)."""

    fake_logits: np.ndarray
    real_logits: np.ndarray
    generated: np.ndarray
    weights: tuple[list[np.ndarray], list[np.ndarray]]
    judge_samples: np.ndarray | None
