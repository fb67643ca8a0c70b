"""The typed config schema: defaults, unknown keys rejected, errors that name the key path.

A config is a tree of frozen dataclasses. :func:`config_from_dict` walks the raw mapping
(usually parsed YAML) against the type hints, so a wrong type, an unknown key or an
out-of-range value raises :class:`ConfigError` as ``key.path: what is wrong (got value)``.
:func:`save_config` writes YAML that loads back to an equal config.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from deatf_gan.datasets import DATASETS
from deatf_gan.errors import ConfigError
from deatf_gan.genome import ACTIVATIONS, INITIALIZERS, OPTIMIZERS
from deatf_gan.genome.space import Choice, FloatRange, HyperparameterSpace, IntRange, NetworkSpace, SearchSpace


@dataclass(frozen=True)
class IntRangeConfig:
    min: int
    max: int


@dataclass(frozen=True)
class FloatRangeConfig:
    min: float
    max: float


@dataclass(frozen=True)
class NetworkSpaceConfig:
    """Hidden-layer choices of one network."""

    min_layers: int = 1
    max_layers: int = 3
    units: IntRangeConfig = IntRangeConfig(4, 32)
    activations: tuple[str, ...] = ("relu", "leaky_relu", "elu", "tanh")
    initializers: tuple[str, ...] = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal")
    dropout: FloatRangeConfig = FloatRangeConfig(0.0, 0.2)
    batch_norm: bool = True  # whether batch normalisation may be switched on


@dataclass(frozen=True)
class HyperparameterSpaceConfig:
    """Ranges of the evolved training settings; learning rates are sampled log-uniformly."""

    generator_learning_rate: FloatRangeConfig = FloatRangeConfig(1e-4, 1e-2)
    discriminator_learning_rate: FloatRangeConfig = FloatRangeConfig(1e-4, 1e-2)
    optimizers: tuple[str, ...] = ("adam", "rmsprop", "sgd")
    batch_sizes: tuple[int, ...] = (32, 64, 128)
    latent_dim: IntRangeConfig = IntRangeConfig(1, 8)
    discriminator_steps: IntRangeConfig = IntRangeConfig(1, 3)


@dataclass(frozen=True)
class SearchSpaceConfig:
    generator: NetworkSpaceConfig = NetworkSpaceConfig()
    discriminator: NetworkSpaceConfig = NetworkSpaceConfig()
    hyperparameters: HyperparameterSpaceConfig = HyperparameterSpaceConfig()


@dataclass(frozen=True)
class DataConfig:
    """A registered data source and its keyword parameters."""

    name: str = "gaussian_1d"
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingConfig:
    """How each individual is trained: ``steps`` generator updates (DEATF's ``iters``).

    ``evaluator: batched`` trains a whole chunk of individuals side by side in one compiled
    function (``deatf_gan.batched``), ``keras`` one individual at a time in its own Keras
    models; a custom ``evaluation.function`` always runs per individual. ``jit_compile``
    (XLA) left out: on for ``batched``, where one compilation serves the whole run, off for
    ``keras``, where every individual would pay its own.
    """

    steps: int = 1000
    latent_stddev: float = 1.0
    eval_samples: int = 2000
    evaluator: Literal["batched", "keras"] = "batched"
    jit_compile: bool | None = None


@dataclass(frozen=True)
class EvaluationConfig:
    """How individuals are scored.

    ``fitness`` names a measure for the default ``eval_gan``, or a list of measures for
    several objectives (select with ``nsga2``); ``function`` replaces ``eval_gan`` with
    ``"module:function"`` called as ``function(genome, context, **kwargs)`` (``signature:
    deatf`` for code written for DEATF's positional signature). ``weights`` has one entry
    per objective: negative minimises, positive maximises; left out, every objective is
    minimised.
    """

    fitness: str | tuple[str, ...] = "judged_generator_loss"
    function: str | None = None
    kwargs: dict = field(default_factory=dict)
    signature: Literal["deatf_gan", "deatf"] = "deatf_gan"
    weights: tuple[float, ...] = ()
    max_consecutive_failures: int = 20

    @property
    def fitness_names(self) -> tuple[str, ...]:
        return (self.fitness,) if isinstance(self.fitness, str) else tuple(self.fitness)

    @property
    def objective_weights(self) -> tuple[float, ...]:
        """``weights``, or -1 (minimise) for each objective: one per fitness measure of
        ``eval_gan``, one for a custom function unless it gives weights."""
        if self.weights:
            return tuple(self.weights)
        return (-1.0,) * (len(self.fitness_names) if self.function is None else 1)


@dataclass(frozen=True)
class SelectionConfig:
    method: Literal["tournament", "best", "nsga2"] = "tournament"
    tournament_size: int = 3


@dataclass(frozen=True)
class EvolutionConfig:
    """The generation loop: µ+λ (default), µ,λ or the simple GA."""

    algorithm: Literal["mu_plus_lambda", "mu_comma_lambda", "simple"] = "mu_plus_lambda"
    population: int = 8
    offspring: int = 8
    generations: int = 5
    crossover_probability: float = 0.3
    mutation_probability: float = 0.7
    selection: SelectionConfig = SelectionConfig()
    hall_of_fame: int = 3
    mutations: tuple[str, ...] | None = None  # None: every registered mutation
    crossovers: tuple[str, ...] | None = None  # None: every registered crossover


@dataclass(frozen=True)
class ExecutorConfig:
    """Where evaluations run (see ``deatf_gan.executors``); results are the same on every kind."""

    kind: Literal["serial", "processes", "dask"] = "processes"
    workers: int | None = None  # None: one per core
    address: str | None = None  # dask only: None starts a local cluster, "tcp://host:8786" joins one
    retries: int = 2  # how often a job whose worker died is run again
    chunk_size: int | None = None  # individuals per unit of work; None: a batched evaluator's jobs split evenly over the workers, else 1


@dataclass(frozen=True)
class Config:
    seed: int = 0
    data: DataConfig = DataConfig()
    search_space: SearchSpaceConfig = SearchSpaceConfig()
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    evolution: EvolutionConfig = EvolutionConfig()
    executor: ExecutorConfig = ExecutorConfig()

    def build_search_space(self) -> SearchSpace:
        return build_search_space(self.search_space)


# --- parsing -------------------------------------------------------------------------------


def _type_name(hint) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(hint)))
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(hint)[0])}"
    if dataclasses.is_dataclass(hint):
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string", dict: "a mapping"}.get(
        hint, str(hint)
    )


def _coerce(value: Any, hint, path: str):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        options = [option for option in options if option is not type(None)]
        if len(options) > 1:  # e.g. one name or a list of names: the first that fits
            for option in options[:-1]:
                try:
                    return _coerce(value, option, path)
                except ConfigError:
                    pass
        hint = options[-1]
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path)
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{path}: must be {_type_name(hint)} (got {value!r})")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: must be {_type_name(hint)} (got {value!r})")
        item = typing.get_args(hint)[0]
        return tuple(_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):
        try:  # YAML 1.1 reads 1e-3 (no dot) as a string
            return float(value)
        except ValueError:
            pass
    if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):
        raise ConfigError(f"{path}: must be {_type_name(hint)} (got {value!r})")
    return value


def _build(cls, data: Any, path: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: must be a mapping (got {data!r})")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"{where}: unknown key (valid keys: {', '.join(names)})")
    values = {}
    for f in dataclasses.fields(cls):
        where = f"{path}.{f.name}" if path else f.name
        if f.name in data:
            values[f.name] = _coerce(data[f.name], hints[f.name], where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing required key")
    return cls(**values)


def config_from_dict(data: Any) -> Config:
    """Parse and validate a raw mapping; raises ConfigError naming the bad key path."""
    config = _build(Config, {} if data is None else data, "")
    validate_config(config)
    return config


def config_to_dict(config: Config) -> dict:
    """Plain data (lists, not tuples) that :func:`config_from_dict` reads back equal."""

    def plain(value):
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(dataclasses.asdict(config))


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a YAML config, apply ``key.path=value`` overrides, validate."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    raw = apply_overrides(raw if raw is not None else {}, overrides)
    return config_from_dict(raw)


def save_config(config: Config, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))


def apply_overrides(raw: Any, overrides: list[str] | tuple[str, ...]) -> dict:
    """``--set evolution.generations=3``: the value is read as YAML (numbers, lists, true)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"config: must be a mapping (got {raw!r})")
    raw = dict(raw)
    for override in overrides:
        key, sep, text = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {override!r}: expected key.path=value")
        parts = key.split(".")
        node = raw
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{'.'.join(parts[: depth + 1])}: cannot set a key inside {child!r}")
            node[part] = child = dict(child)
            node = child
        try:
            node[parts[-1]] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"--set {override!r}: value is not valid YAML") from None
    return raw


