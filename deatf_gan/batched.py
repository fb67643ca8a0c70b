"""Train a whole chunk of individuals side by side in one compiled function.

Every genome of a chunk is embedded in a fixed *superset* MLP per role: ``L`` hidden layers
of ``U`` units (the search space's maxima), stored as ``[K, ...]`` tensors for ``K``
individuals and multiplied with batched ``einsum``. Masks make the superset compute
exactly the individual's own network:

- units: ``h_j = act_j(BN_j(h_{j-1} W_j + b_j)) · m_j`` with ``m_j`` 1 on the layer's real
  units, so padded units are exact zeros and get zero gradients;
- layers: an inactive layer passes its input through (``h_j = h_{j-1}``); active layers
  come first, so the output layer reads the last active one;
- activations: ``Σ_a onehot_{j,a} · a(z)`` over the space's activations (Keras 3
  definitions; ``leaky_relu`` has ``negative_slope = 0.2``);
- batch norm (Keras ``BatchNormalization``: momentum 0.99, ε = 10⁻³): batch mean and
  biased variance over the individual's own ``b`` samples,
  ``y = γ (z - μ) / sqrt(σ² + ε) + β``, moving statistics ``s ← 0.99 s + 0.01 μ`` updated
  on every training-mode call that really happens; inference uses the moving statistics;
- samples: batch rows past the individual's batch size are masked out of every mean;
- latent columns past the individual's latent size are zero (and their kernel rows too);
- discriminator steps: sub-step ``k`` updates only individuals with ``k <`` their steps,
  and only those optimizers' step counters advance;
- optimizers: Keras 3 Adam (β₁ 0.9, β₂ 0.999, ε 10⁻⁷), RMSprop (ρ 0.9, ε 10⁻⁷) and SGD
  update rules, chosen per individual, each with its own learning rates.

Noise is ``deatf_gan.training.hashed_normal`` keyed by each individual's noise seed and
draw number, so the per-individual path (``train_pair``) sees the same latent batches.
Dropout masks come from ``hashed_uniform`` (keep where ``u > rate``, scale ``1/(1-rate)``);
the Keras path's ``Dropout`` layers draw other masks, so parity holds without dropout and
dropout is tested by its statistics (``tests/test_batched.py``).

Variables persist per superset and ``K``: a new chunk assigns its initial weights (the
Keras initializers called with the same seeds and shapes as ``deatf_gan.build``) into them,
so a run traces once per shape bucket and memory does not grow with evaluations.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from deatf_gan.build import _INITIALIZER_CLASSES, build_pair, layer_seeds
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
)
from deatf_gan.genome import GANGenome, MLPDescriptor, SearchSpace
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


def _zeros(*shape, trainable: bool = False) -> tf.Variable:
    return tf.Variable(tf.zeros(shape), trainable=trainable)


def _where(mask, new, old):
    """``new`` where ``mask[k]`` (one flag per individual), else ``old``."""
    return tf.where(tf.reshape(mask, [-1] + [1] * (len(new.shape) - 1)), new, old)


class _Network:
    """One role's superset variables for K individuals, with optimizer slots and genome masks."""

    def __init__(self, shape: NetworkShape, population: int):
        k, n_layers, units = population, shape.layers, shape.units
        self.shape = shape
        inputs = [shape.input_dim] + [units] * (n_layers - 1)
        weight = functools.partial(_zeros, trainable=True)  # the gradient tape watches trainable variables
        self.kernels = [weight(k, i, units) for i in inputs] + [weight(k, units, shape.output_dim)]
        self.biases = [weight(k, units) for _ in range(n_layers)] + [weight(k, shape.output_dim)]
        self.gammas = [weight(k, units) for _ in range(n_layers)] if shape.batch_norm else []
        self.betas = [weight(k, units) for _ in range(n_layers)] if shape.batch_norm else []
        self.moving_means = [_zeros(k, units) for _ in range(n_layers)] if shape.batch_norm else []
        self.moving_variances = [_zeros(k, units) for _ in range(n_layers)] if shape.batch_norm else []
        self.trainables = self.kernels + self.biases + self.gammas + self.betas
        self.first_moments = [_zeros(*v.shape) for v in self.trainables]
        self.second_moments = [_zeros(*v.shape) for v in self.trainables]
        self.iterations = _zeros(k)
        # genome masks
        self.unit_mask = _zeros(k, n_layers, units)
        self.layer_on = _zeros(k, n_layers)
        self.activation = _zeros(k, n_layers, len(shape.activations))
        self.bn_on = _zeros(k, n_layers)
        self.dropout = _zeros(k, n_layers)
        self.learning_rate = _zeros(k)
        self.optimizer = _zeros(k, len(OPTIMIZER_NAMES))

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
        for variable in self.first_moments + self.second_moments + [self.iterations]:
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

    def forward(self, x, training: bool, sample_mask=None, count=None, update=None, noise=None, moving=None):
        """Logits/outputs ``[K, B, out]``; in training mode also the new moving statistics.

        ``noise = (seeds, draws, stream)`` keys the dropout masks; ``moving`` carries the
        moving statistics of an earlier call in the same step (Keras updates them per call).
        """
        s = self.shape
        means = list(moving[0]) if moving is not None else [v for v in self.moving_means]
        variances = list(moving[1]) if moving is not None else [v for v in self.moving_variances]
        h = x
        for j in range(s.layers):
            bias = self.biases[j] * (1.0 - self.bn_on[:, j, None]) if s.batch_norm else self.biases[j]  # none before BN
            z = tf.einsum("kbi,kiu->kbu", h, self.kernels[j]) + bias[:, None, :]
            if s.batch_norm:
                if training:
                    weights = sample_mask[:, :, None]
                    mean = tf.reduce_sum(z * weights, axis=1) / count[:, None]
                    centred = (z - tf.stop_gradient(mean)[:, None, :]) * weights
                    variance = tf.reduce_sum(tf.square(centred), axis=1) / count[:, None]
                    apply = tf.logical_and(update, self.bn_on[:, j] > 0)
                    means[j] = _where(apply, means[j] * BN_MOMENTUM + mean * (1.0 - BN_MOMENTUM), means[j])
                    variances[j] = _where(apply, variances[j] * BN_MOMENTUM + variance * (1.0 - BN_MOMENTUM), variances[j])
                else:
                    mean, variance = self.moving_means[j], self.moving_variances[j]
                inverse = tf.math.rsqrt(variance + BN_EPSILON) * self.gammas[j]
                normalised = z * inverse[:, None, :] + (self.betas[j] - mean * inverse)[:, None, :]
                z = _where(self.bn_on[:, j] > 0, normalised, z)
            if len(s.activations) == 1:
                a = ACTIVATION_FUNCTIONS[s.activations[0]](z)
            else:
                a = tf.add_n(
                    [self.activation[:, j, i, None, None] * ACTIVATION_FUNCTIONS[name](z) for i, name in enumerate(s.activations)]
                )
            if training and s.dropout:
                seeds, draws, stream = noise
                rows = tf.range(tf.shape(a)[1])[None, :, None]
                cols = tf.range(s.units)[None, None, :]
                u = hashed_uniform(seeds[:, None, None], draws[:, None, None], stream * 64 + j, rows, cols)
                rate = self.dropout[:, j, None, None]
                a = tf.where(u > rate, a / (1.0 - rate), 0.0)
            a = a * self.unit_mask[:, j, None, :]
            h = a if j == 0 else _where(self.layer_on[:, j] > 0, a, h)
        out = tf.einsum("kbu,kuo->kbo", h, self.kernels[-1]) + self.biases[-1][:, None, :]
        return out, (means, variances)

    def assign_moving(self, moving) -> None:
        for variable, value in zip(self.moving_means + self.moving_variances, list(moving[0]) + list(moving[1])):
            variable.assign(value)

    def apply_gradients(self, grads, active) -> None:
        """One Keras-3 optimizer step per active individual (its own rule and learning rate)."""
        t = self.iterations + 1.0
        lr = self.learning_rate
        alpha = lr * tf.sqrt(1.0 - tf.pow(ADAM_BETA_2, t)) / (1.0 - tf.pow(ADAM_BETA_1, t))
        adam, rms = self.optimizer[:, 0] > 0, self.optimizer[:, 1] > 0
        for variable, grad, m, v in zip(self.trainables, grads, self.first_moments, self.second_moments):
            expand = [-1] + [1] * (len(variable.shape) - 1)
            b_lr, b_alpha = tf.reshape(lr, expand), tf.reshape(alpha, expand)
            m_adam = m + (grad - m) * (1.0 - ADAM_BETA_1)
            v_adam = v + (tf.square(grad) - v) * (1.0 - ADAM_BETA_2)
            v_rms = RMSPROP_RHO * v + (1.0 - RMSPROP_RHO) * tf.square(grad)
            step_adam = m_adam * b_alpha / (tf.sqrt(v_adam) + OPTIMIZER_EPSILON)
            step_rms = b_lr * grad / tf.sqrt(v_rms + OPTIMIZER_EPSILON)
            step = _where(adam, step_adam, _where(rms, step_rms, grad * b_lr))
            m.assign(_where(tf.logical_and(active, adam), m_adam, m))
            v.assign(_where(active, _where(adam, v_adam, _where(rms, v_rms, v)), v))
            variable.assign(_where(active, variable - step, variable))
        self.iterations.assign(self.iterations + tf.cast(active, tf.float32))


