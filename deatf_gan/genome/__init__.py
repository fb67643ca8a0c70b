"""Search space and genome records (plain data, no TensorFlow)."""

from deatf_gan.genome.records import (
    ACTIVATIONS,
    INITIALIZERS,
    LOSSES,
    MAX_PACKING,
    OPTIMIZERS,
    GANGenome,
    Hyperparameters,
    LayerGene,
    MLPDescriptor,
)
from deatf_gan.genome.space import (
    ROLES,
    Choice,
    FloatRange,
    HyperparameterSpace,
    IntRange,
    NetworkSpace,
    SearchSpace,
)

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "LOSSES",
    "MAX_PACKING",
    "OPTIMIZERS",
    "ROLES",
    "Choice",
    "FloatRange",
    "GANGenome",
    "HyperparameterSpace",
    "Hyperparameters",
    "IntRange",
    "LayerGene",
    "MLPDescriptor",
    "NetworkSpace",
    "SearchSpace",
]
