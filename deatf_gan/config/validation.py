"""Config checks the type walk cannot make: ranges, cross-field rules, registered names."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deatf_gan.config.schema import Config, NetworkSpaceConfig
from deatf_gan.datasets import DATASETS, check_params
from deatf_gan.errors import ConfigError, GenomeError
from deatf_gan.genome import ACTIVATIONS, INITIALIZERS, LOSSES, MAX_PACKING, OPTIMIZERS, GANGenome
from deatf_gan.registry import Registry

# Names that live in registries downstream of the config (fitness measures, operators) are
# checked by the module that owns them: it registers a check here, so the config never
# imports it. ``validate_config`` runs every registered check after its own.
CHECKS: Registry[Callable[[Config], None]] = Registry("config check")
# Checks that import the user's code (``evaluation.function``). Reading a run directory skips
# them: a config found in a folder somebody handed over names modules nobody asked to run.
IMPORT_CHECKS: Registry[Callable[[Config], None]] = Registry("config import check")


def require(condition: bool, path: str, message: str, value: Any) -> None:
    """Raise ``path: message (got value)`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(f"{path}: {message} (got {value!r})")


def _validate_range(r, path: str, lowest: float, highest: float = float("inf"), open_high: bool = False) -> None:
    require(r.min >= lowest, f"{path}.min", f"must be >= {lowest}", r.min)
    if open_high:
        require(r.max < highest, f"{path}.max", f"must be < {highest}", r.max)
    else:
        require(r.max <= highest, f"{path}.max", f"must be <= {highest}", r.max)
    require(r.min <= r.max, path, "min must not exceed max", {"min": r.min, "max": r.max})


def _require_count_or_null(value: int | None, path: str, null_means: str) -> None:
    require(value is None or value >= 1, path, f"must be >= 1 or null ({null_means})", value)


def validate_names(names, path: str, valid, allow_empty: bool = False) -> None:
    """Each of ``names`` is one of ``valid``; the error names the index in the list."""
    require(allow_empty or len(names) > 0, path, "must not be empty", list(names))
    for index, name in enumerate(names):
        require(name in valid, f"{path}[{index}]", f"must be one of {', '.join(map(str, valid))}", name)


def _validate_network(space: NetworkSpaceConfig, path: str) -> None:
    require(space.min_layers >= 1, f"{path}.min_layers", "must be >= 1", space.min_layers)
    require(
        space.min_layers <= space.max_layers,
        f"{path}.min_layers",
        f"must not exceed max_layers ({space.max_layers})",
        space.min_layers,
    )
    _validate_range(space.units, f"{path}.units", 1)
    validate_names(space.activations, f"{path}.activations", ACTIVATIONS)
    validate_names(space.initializers, f"{path}.initializers", INITIALIZERS)
    _validate_range(space.dropout, f"{path}.dropout", 0.0, 1.0, open_high=True)


def validate_config(config: Config, import_user_code: bool = True) -> None:
    """Cross-field and registry checks that the type walk alone cannot make; with
    ``import_user_code`` false, the user's modules the config names are not imported."""
    require(config.seed >= 0, "seed", "must be >= 0", config.seed)
    require(
        config.data.name in DATASETS, "data.name", f"must be one of {', '.join(DATASETS.names())}", config.data.name
    )
    accepted = set(inspect.signature(DATASETS.get(config.data.name)).parameters) - {"seed"}
    for key in config.data.params:
        require(
            key in accepted,
            f"data.params.{key}",
            f"unknown parameter of {config.data.name} (valid: {', '.join(sorted(accepted))})",
            config.data.params[key],
        )
    check_params(config.data.name, config.data.params)
    if config.data.name == "file":  # a missing data file is a config mistake: refuse before any run directory exists
        path = config.data.params.get("path")
        require(
            path is not None and Path(str(path)).is_file(),
            "data.params.path",
            "the file data source needs an existing .npy or .csv file",
            path,
        )

    space = config.search_space
    for role in ("generator", "discriminator"):
        _validate_network(getattr(space, role), f"search_space.{role}")
    hyper = space.hyperparameters
    for name in ("generator_learning_rate", "discriminator_learning_rate"):
        _validate_range(getattr(hyper, name), f"search_space.hyperparameters.{name}", 1e-12, 10.0)
    validate_names(hyper.optimizers, "search_space.hyperparameters.optimizers", OPTIMIZERS)
    require(len(hyper.batch_sizes) > 0, "search_space.hyperparameters.batch_sizes", "must not be empty", [])
    for index, size in enumerate(hyper.batch_sizes):
        require(size >= 1, f"search_space.hyperparameters.batch_sizes[{index}]", "must be >= 1", size)
    _validate_range(hyper.latent_dim, "search_space.hyperparameters.latent_dim", 1)
    _validate_range(hyper.discriminator_steps, "search_space.hyperparameters.discriminator_steps", 1, 20)
    validate_names(hyper.losses, "search_space.hyperparameters.losses", LOSSES)
    require(len(hyper.generator_ema) > 0, "search_space.hyperparameters.generator_ema", "must not be empty", [])
    for index, decay in enumerate(hyper.generator_ema):
        require(0.0 <= decay < 1.0, f"search_space.hyperparameters.generator_ema[{index}]", "must be in [0, 1)", decay)
    require(len(hyper.r1_penalty) > 0, "search_space.hyperparameters.r1_penalty", "must not be empty", [])
    for index, weight in enumerate(hyper.r1_penalty):
        require(0.0 <= weight <= 1000.0, f"search_space.hyperparameters.r1_penalty[{index}]", "must be in [0, 1000]",
                weight)  # fmt: skip
    require(len(hyper.packing) > 0, "search_space.hyperparameters.packing", "must not be empty", [])
    most = min(MAX_PACKING, *hyper.batch_sizes)  # each pack holds distinct samples of one batch
    for index, degree in enumerate(hyper.packing):
        require(1 <= degree <= most, f"search_space.hyperparameters.packing[{index}]",
                f"must be in [1, {most}] (at most {MAX_PACKING} and the smallest batch size)", degree)  # fmt: skip

    training = config.training
    require(training.steps >= 1, "training.steps", "must be >= 1", training.steps)
    require(training.latent_stddev > 0, "training.latent_stddev", "must be > 0", training.latent_stddev)
    require(
        training.eval_samples >= 1000,
        "training.eval_samples",
        "must be >= 1000 (fitness needs a large held-out batch)",
        training.eval_samples,
    )

    evaluation = config.evaluation
    names = evaluation.fitness_names
    require(len(names) > 0, "evaluation.fitness", "must name at least one measure", [])
    for index, weight in enumerate(evaluation.weights):
        require(weight != 0, f"evaluation.weights[{index}]", "must be non-zero (negative minimises)", weight)
    if evaluation.signature == "deatf":
        require(
            evaluation.function is not None,
            "evaluation.signature",
            "'deatf' needs evaluation.function",
            evaluation.signature,
        )
    if evaluation.function is None:
        require(
            not evaluation.weights or len(evaluation.weights) == len(names),
            "evaluation.weights",
            f"eval_gan returns one value per fitness measure; give {len(names)} weight(s) or none",
            list(evaluation.weights),
        )
    require(
        evaluation.max_consecutive_failures >= 1,
        "evaluation.max_consecutive_failures",
        "must be >= 1",
        evaluation.max_consecutive_failures,
    )

    evolution = config.evolution
    require(evolution.population >= 1, "evolution.population", "must be >= 1", evolution.population)
    require(evolution.offspring >= 1, "evolution.offspring", "must be >= 1", evolution.offspring)
    require(evolution.generations >= 0, "evolution.generations", "must be >= 0", evolution.generations)
    for name in ("crossover_probability", "mutation_probability"):
        value = getattr(evolution, name)
        require(0.0 <= value <= 1.0, f"evolution.{name}", "must be in [0, 1]", value)
    if evolution.algorithm != "simple":
        total = evolution.crossover_probability + evolution.mutation_probability
        require(
            total <= 1.0,
            "evolution.mutation_probability",
            "crossover_probability + mutation_probability must be <= 1 for µ+λ and µ,λ",
            total,
        )
    if evolution.algorithm == "mu_comma_lambda":
        require(
            evolution.offspring >= evolution.population,
            "evolution.offspring",
            "must be >= population for mu_comma_lambda",
            evolution.offspring,
        )
    require(
        evolution.selection.tournament_size >= 1,
        "evolution.selection.tournament_size",
        "must be >= 1",
        evolution.selection.tournament_size,
    )
    require(
        0 <= evolution.elitism <= evolution.population,
        "evolution.elitism",
        f"must be in [0, population ({evolution.population})]",
        evolution.elitism,
    )
    require(evolution.hall_of_fame >= 1, "evolution.hall_of_fame", "must be >= 1", evolution.hall_of_fame)
    train_on = evolution.train_on
    require(train_on.rounds >= 0, "evolution.train_on.rounds", "must be >= 0", train_on.rounds)
    require(train_on.children >= 1, "evolution.train_on.children", "must be >= 1", train_on.children)
    require(train_on.candidates >= 1, "evolution.train_on.candidates", "must be >= 1", train_on.candidates)
    require(train_on.halving_every >= 1, "evolution.train_on.halving_every", "must be >= 1", train_on.halving_every)
    decay = train_on.learning_rate_decay
    require(0 < decay <= 1, "evolution.train_on.learning_rate_decay", "must be in (0, 1]", decay)
    _require_count_or_null(train_on.steps, "evolution.train_on.steps", "training.steps")
    require(
        train_on.rounds == 0 or evolution.inherit_weights,
        "evolution.train_on.rounds",
        "needs evolution.inherit_weights: true (a round trains on from the best's weights)",
        train_on.rounds,
    )
    _validate_initial_genomes(config)

    executor = config.executor
    _require_count_or_null(executor.workers, "executor.workers", "one per core")
    require(
        executor.address is None or executor.kind == "dask",
        "executor.address",
        "is only used with executor.kind: dask",
        executor.address,
    )
    require(executor.retries >= 0, "executor.retries", "must be >= 0", executor.retries)
    _require_count_or_null(executor.chunk_size, "executor.chunk_size", "automatic")
    for name in CHECKS:
        CHECKS.get(name)(config)
    if import_user_code:
        for name in IMPORT_CHECKS:
            IMPORT_CHECKS.get(name)(config)


def _validate_initial_genomes(config: Config) -> None:
    """``evolution.initial_genomes``: at most a population of them, each a genome inside the
    search space (a design outside it could not be mutated or crossed as evolution's own are)."""
    genomes, population = config.evolution.initial_genomes, config.evolution.population
    require(
        len(genomes) <= population,
        "evolution.initial_genomes",
        f"must hold at most evolution.population ({population}) genomes",
        f"{len(genomes)} genomes",
    )
    space = config.build_search_space()
    for i, data in enumerate(genomes):
        try:
            space.validate(GANGenome.from_dict(data))
        except GenomeError as error:
            raise ConfigError(f"evolution.initial_genomes[{i}]: {error}") from None