def _sigmoid_xent(labels_value: float, logits):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), labels_value), logits=logits)


def _masked_mean(values, sample_mask, count):
    return tf.reduce_sum(values * sample_mask, axis=1) / count


class _Engine:
    """Persistent variables and the traced training and scoring functions of one Superset."""

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
        self.train = tf.function(self._train, jit_compile=superset.jit_compile, reduce_retracing=True)
        self.score = tf.function(self._score, jit_compile=superset.jit_compile, reduce_retracing=True)

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

    def _train(self, data, batches, steps, latent_stddev):
        """``steps`` generator updates, each after ``discriminator_steps`` D updates, as in
        ``deatf_gan.training.train_pair``; returns the last step's ``(L_G, L_D)`` per individual."""
        s = self.superset
        sample_mask = self.sample_mask
        count = tf.reduce_sum(sample_mask, axis=1)
        d_steps = self.discriminator_steps
        seeds = self.noise_seeds
        rows = tf.range(s.batch)[None, :, None]
        cols = tf.range(s.latent)[None, None, :]
        always = tf.ones([s.population], tf.bool)
        G, D = self.generator, self.discriminator

        def latent(draw):
            z = latent_stddev * hashed_normal(seeds[:, None, None], draw[:, None, None], rows, cols)
            return z * self.latent_mask[:, None, :]

        def body(step, g_loss, d_loss):
            for sub in range(s.discriminator_steps):
                active = sub < d_steps
                draw = step * (d_steps + 1) + sub
                rows_k = tf.gather(batches, (step * d_steps + sub)[:, None], batch_dims=1)[:, 0]
                real = tf.gather(data, rows_k)
                common = dict(sample_mask=sample_mask, count=count, update=active)
                with tf.GradientTape() as tape:
                    fake, g_moving = self._generate(latent(draw), True, noise=(seeds, draw, 0), **common)
                    fake_logits, d_moving = self._discriminate(fake, True, noise=(seeds, draw, 1), **common)
                    real_logits, d_moving = self._discriminate(real, True, noise=(seeds, draw, 2), moving=d_moving, **common)
                    loss = _masked_mean(_sigmoid_xent(1.0, real_logits), sample_mask, count) + _masked_mean(
                        _sigmoid_xent(0.0, fake_logits), sample_mask, count
                    )
                    total = tf.reduce_sum(loss)  # individuals are independent: ∂total/∂θ_k = ∂loss_k/∂θ_k
                grads = tape.gradient(total, D.trainables, unconnected_gradients="zero")
                D.apply_gradients(grads, active)
                G.assign_moving(g_moving)
                D.assign_moving(d_moving)
                d_loss = tf.where(active, loss, d_loss)
            draw = step * (d_steps + 1) + d_steps
            common = dict(sample_mask=sample_mask, count=count, update=always)
            with tf.GradientTape() as tape:
                fake, g_moving = self._generate(latent(draw), True, noise=(seeds, draw, 3), **common)
                fake_logits, d_moving = self._discriminate(fake, True, noise=(seeds, draw, 4), **common)
                g_loss = _masked_mean(_sigmoid_xent(1.0, fake_logits), sample_mask, count)
                total = tf.reduce_sum(g_loss)
            grads = tape.gradient(total, G.trainables, unconnected_gradients="zero")
            G.apply_gradients(grads, always)
            G.assign_moving(g_moving)
            D.assign_moving(d_moving)
            return step + 1, g_loss, d_loss

        zero = tf.zeros([s.population])
        _, g_loss, d_loss = tf.while_loop(lambda step, *_: step < steps, body, (tf.constant(0), zero, zero))
        return g_loss, d_loss

    def _score(self, latent, real):
        """Inference-mode logits of generated and real held-out samples, ``[K, E]`` each."""
        fake, _ = self._generate(latent, False)
        fake_logits, _ = self._discriminate(fake, False)
        real_logits, _ = self._discriminate(real, False)
        return fake_logits, real_logits

    def load(self, genomes: Sequence[GANGenome], seeds: Sequence[int], dataset: Dataset, steps: int) -> np.ndarray:
        """Assign a chunk (padded to K with copies of its first member); return the batch table."""
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
        table = np.zeros((k, steps * s.discriminator_steps, s.batch), np.int32)
        noise_seeds = []
        for i, (h, seed) in enumerate(zip(hyper, seeds)):
            batches, noise_seed = training_schedule(len(dataset.samples), h, steps, seed)
            table[i, : len(batches), : h.batch_size] = batches
            noise_seeds.append(noise_seed)
        self.noise_seeds.assign(np.asarray(noise_seeds, np.int64))
        self.sample_mask.assign((np.arange(s.batch)[None, :] < np.array([h.batch_size for h in hyper])[:, None]).astype(np.float32))
        self.latent_mask.assign((np.arange(s.latent)[None, :] < np.array([h.latent_dim for h in hyper])[:, None]).astype(np.float32))
        self.discriminator_steps.assign(np.array([h.discriminator_steps for h in hyper], np.int32))
        self.data_mean.assign(dataset.mean.astype(np.float32) if s.standardize else np.zeros(dataset.dim, np.float32))
        scale = np.maximum(np.sqrt(dataset.variance), NORMALIZATION_EPSILON) if s.standardize else np.ones(dataset.dim)
        self.data_scale.assign(scale.astype(np.float32))
        return table

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


