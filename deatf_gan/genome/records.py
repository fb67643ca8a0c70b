"""Genome records: plain, frozen data with a JSON round-trip and no live TensorFlow objects.

A :class:`GANGenome` is a generator :class:`MLPDescriptor`, a discriminator
:class:`MLPDescriptor` and the evolved training :class:`Hyperparameters`. Output layers are
not part of the genome: the dataset fixes them (see ``deatf_gan.build``).
Construction checks types and names; :meth:`SearchSpace.validate` checks ranges.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from deatf_gan.errors import GenomeError

ACTIVATIONS = ("relu", "elu", "leaky_relu", "selu", "tanh", "sigmoid", "softplus", "swish", "linear")
INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "random_normal",
    "random_uniform",
)
OPTIMIZERS = ("adam", "rmsprop", "sgd")
LOSSES = ("non_saturating", "least_squares", "hinge")  # deatf_gan.losses.GAN_LOSSES by name
MAX_PACKING = 8  # samples per discriminator input; PacGAN measured 2-4


def _check_int(value, path: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise GenomeError(f"{path}: expected an integer >= {minimum}, got {value!r}")


def _check_float(value, path: str, low: float, high: float, high_open: bool = False) -> None:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and low <= value
        and (value < high if high_open else value <= high)
    )
    if not ok:
        bracket = ")" if high_open else "]"
        raise GenomeError(f"{path}: expected a number in [{low}, {high}{bracket}, got {value!r}")


def _check_choice(value, path: str, options) -> None:
    if value not in options:
        raise GenomeError(f"{path}: {value!r} is not one of {', '.join(map(str, options))}")


@dataclass(frozen=True)
class LayerGene:
    """One hidden layer: Dense(units, initializer) → [BatchNorm] → activation → [Dropout]."""

    units: int
    activation: str = "relu"
    initializer: str = "glorot_uniform"
    dropout: float = 0.0
    batch_norm: bool = False

    def check(self, path: str = "layer") -> None:
        _check_int(self.units, f"{path}.units", 1)
        _check_choice(self.activation, f"{path}.activation", ACTIVATIONS)
        _check_choice(self.initializer, f"{path}.initializer", INITIALIZERS)
        _check_float(self.dropout, f"{path}.dropout", 0.0, 1.0, high_open=True)
        if not isinstance(self.batch_norm, bool):
            raise GenomeError(f"{path}.batch_norm: expected true or false, got {self.batch_norm!r}")

    def __post_init__(self):
        self.check()


@dataclass(frozen=True)
class MLPDescriptor:
    """The hidden layers of one network, input side first."""

    layers: tuple[LayerGene, ...]

    def __post_init__(self):
        if isinstance(self.layers, list):
            object.__setattr__(self, "layers", tuple(self.layers))
        if not isinstance(self.layers, tuple) or not self.layers:
            raise GenomeError(f"layers: expected a non-empty list of layers, got {self.layers!r}")
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, LayerGene):
                raise GenomeError(f"layers[{index}]: expected a LayerGene, got {layer!r}")

    def summary(self) -> str:
        """One line, e.g. ``32 relu → 16 tanh+bn+drop0.1``: two significant digits, so a small
        rate still shows as itself and none shows as ``drop0.00``."""
        parts = []
        for layer in self.layers:
            text = f"{layer.units} {layer.activation}"
            if layer.batch_norm:
                text += "+bn"
            if layer.dropout > 0:
                text += f"+drop{layer.dropout:.2g}"
            parts.append(text)
        return " → ".join(parts)


@dataclass(frozen=True)
class Hyperparameters:
    """The evolved training settings; every one of them is used by the training loop.

    ``loss`` names the GAN loss both networks train with (``deatf_gan.losses.GAN_LOSSES``).
    ``generator_ema`` is the decay ``β`` of an exponential moving average of the generator's
    weights, ``θ_ema ← β θ_ema + (1 - β) θ`` after every generator update (Yazıcı et al. 2019,
    "The Unusual Effectiveness of Averaging in GAN Training"); the averaged generator is the
    one scored and kept, and 0 switches it off. ``r1_penalty`` is the weight ``γ`` of the R1
    gradient penalty ``γ/2 · mean ‖∇ₓ l(x)‖²`` on real samples added to the discriminator's
    loss (Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?");
    0 switches it off. ``packing`` is the PacGAN degree ``m`` (Lin et al. 2018, "PacGAN: The
    power of two samples in generative adversarial networks"): the discriminator judges ``m``
    samples concatenated into one input (``deatf_gan.packing``), which penalises a generator
    that drops modes; 1 is a plain discriminator. All four default to plain training, so a
    genome written before they existed loads as the same individual.
    """

    generator_learning_rate: float = 1e-3
    discriminator_learning_rate: float = 1e-3
    optimizer: str = "adam"
    batch_size: int = 64
    latent_dim: int = 4
    discriminator_steps: int = 1
    loss: str = "non_saturating"
    generator_ema: float = 0.0
    r1_penalty: float = 0.0
    packing: int = 1

    def __post_init__(self):
        _check_float(self.generator_learning_rate, "hyperparameters.generator_learning_rate", 0.0, 10.0)
        _check_float(self.discriminator_learning_rate, "hyperparameters.discriminator_learning_rate", 0.0, 10.0)
        _check_choice(self.optimizer, "hyperparameters.optimizer", OPTIMIZERS)
        _check_int(self.batch_size, "hyperparameters.batch_size", 1)
        _check_int(self.latent_dim, "hyperparameters.latent_dim", 1)
        _check_int(self.discriminator_steps, "hyperparameters.discriminator_steps", 1)
        _check_choice(self.loss, "hyperparameters.loss", LOSSES)
        _check_float(self.generator_ema, "hyperparameters.generator_ema", 0.0, 1.0, high_open=True)
        _check_float(self.r1_penalty, "hyperparameters.r1_penalty", 0.0, 1000.0)
        _check_int(self.packing, "hyperparameters.packing", 1)
        if self.packing > min(MAX_PACKING, self.batch_size):
            raise GenomeError(
                f"hyperparameters.packing: expected at most {MAX_PACKING} and at most batch_size "
                f"({self.batch_size}), got {self.packing}"
            )


@dataclass(frozen=True)
class GANGenome:
    """One individual's genotype: the two networks and how to train them."""

    generator: MLPDescriptor
    discriminator: MLPDescriptor
    hyperparameters: Hyperparameters

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any) -> GANGenome:
        """Rebuild a genome from plain data; any problem raises GenomeError naming the field."""
        _expect_keys(data, {"generator", "discriminator", "hyperparameters"}, "genome")
        return cls(
            generator=_descriptor_from_dict(data["generator"], "generator"),
            discriminator=_descriptor_from_dict(data["discriminator"], "discriminator"),
            hyperparameters=_record_from_dict(Hyperparameters, data["hyperparameters"], "hyperparameters"),
        )

    @classmethod
    def from_json(cls, text: str) -> GANGenome:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise GenomeError(f"genome: not valid JSON ({error})") from None
        return cls.from_dict(data)

    def fingerprint(self) -> str:
        """A stable hash of the genome, for caching results and spotting duplicates."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def network(self, role: str) -> MLPDescriptor:
        return getattr(self, role)


def _expect_keys(data: Any, allowed: set[str], path: str, required: set[str] | None = None) -> None:
    if not isinstance(data, dict):
        raise GenomeError(f"{path}: expected a mapping, got {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise GenomeError(f"{path}.{unknown[0]}: unknown field (valid: {', '.join(sorted(allowed))})")
    missing = sorted((allowed if required is None else required) - set(data))
    if missing:
        raise GenomeError(f"{path}.{missing[0]}: missing field")


def _record_from_dict(record_type, data: Any, path: str):
    names = {field.name for field in fields(record_type)}
    required = {field.name for field in fields(record_type) if field.default is MISSING}
    _expect_keys(data, names, path, required)
    try:
        return record_type(**data)
    except GenomeError as error:
        # Record checks name the field relative to the record; prefix the full path.
        message = str(error)
        prefix = record_type.__name__ == "LayerGene" and message.startswith("layer.")
        raise GenomeError(f"{path}.{message[len('layer.') :]}" if prefix else message) from None


def _descriptor_from_dict(data: Any, path: str) -> MLPDescriptor:
    _expect_keys(data, {"layers"}, path)
    layers = data["layers"]
    if not isinstance(layers, (list, tuple)) or not layers:
        raise GenomeError(f"{path}.layers: expected a non-empty list, got {layers!r}")
    return MLPDescriptor(
        tuple(_record_from_dict(LayerGene, layer, f"{path}.layers[{i}]") for i, layer in enumerate(layers))
    )
