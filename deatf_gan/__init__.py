"""deatf_gan: evolve GAN architectures (generator + discriminator MLPs) with DEAP and Keras.

Importing the package does not import TensorFlow (several seconds): the evolution driver,
the config and the run directory work without it, and the processes that build or train
networks import it when they first do. ``generator_loss`` and ``discriminator_loss`` load
``deatf_gan.losses`` (and TensorFlow) on first access.
"""

import importlib.util as _importlib_util

if _importlib_util.find_spec("tensorflow") is None:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "deatf_gan needs TensorFlow. Install it with the package: "
        "pip install 'deatf_gan[cpu]' (CPU-only wheel) or pip install 'deatf_gan[gpu]' (CUDA)."
    )

from deatf_gan.config import Config, config_from_dict, load_config, save_config
from deatf_gan.errors import (
    ConfigError,
    DataError,
    DeatfGanError,
    GenomeError,
    IndividualFailed,
    RunAborted,
    RunFinished,
)
from deatf_gan.evaluation import EvalContext, EvalResult, eval_gan
from deatf_gan.evolution import EvolutionResult, Hook, Individual, evolve
from deatf_gan.fitness import FITNESSES
from deatf_gan.genome import GANGenome, Hyperparameters, LayerGene, MLPDescriptor, SearchSpace
from deatf_gan.operators import CROSSOVERS, MUTATIONS
from deatf_gan.runs import load_run, resume_run

_FROM_LOSSES = ("discriminator_loss", "generator_loss")


def __getattr__(name: str):
    if name in _FROM_LOSSES:
        from deatf_gan import losses

        return getattr(losses, name)
    raise AttributeError(f"module 'deatf_gan' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "CROSSOVERS",
    "FITNESSES",
    "MUTATIONS",
    "Config",
    "ConfigError",
    "DataError",
    "DeatfGanError",
    "EvalContext",
    "EvalResult",
    "EvolutionResult",
    "GANGenome",
    "GenomeError",
    "Hook",
    "Hyperparameters",
    "Individual",
    "IndividualFailed",
    "LayerGene",
    "MLPDescriptor",
    "RunAborted",
    "RunFinished",
    "SearchSpace",
    "config_from_dict",
    "discriminator_loss",
    "eval_gan",
    "evolve",
    "generator_loss",
    "load_config",
    "load_run",
    "resume_run",
    "save_config",
]