_ENGINES: dict[Superset, _Engine] = {}
_MAX_ENGINES = 4


def engine_for(superset: Superset) -> _Engine:
    """The engine of a superset, kept per process (least recently used dropped beyond four)."""
    engine = _ENGINES.pop(superset, None) or _Engine(superset)
    _ENGINES[superset] = engine
    while len(_ENGINES) > _MAX_ENGINES:
        _ENGINES.pop(next(iter(_ENGINES)))
    return engine


def population_bucket(count: int) -> int:
    """K for a chunk of ``count``: the next power of two (at least 4), so few shapes are traced."""
    return max(4, 1 << max(0, math.ceil(math.log2(count))))


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
) -> TrainedChunk:
    """Train every ``(genome, seed)`` pair as ``train_pair`` would, all in one compiled call."""
    superset = Superset.covering(genomes, dataset, space, population_bucket(len(genomes)), jit_compile)
    engine = engine_for(superset)
    table = engine.load(genomes, seeds, dataset, steps)
    g_loss, d_loss = engine.train(
        tf.constant(dataset.samples), tf.constant(table), tf.constant(steps, tf.int32), tf.constant(latent_stddev, tf.float32)
    )
    return TrainedChunk(engine, tuple(genomes), g_loss.numpy()[: len(genomes)], d_loss.numpy()[: len(genomes)])


