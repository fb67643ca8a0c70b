"""The search space: each field owns how to sample, mutate and validate its value.

As in neat-python's attribute classes, a range or a set of choices knows its own random
moves, so operators never carry bounds around and genomes never copy them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from deatf_gan.errors import GenomeError
from deatf_gan.genome.records import GANGenome, Hyperparameters, LayerGene, MLPDescriptor


@dataclass(frozen=True)
class IntRange:
    """Integers in [low, high]; ``log`` makes sampling and mutation scale-free (for units)."""

    low: int
    high: int
    log: bool = False

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            return int(
                np.clip(round(math.exp(rng.uniform(math.log(self.low), math.log(self.high)))), self.low, self.high)
            )
        return int(rng.integers(self.low, self.high + 1))

    def can_mutate(self) -> bool:
        return self.high > self.low

    def mutate(self, value: int, rng: np.random.Generator) -> int:
        """A different value near ``value``: a factor of up to 2 (log) or a step of up to a quarter of the range."""
        if not self.can_mutate():
            return value
        for _ in range(8):
            if self.log:
                proposal = round(value * 2.0 ** rng.uniform(-1.0, 1.0))
            else:
                step = max(1, (self.high - self.low) // 4)
                proposal = value + int(rng.integers(-step, step + 1))
            proposal = int(np.clip(proposal, self.low, self.high))
            if proposal != value:
                return proposal
        # Near a bound the random step can keep landing on ``value``; move one unit inward.
        return value + 1 if value < self.high else value - 1

    def validate(self, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            raise GenomeError(f"{path}: {value!r} is outside the search space [{self.low}, {self.high}]")


@dataclass(frozen=True)
class FloatRange:
    """Reals in [low, high]; ``log`` samples log-uniformly (learning rates)."""

    low: float
    high: float
    log: bool = False

    def _to_unit(self, value: float) -> float:
        return math.log(value) if self.log else value

    def _from_unit(self, value: float) -> float:
        return math.exp(value) if self.log else value

    def sample(self, rng: np.random.Generator) -> float:
        return float(
            np.clip(
                self._from_unit(rng.uniform(self._to_unit(self.low), self._to_unit(self.high))), self.low, self.high
            )
        )

    def can_mutate(self) -> bool:
        return self.high > self.low

    def mutate(self, value: float, rng: np.random.Generator) -> float:
        """Gaussian step of a fifth of the (log) range, clipped to the bounds."""
        if not self.can_mutate():
            return value
        width = self._to_unit(self.high) - self._to_unit(self.low)
        proposal = self._from_unit(self._to_unit(value) + rng.normal(0.0, 0.2 * width))
        return float(np.clip(proposal, self.low, self.high))

    def validate(self, value: Any, path: str) -> None:
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and self.low <= value <= self.high
        if not ok:
            raise GenomeError(f"{path}: {value!r} is outside the search space [{self.low}, {self.high}]")


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of options; mutation always picks a different one."""

    options: tuple

    def sample(self, rng: np.random.Generator):
        return self.options[int(rng.integers(len(self.options)))]

    def can_mutate(self) -> bool:
        return len(self.options) > 1

    def mutate(self, value, rng: np.random.Generator):
        others = [option for option in self.options if option != value]
        if not others:
            return value
        return others[int(rng.integers(len(others)))]

    def validate(self, value: Any, path: str) -> None:
        if value not in self.options or isinstance(value, bool) != isinstance(self.options[0], bool):
            raise GenomeError(f"{path}: {value!r} is not one of {', '.join(map(str, self.options))}")


LAYER_FIELDS = ("units", "activation", "initializer", "dropout", "batch_norm")


@dataclass(frozen=True)
class NetworkSpace:
    """Where one network's hidden layers may lie."""

    min_layers: int
    max_layers: int
    units: IntRange
    activation: Choice
    initializer: Choice
    dropout: FloatRange
    batch_norm: Choice

    def layer_field(self, name: str):
        return getattr(self, name)

    def sample_layer(self, rng: np.random.Generator) -> LayerGene:
        return LayerGene(**{name: self.layer_field(name).sample(rng) for name in LAYER_FIELDS})

    def sample(self, rng: np.random.Generator) -> MLPDescriptor:
        count = int(rng.integers(self.min_layers, self.max_layers + 1))
        return MLPDescriptor(tuple(self.sample_layer(rng) for _ in range(count)))

    def validate(self, descriptor: MLPDescriptor, path: str) -> None:
        count = len(descriptor.layers)
        if not self.min_layers <= count <= self.max_layers:
            raise GenomeError(
                f"{path}.layers: {count} layers is outside the search space [{self.min_layers}, {self.max_layers}]"
            )
        for index, layer in enumerate(descriptor.layers):
            for name in LAYER_FIELDS:
                self.layer_field(name).validate(getattr(layer, name), f"{path}.layers[{index}].{name}")


HYPERPARAMETER_FIELDS = (
    "generator_learning_rate",
    "discriminator_learning_rate",
    "optimizer",
    "batch_size",
    "latent_dim",
    "discriminator_steps",
    "loss",
    "generator_ema",
    "r1_penalty",
    "packing",
)


@dataclass(frozen=True)
class HyperparameterSpace:
    """Ranges of the evolved training settings.

    ``loss``, ``generator_ema``, ``r1_penalty`` and ``packing`` come last and default to one
    option each: a choice of one draws no random number, so a space without them samples the
    genomes it always did.
    """

    generator_learning_rate: FloatRange
    discriminator_learning_rate: FloatRange
    optimizer: Choice
    batch_size: Choice
    latent_dim: IntRange
    discriminator_steps: IntRange
    loss: Choice = Choice(("non_saturating",))
    generator_ema: Choice = Choice((0.0,))  # decays β in [0, 1); 0 is off
    r1_penalty: Choice = Choice((0.0,))  # weights γ >= 0; 0 is off
    packing: Choice = Choice((1,))  # PacGAN degrees m >= 1; 1 is a plain discriminator

    def field(self, name: str):
        return getattr(self, name)

    def sample(self, rng: np.random.Generator) -> Hyperparameters:
        return Hyperparameters(**{name: self.field(name).sample(rng) for name in HYPERPARAMETER_FIELDS})

    def validate(self, hyperparameters: Hyperparameters, path: str) -> None:
        for name in HYPERPARAMETER_FIELDS:
            self.field(name).validate(getattr(hyperparameters, name), f"{path}.{name}")


ROLES = ("generator", "discriminator")


@dataclass(frozen=True)
class SearchSpace:
    """The whole space: one network space per role plus the hyperparameter space."""

    generator: NetworkSpace
    discriminator: NetworkSpace
    hyperparameters: HyperparameterSpace

    def network(self, role: str) -> NetworkSpace:
        return getattr(self, role)

    def sample(self, rng: np.random.Generator) -> GANGenome:
        return GANGenome(
            generator=self.generator.sample(rng),
            discriminator=self.discriminator.sample(rng),
            hyperparameters=self.hyperparameters.sample(rng),
        )

    def validate(self, genome: GANGenome) -> GANGenome:
        """Raise GenomeError naming the first field outside the space; return the genome."""
        for role in ROLES:
            self.network(role).validate(genome.network(role), role)
        self.hyperparameters.validate(genome.hyperparameters, "hyperparameters")
        return genome

    def contains(self, genome: GANGenome) -> bool:
        try:
            self.validate(genome)
        except GenomeError:
            return False
        return True


def choice(options: Sequence) -> Choice:
    return Choice(tuple(options))
