"""Decoding: a genome becomes two ``keras.Model``s. Nothing else lives here.

Every hidden layer is ``Dense(units, initializer) → [BatchNormalization] → activation →
[Dropout]`` (the Dense has no bias when batch norm follows). The output layers are fixed,
not evolved: the generator ends in
``Dense(data_dim, dataset output activation)``, the discriminator in ``Dense(1)`` giving a
logit. Initializer and dropout seeds derive from one integer, so a genome and a seed
always give the same initial networks.
"""

from __future__ import annotations

import keras
import numpy as np

from deatf_gan.datasets import Dataset
from deatf_gan.genome import GANGenome, MLPDescriptor

INITIALIZER_CLASSES = {
    "glorot_uniform": keras.initializers.GlorotUniform,
    "glorot_normal": keras.initializers.GlorotNormal,
    "he_uniform": keras.initializers.HeUniform,
    "he_normal": keras.initializers.HeNormal,
    "lecun_uniform": keras.initializers.LecunUniform,
    "lecun_normal": keras.initializers.LecunNormal,
    "random_normal": keras.initializers.RandomNormal,
    "random_uniform": keras.initializers.RandomUniform,
}


def layer_seeds(seed: int, role: str, count: int) -> list[int]:
    """Independent, reproducible seeds for each layer of one network."""
    role_key = 0 if role == "generator" else 1
    return [int(s) for s in np.random.SeedSequence([seed, role_key]).generate_state(count + 1)]


def _hidden_stack(x, descriptor: MLPDescriptor, seeds: list[int], prefix: str):
    for index, (layer, seed) in enumerate(zip(descriptor.layers, seeds)):
        name = f"{prefix}_{index}"
        # A bias before batch norm is cancelled by its mean subtraction: its gradient is zero
        # but for round-off, which Adam would normalise into steps of size ~lr. So none.
        x = keras.layers.Dense(
            layer.units,
            use_bias=not layer.batch_norm,
            kernel_initializer=INITIALIZER_CLASSES[layer.initializer](seed=seed),
            name=f"{name}_dense",
        )(x)
        if layer.batch_norm:
            x = keras.layers.BatchNormalization(name=f"{name}_batch_norm")(x)
        x = keras.layers.Activation(layer.activation, name=f"{name}_{layer.activation}")(x)
        if layer.dropout > 0:
            x = keras.layers.Dropout(layer.dropout, seed=seed + 1, name=f"{name}_dropout")(x)
    return x


def build_generator(genome: GANGenome, dataset: Dataset, seed: int) -> keras.Model:
    """latent (``latent_dim``) → hidden layers → data (``dataset.dim``) in data units."""
    seeds = layer_seeds(seed, "generator", len(genome.generator.layers))
    latent = keras.Input((genome.hyperparameters.latent_dim,), name="latent")
    x = _hidden_stack(latent, genome.generator, seeds, "generator")
    x = keras.layers.Dense(
        dataset.dim,
        activation=dataset.output_activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seeds[-1]),
        name="generator_output",
    )(x)
    if dataset.standardize:
        x = keras.layers.Normalization(mean=dataset.mean, variance=dataset.variance, invert=True, name="to_data_units")(
            x
        )
    return keras.Model(latent, x, name="generator")


def discriminator_input_dim(genome: GANGenome, dataset: Dataset) -> int:
    """Columns of the discriminator's input: ``packing`` samples side by side (``deatf_gan.packing``)."""
    return genome.hyperparameters.packing * dataset.dim


def build_discriminator(genome: GANGenome, dataset: Dataset, seed: int) -> keras.Model:
    """data (``packing · dataset.dim``: a pack of samples) → hidden layers → one linear logit."""
    seeds = layer_seeds(seed, "discriminator", len(genome.discriminator.layers))
    packing = genome.hyperparameters.packing
    data = keras.Input((discriminator_input_dim(genome, dataset),), name="data")
    x = data
    if dataset.standardize:
        mean, variance = (np.tile(np.reshape(v, -1), packing) for v in (dataset.mean, dataset.variance))
        x = keras.layers.Normalization(mean=mean, variance=variance, name="standardize")(x)
    x = _hidden_stack(x, genome.discriminator, seeds, "discriminator")
    logit = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=seeds[-1]), name="logit")(x)
    return keras.Model(data, logit, name="discriminator")


def build_pair(genome: GANGenome, dataset: Dataset, seed: int) -> tuple[keras.Model, keras.Model]:
    """Both networks of an individual, initialised reproducibly from ``seed``."""
    return build_generator(genome, dataset, seed), build_discriminator(genome, dataset, seed)


def initial_weights(genome: GANGenome, dataset: Dataset, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The initial weights ``deatf_gan.build.build_pair(genome, dataset, seed)`` would have, in
    ``get_weights()`` order, without building models: each Keras initializer called with the
    same seed and shape (Keras 3 initializers with an integer seed are stateless)."""

    def network(role: str, input_dim: int, output_dim: int) -> list[np.ndarray]:
        descriptor = genome.network(role)
        seeds = layer_seeds(seed, role, len(descriptor.layers))
        values, width = [], input_dim
        for layer, layer_seed in zip(descriptor.layers, seeds):
            values.append(np.asarray(INITIALIZER_CLASSES[layer.initializer](seed=layer_seed)((width, layer.units))))
            zeros, ones = np.zeros(layer.units, np.float32), np.ones(layer.units, np.float32)
            # Dense bias, or (no bias before batch norm) gamma, beta, moving mean, moving variance
            values += [ones, zeros, zeros, ones] if layer.batch_norm else [zeros]
            width = layer.units
        output = INITIALIZER_CLASSES["glorot_uniform"](seed=seeds[-1])((width, output_dim))
        return values + [np.asarray(output), np.zeros(output_dim, np.float32)]

    return network("generator", genome.hyperparameters.latent_dim, dataset.dim), network(
        "discriminator", discriminator_input_dim(genome, dataset), 1
    )


def trained_pair(genome: GANGenome, dataset: Dataset, seed: int, weights) -> tuple[keras.Model, keras.Model]:
    """Both networks holding trained ``weights`` (``(generator, discriminator)`` lists in
    ``get_weights()`` order), for the hall of fame and for measures that need the models."""
    generator, discriminator = build_pair(genome, dataset, seed)
    generator.set_weights(weights[0])
    discriminator.set_weights(weights[1])
    return generator, discriminator