# --- validation ----------------------------------------------------------------------------


def _require(condition: bool, path: str, message: str, value: Any) -> None:
    if not condition:
        raise ConfigError(f"{path}: {message} (got {value!r})")


def _validate_range(r, path: str, lowest: float, highest: float = float("inf"), open_high: bool = False) -> None:
    _require(r.min >= lowest, f"{path}.min", f"must be >= {lowest}", r.min)
    if open_high:
        _require(r.max < highest, f"{path}.max", f"must be < {highest}", r.max)
    else:
        _require(r.max <= highest, f"{path}.max", f"must be <= {highest}", r.max)
    _require(r.min <= r.max, path, "min must not exceed max", {"min": r.min, "max": r.max})


def _validate_names(names, path: str, valid, allow_empty: bool = False) -> None:
    _require(allow_empty or len(names) > 0, path, "must not be empty", list(names))
    for index, name in enumerate(names):
        _require(name in valid, f"{path}[{index}]", f"must be one of {', '.join(map(str, valid))}", name)


def _validate_network(space: NetworkSpaceConfig, path: str) -> None:
    _require(space.min_layers >= 1, f"{path}.min_layers", "must be >= 1", space.min_layers)
    _require(
        space.min_layers <= space.max_layers,
        f"{path}.min_layers",
        f"must not exceed max_layers ({space.max_layers})",
        space.min_layers,
    )
    _validate_range(space.units, f"{path}.units", 1)
    _validate_names(space.activations, f"{path}.activations", ACTIVATIONS)
    _validate_names(space.initializers, f"{path}.initializers", INITIALIZERS)
    _validate_range(space.dropout, f"{path}.dropout", 0.0, 1.0, open_high=True)


