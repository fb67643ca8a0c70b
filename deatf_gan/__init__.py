"""deatf_gan: evolve GAN architectures (generator + discriminator MLPs) with DEAP and Keras."""

try:
    import tensorflow as _tensorflow  # noqa: F401
except ImportError as _error:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "deatf_gan needs TensorFlow. Install it with the package: "
        "pip install 'deatf_gan[cpu]' (CPU-only wheel) or pip install 'deatf_gan[gpu]' (CUDA)."
    ) from _error

from deatf_gan.config import Config, config_from_dict, load_config, save_config
from deatf_gan.errors import ConfigError, DataError, DeatfGanError, GenomeError, IndividualFailed, RunAborted
from deatf_gan.evaluation import FITNESSES, EvalContext, EvalResult, eval_gan
from deatf_gan.evolution import EvolutionResult, Hook, Individual, evolve
from deatf_gan.genome import GANGenome, Hyperparameters, LayerGene, MLPDescriptor, SearchSpace
from deatf_gan.operators import CROSSOVERS, MUTATIONS
from deatf_gan.runs import load_run, resume_run
from deatf_gan.training import discriminator_loss, generator_loss

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
