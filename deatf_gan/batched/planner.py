"""How the batched evaluator splits a chunk into compiled calls, without TensorFlow.

The driver imports no TensorFlow, yet balances a generation's chunks over its workers by
each individual's expected training time, so the padded shapes (``Superset``), the batch
buckets, the call sizes and the cost estimate all live here.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deatf_gan.genome import LOSSES, GANGenome, SearchSpace

if TYPE_CHECKING:
    from deatf_gan.datasets import Dataset

# the order a superset lists its activations in (and indexes them by)
ACTIVATION_ORDER = ("relu", "elu", "leaky_relu", "selu", "tanh", "sigmoid", "softplus", "swish", "linear")
BATCH_BUCKET_FLOOR = 32  # smaller minibatches cost about as much per step (docs/performance.md)
ELEMENTS_PER_CALL = 4096  # K · batch · units per layer tensor (16 KB of float32) that stays fast


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
    """The padded shapes a call trains in; one compiled function per Superset."""

    generator: NetworkShape
    discriminator: NetworkShape
    population: int  # K, individuals per call
    batch: int | None  # None: any (the compiled functions take it from their arguments)
    latent: int
    discriminator_steps: int
    output_activation: str
    standardize: bool
    jit_compile: bool
    losses: tuple[str, ...] = ("non_saturating",)  # every loss computed, each individual's selected
    generator_ema: bool = False  # whether any individual averages its generator's weights
    r1_penalty: bool = False  # whether any individual penalises its discriminator's input gradients
    packing: int = 1  # the largest PacGAN degree: the discriminator's input holds that many samples

    @classmethod
    def covering(
        cls,
        genomes: Sequence[GANGenome],
        dataset: Dataset,
        space: SearchSpace | None,
        population: int,
        jit_compile: bool,
    ) -> Superset:
        """The space's maxima (so one compiled function serves a whole run), widened to any
        genome beyond them."""

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
            ordered = tuple(name for name in ACTIVATION_ORDER if name in activations)
            return NetworkShape(input_dim, output_dim, depth, units, ordered, batch_norm, dropout)

        hyper = [g.hyperparameters for g in genomes]
        batch = max(h.batch_size for h in hyper)
        latent = max(h.latent_dim for h in hyper)
        d_steps = max(h.discriminator_steps for h in hyper)
        losses = {h.loss for h in hyper}
        ema = any(h.generator_ema > 0 for h in hyper)
        r1 = any(h.r1_penalty > 0 for h in hyper)
        packing = max(h.packing for h in hyper)
        if space is not None:
            hs = space.hyperparameters
            batch = max(batch, *hs.batch_size.options)
            latent, d_steps = max(latent, hs.latent_dim.high), max(d_steps, hs.discriminator_steps.high)
            losses |= set(hs.loss.options)
            ema |= any(decay > 0 for decay in hs.generator_ema.options)
            r1 |= any(weight > 0 for weight in hs.r1_penalty.options)
            packing = max(packing, *hs.packing.options)
        return cls(
            generator=network("generator", latent, dataset.dim),
            discriminator=network("discriminator", dataset.dim * packing, 1),
            population=population,
            batch=batch,
            latent=latent,
            discriminator_steps=d_steps,
            output_activation=dataset.output_activation,
            standardize=dataset.standardize,
            jit_compile=jit_compile,
            losses=tuple(name for name in LOSSES if name in losses),  # in the genome's order
            generator_ema=ema,
            r1_penalty=r1,
            packing=packing,
        )


def batch_bucket(batch_size: int) -> int:
    """The minibatch a one-individual call pads to: the next power of two, at least
    BATCH_BUCKET_FLOOR. Each bucket is one more compiled shape."""
    return max(BATCH_BUCKET_FLOOR, 1 << (batch_size - 1).bit_length())


def training_cost(genome: GANGenome, steps: int) -> float:
    """Relative cost of training ``genome`` for ``steps`` in a one-individual call:
    ``steps · (discriminator steps + 1) · (batch bucket + 64)``, fitted on the toy space
    (docs/performance.md): a discriminator step costs about as much as a generator step,
    and a step's cost grows slower than its batch."""
    hyper = genome.hyperparameters
    return steps * (hyper.discriminator_steps + 1) * (batch_bucket(hyper.batch_size) + 64)


def population_bucket(count: int) -> int:
    """K for a chunk of ``count``: the next power of two (at least 4), so few shapes are compiled."""
    return max(4, 1 << max(0, math.ceil(math.log2(count))))


def call_population(superset: Superset) -> int:
    """K for one compiled call: the largest power of two whose ``[K, batch, units]`` layer
    tensors hold at most ELEMENTS_PER_CALL values (toy and digits-shaped spaces: 1). A call
    pays for its largest minibatch and discriminator-step count in every individual, and
    the work is elementwise, so small calls waste least (docs/performance.md)."""
    units = max(superset.generator.units, superset.discriminator.units)
    return 1 << max(0, int(math.log2(max(1, ELEMENTS_PER_CALL // (superset.batch * units)))))


def call_superset(chunk_superset: Superset, genome: GANGenome) -> Superset:
    """The superset ``genome``'s call trains in: the chunk's, except that a one-individual call
    (K = 1) pads the minibatch only to the individual's batch bucket, one more compiled
    shape per bucket. The bucket depends on the genome alone, so an individual's bits do
    not depend on its chunk."""
    if chunk_superset.population > 1:
        return chunk_superset
    bucket = batch_bucket(genome.hyperparameters.batch_size)
    return dataclasses.replace(chunk_superset, batch=min(chunk_superset.batch, bucket))


def plan_calls(genomes: Sequence[GANGenome], supersets: Sequence[Superset], population: int) -> list[list[int]]:
    """The job indices of each compiled call, costliest calls first (so no lane is left with
    a long one at the end). A call runs its largest discriminator-step count, so jobs alike
    in it share calls; jobs share a call only within one superset."""

    def cost(i: int):
        return supersets[i].batch, genomes[i].hyperparameters.discriminator_steps

    order = sorted(range(len(genomes)), key=cost, reverse=True)
    calls = []
    for _, group in itertools.groupby(order, key=lambda i: supersets[i]):
        group = list(group)
        calls += [group[first : first + population] for first in range(0, len(group), population)]
    return calls