def validate_config(config: Config) -> None:
    """Cross-field and registry checks that the type walk alone cannot make."""
    from deatf_gan.evaluation import FITNESSES, load_function  # the fitness registry sits downstream of config
    from deatf_gan.operators import CROSSOVERS, MUTATIONS

    _require(config.seed >= 0, "seed", "must be >= 0", config.seed)
    _require(config.data.name in DATASETS, "data.name", f"must be one of {', '.join(DATASETS.names())}", config.data.name)
    accepted = set(inspect.signature(DATASETS.get(config.data.name)).parameters) - {"seed"}
    for key in config.data.params:
        _require(key in accepted, f"data.params.{key}", f"unknown parameter of {config.data.name} (valid: {', '.join(sorted(accepted))})", config.data.params[key])
    if config.data.name == "file":  # a missing data file is a config mistake: refuse before any run directory exists
        path = config.data.params.get("path")
        _require(path is not None and Path(str(path)).is_file(), "data.params.path", "the file data source needs an existing .npy or .csv file", path)

    space = config.search_space
    for role in ("generator", "discriminator"):
        _validate_network(getattr(space, role), f"search_space.{role}")
    hyper = space.hyperparameters
    for name in ("generator_learning_rate", "discriminator_learning_rate"):
        _validate_range(getattr(hyper, name), f"search_space.hyperparameters.{name}", 1e-12, 10.0)
    _validate_names(hyper.optimizers, "search_space.hyperparameters.optimizers", OPTIMIZERS)
    _require(len(hyper.batch_sizes) > 0, "search_space.hyperparameters.batch_sizes", "must not be empty", [])
    for index, size in enumerate(hyper.batch_sizes):
        _require(size >= 1, f"search_space.hyperparameters.batch_sizes[{index}]", "must be >= 1", size)
    _validate_range(hyper.latent_dim, "search_space.hyperparameters.latent_dim", 1)
    _validate_range(hyper.discriminator_steps, "search_space.hyperparameters.discriminator_steps", 1, 20)

    training = config.training
    _require(training.steps >= 1, "training.steps", "must be >= 1", training.steps)
    _require(training.latent_stddev > 0, "training.latent_stddev", "must be > 0", training.latent_stddev)
    _require(training.eval_samples >= 1000, "training.eval_samples", "must be >= 1000 (fitness needs a large held-out batch)", training.eval_samples)

    evaluation = config.evaluation
    names = evaluation.fitness_names
    _require(len(names) > 0, "evaluation.fitness", "must name at least one measure", [])
    for index, name in enumerate(names):
        where = "evaluation.fitness" if isinstance(evaluation.fitness, str) else f"evaluation.fitness[{index}]"
        _require(name in FITNESSES, where, f"must be one of {', '.join(FITNESSES.names())}", name)
    if evaluation.function is not None:
        load_function(evaluation.function)  # an unimportable function is reported before any training
    for index, weight in enumerate(evaluation.weights):
        _require(weight != 0, f"evaluation.weights[{index}]", "must be non-zero (negative minimises)", weight)
    if evaluation.signature == "deatf":
        _require(evaluation.function is not None, "evaluation.signature", "'deatf' needs evaluation.function", evaluation.signature)
    if evaluation.function is None:
        _require(
            not evaluation.weights or len(evaluation.weights) == len(names),
            "evaluation.weights",
            f"eval_gan returns one value per fitness measure; give {len(names)} weight(s) or none",
            list(evaluation.weights),
        )
    _require(evaluation.max_consecutive_failures >= 1, "evaluation.max_consecutive_failures", "must be >= 1", evaluation.max_consecutive_failures)

    evolution = config.evolution
    _require(evolution.population >= 1, "evolution.population", "must be >= 1", evolution.population)
    _require(evolution.offspring >= 1, "evolution.offspring", "must be >= 1", evolution.offspring)
    _require(evolution.generations >= 0, "evolution.generations", "must be >= 0", evolution.generations)
    for name in ("crossover_probability", "mutation_probability"):
        value = getattr(evolution, name)
        _require(0.0 <= value <= 1.0, f"evolution.{name}", "must be in [0, 1]", value)
    if evolution.algorithm != "simple":
        total = evolution.crossover_probability + evolution.mutation_probability
        _require(total <= 1.0, "evolution.mutation_probability", "crossover_probability + mutation_probability must be <= 1 for µ+λ and µ,λ", total)
    if evolution.algorithm == "mu_comma_lambda":
        _require(evolution.offspring >= evolution.population, "evolution.offspring", "must be >= population for mu_comma_lambda", evolution.offspring)
    _require(evolution.selection.tournament_size >= 1, "evolution.selection.tournament_size", "must be >= 1", evolution.selection.tournament_size)
    _require(evolution.hall_of_fame >= 1, "evolution.hall_of_fame", "must be >= 1", evolution.hall_of_fame)
    if evolution.mutations is not None:
        _validate_names(evolution.mutations, "evolution.mutations", MUTATIONS.names())
    if evolution.crossovers is not None:
        _validate_names(evolution.crossovers, "evolution.crossovers", CROSSOVERS.names())

    executor = config.executor
    _require(executor.workers is None or executor.workers >= 1, "executor.workers", "must be >= 1 or null (one per core)", executor.workers)
    _require(executor.address is None or executor.kind == "dask", "executor.address", "is only used with executor.kind: dask", executor.address)
    _require(executor.retries >= 0, "executor.retries", "must be >= 0", executor.retries)
    _require(executor.chunk_size is None or executor.chunk_size >= 1, "executor.chunk_size", "must be >= 1 or null (automatic)", executor.chunk_size)