class BatchedEvaluation:
    """``eval_gan`` for a whole chunk: ``evaluate_chunk(jobs, context)`` gives one EvalResult
    per ``(genome, seed)`` job with the same fields, in job order.

    The fitness ``generator_loss`` is computed in the batched scoring call; any other
    fitness gets real Keras models with the trained weights (``build_pair`` + ``set_weights``).
    If the batched call itself raises, each job falls back to ``eval_gan`` alone.
    """

    def __init__(self, space: SearchSpace | None = None, jit_compile: bool = True):
        self.space = space
        self.jit_compile = jit_compile

    def __call__(self, genome: GANGenome, context: EvalContext) -> EvalResult:
        """The one-individual contract (a chunk of one)."""
        return self.evaluate_chunk([(genome, context.seed)], context)[0]

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
        genomes, seeds = [g for g, _ in jobs], [int(s) for _, s in jobs]
        chunk = train_chunk(genomes, seeds, context.dataset, context.steps, context.latent_stddev, self.space, self.jit_compile)
        engine, s = chunk.engine, chunk.engine.superset
        held = [_held_out(context.for_seed(seed), genome) for genome, seed in jobs]
        samples = len(held[0][1])
        latent = np.zeros((s.population, context.eval_samples, s.latent), np.float32)
        real = np.zeros((s.population, samples, context.dataset.dim), np.float32)
        for i, (z, x) in enumerate(held):
            latent[i, :, : z.shape[1]] = z
            real[i] = x
        fake_logits, real_logits = (t.numpy() for t in engine.score(tf.constant(latent), tf.constant(real)))
        fitness_fns = fitness_functions(context.fitness)
        seconds = (time.perf_counter() - start) / len(jobs)
        results = []
        for i, (genome, seed) in enumerate(jobs):
            fake_i, real_i = fake_logits[i], real_logits[i]
            weights = engine.export(i, genome, context.dataset)
            g_loss = float(np.mean(np.logaddexp(0.0, -fake_i)))  # softplus(-l) = -log σ(l)
            d_loss = float(np.mean(np.logaddexp(0.0, -real_i)) + np.mean(np.logaddexp(0.0, fake_i)))
            fitness, quality = self._keras_fitness(fitness_fns, genome, seed, weights, held[i], context)
            results.append(
                EvalResult(
                    fitness=fitness,
                    generator_loss=g_loss,
                    discriminator_loss=d_loss,
                    discriminator_accuracy_real=float(np.mean(real_i > 0)),
                    discriminator_accuracy_fake=float(np.mean(fake_i < 0)),
                    generator_parameters=sum(w.size for w in weights[0]),
                    discriminator_parameters=sum(w.size for w in weights[1]),
                    seconds=seconds,
                    extra=quality,
                    weights=weights if context.keep_weights else None,
                )
            )
        return results

    @staticmethod
    def _keras_fitness(fitness_fns, genome, seed, weights, held, context: EvalContext):
        """Fitness values and quality metrics, measured on Keras models holding the exported weights."""
        generator, discriminator = build_pair(genome, context.dataset, seed)
        generator.set_weights(weights[0])
        discriminator.set_weights(weights[1])
        pair = TrainedPair(genome, generator, discriminator, context.dataset, held[0], held[1], seed, context.latent_stddev)
        return tuple(float(measure(pair)) for measure in fitness_fns), dict(pair.quality)


@dataclass(frozen=True)
class ChunkJob:
    """A run's job function for the batched evaluator: ``job((genome, seed))`` evaluates one,
    ``evaluate_chunk(jobs)`` a whole chunk in one call (the seam an executor uses when present)."""

    evaluation: BatchedEvaluation
    context: EvalContext

    def __call__(self, job: tuple[GANGenome, int]) -> EvalResult:
        return self.evaluation.evaluate_chunk([job], self.context)[0]

    def evaluate_chunk(self, jobs: Sequence[tuple[GANGenome, int]]) -> list[EvalResult]:
        return self.evaluation.evaluate_chunk(list(jobs), self.context)