def build_search_space(space: SearchSpaceConfig) -> SearchSpace:
    """The config's ranges as the search-space objects that sample, mutate and validate."""

    def network(c: NetworkSpaceConfig) -> NetworkSpace:
        return NetworkSpace(
            min_layers=c.min_layers,
            max_layers=c.max_layers,
            units=IntRange(c.units.min, c.units.max, log=True),
            activation=Choice(tuple(c.activations)),
            initializer=Choice(tuple(c.initializers)),
            dropout=FloatRange(c.dropout.min, c.dropout.max),
            batch_norm=Choice((False, True) if c.batch_norm else (False,)),
        )

    h = space.hyperparameters
    return SearchSpace(
        generator=network(space.generator),
        discriminator=network(space.discriminator),
        hyperparameters=HyperparameterSpace(
            generator_learning_rate=FloatRange(h.generator_learning_rate.min, h.generator_learning_rate.max, log=True),
            discriminator_learning_rate=FloatRange(
                h.discriminator_learning_rate.min, h.discriminator_learning_rate.max, log=True
            ),
            optimizer=Choice(tuple(h.optimizers)),
            batch_size=Choice(tuple(h.batch_sizes)),
            latent_dim=IntRange(h.latent_dim.min, h.latent_dim.max),
            discriminator_steps=IntRange(h.discriminator_steps.min, h.discriminator_steps.max),
        ),
    )
