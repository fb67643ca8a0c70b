"""The typed config schema: one frozen dataclass per section, with the defaults of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from deatf_gan.genome.records import ACTIVATIONS, INITIALIZERS, LOSSES, OPTIMIZERS
from deatf_gan.genome.space import Choice, FloatRange, HyperparameterSpace, IntRange, NetworkSpace, SearchSpace


@dataclass(frozen=True)
class OneOf:
    """Type-hint metadata of a name field: the names it accepts (the tuples ``validation`` checks
    against), which the JSON Schema (``config.json_schema``) lists for editors. ``typing.get_type_hints``
    drops it unless asked (``include_extras``), so the type walk of ``parsing`` sees a plain ``str``."""

    names: tuple[str, ...]


Activation = Annotated[str, OneOf(ACTIVATIONS)]
Initializer = Annotated[str, OneOf(INITIALIZERS)]
Optimizer = Annotated[str, OneOf(OPTIMIZERS)]
Loss = Annotated[str, OneOf(LOSSES)]


@dataclass(frozen=True)
class IntRangeConfig:
    """Whole numbers from ``min`` to ``max``, both included."""

    min: int
    max: int


@dataclass(frozen=True)
class FloatRangeConfig:
    """Numbers from ``min`` to ``max``."""

    min: float
    max: float


@dataclass(frozen=True)
class NetworkSpaceConfig:
    """Hidden-layer choices of one network."""

    min_layers: int = 1
    max_layers: int = 3
    units: IntRangeConfig = IntRangeConfig(4, 32)
    activations: tuple[Activation, ...] = ("relu", "leaky_relu", "elu", "tanh")
    initializers: tuple[Initializer, ...] = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal")
    dropout: FloatRangeConfig = FloatRangeConfig(0.0, 0.2)
    batch_norm: bool = True  # whether batch normalisation may be switched on


@dataclass(frozen=True)
class GeneratorSpaceConfig(NetworkSpaceConfig):
    """The generator's hidden-layer choices: as any network's, but without dropout unless a
    config asks for it. Samples are drawn with dropout off, so a generator trained with it
    spreads its samples differently from how it trained."""

    dropout: FloatRangeConfig = FloatRangeConfig(0.0, 0.0)


@dataclass(frozen=True)
class HyperparameterSpaceConfig:
    """Ranges of the evolved training settings; learning rates are sampled log-uniformly.

    ``losses`` names the GAN losses an individual may train with (``non_saturating``,
    ``least_squares``, ``hinge``) and ``generator_ema`` the decays in [0, 1) its generator's
    weight average may have (0: no average), ``r1_penalty`` the weights γ >= 0 of the R1
    gradient penalty on real samples (0: none), ``packing`` the PacGAN degrees (samples per
    discriminator input; 1: none). Their defaults train as plain GANs do.
    """

    generator_learning_rate: FloatRangeConfig = FloatRangeConfig(1e-4, 1e-2)
    discriminator_learning_rate: FloatRangeConfig = FloatRangeConfig(1e-4, 1e-2)
    optimizers: tuple[Optimizer, ...] = ("adam", "rmsprop", "sgd")
    batch_sizes: tuple[int, ...] = (32, 64, 128)
    latent_dim: IntRangeConfig = IntRangeConfig(1, 8)
    discriminator_steps: IntRangeConfig = IntRangeConfig(1, 3)
    losses: tuple[Loss, ...] = ("non_saturating",)
    generator_ema: tuple[float, ...] = (0.0,)
    r1_penalty: tuple[float, ...] = (0.0,)
    packing: tuple[int, ...] = (1,)


@dataclass(frozen=True)
class SearchSpaceConfig:
    """The choices evolution searches: each network's hidden layers and the training settings."""

    generator: GeneratorSpaceConfig = GeneratorSpaceConfig()
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
    minimised. An individual that takes longer than ``timeout_s`` fails as timed out and its
    worker process is replaced (``deatf_gan.executors``).
    """

    fitness: str | tuple[str, ...] = "judged_generator_loss"
    function: str | None = None
    kwargs: dict = field(default_factory=dict)
    signature: Literal["deatf_gan", "deatf"] = "deatf_gan"
    weights: tuple[float, ...] = ()
    max_consecutive_failures: int = 20
    timeout_s: float | None = None  # per individual; None: 600 s + 0.1 s per training step

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
    """How parents and survivors are chosen (``nsga2`` for several objectives)."""

    method: Literal["tournament", "best", "nsga2"] = "tournament"
    tournament_size: int = 3


@dataclass(frozen=True)
class TrainOnConfig:
    """Rounds after the last generation in which the best trains on.

    Each round, ``children`` copies of each of the population's fittest genomes (same
    genome, its trained weights, each its own seed) train ``steps`` more generator updates
    (null: ``training.steps``) and are scored like any individual; they become the
    population, so the next round goes on from the best of them. The first round trains the
    ``candidates`` fittest distinct genomes, and every ``halving_every`` rounds the number
    halves (rounded up), so the chain hedges against a search that overrated its winner
    (successive halving); a longer cadence judges each candidate after a longer training,
    so a design that learns slowly but goes further is not cut after a few thousand steps.
    ``learning_rate_decay``: each round's children train with both learning rates times this
    factor (not below the search space's minimum): a step schedule across the rounds, the
    annealing a long GAN training uses, so the chain ends at the low rates that sample
    precision needs (1: the rates evolution chose, unchanged). From
    the first round the hall of fame holds the chain's points only and keeps the best of
    them, so a long training that collapses late loses nothing that came before (early
    stopping by the run's own fitness). Needs ``evolution.inherit_weights``.
    """

    rounds: int = 0
    children: int = 2
    steps: int | None = None
    candidates: int = 1
    learning_rate_decay: float = 1.0
    halving_every: int = 1

    def candidates_in(self, round_index: int) -> int:
        """How many distinct genomes round ``round_index`` (from 0) trains on: ``candidates``
        halved (rounded up) once per ``halving_every`` rounds before it."""
        halvings = round_index // self.halving_every
        return -(-self.candidates // (1 << halvings))


@dataclass(frozen=True)
class EvolutionConfig:
    """The generation loop: µ+λ (default), µ,λ or the simple GA.

    ``inherit_weights``: a child starts from its parents' trained weights and trains
    ``training.steps`` more (Lamarckian inheritance, ``deatf_gan.inheritance``); off, every
    individual trains from fresh weights. ``elitism``: the k fittest of parents and offspring
    always survive into the next population, so tournament selection cannot lose the best
    (0: selection alone decides; NSGA-II keeps its non-dominated front itself and ignores it).
    ``initial_genomes``: known designs that start in generation 0 in place of as many random
    ones (each a genome mapping as in a run's ``genome.json``, or the path of such a file,
    relative to the config file's folder), so evolution refines from them; each must lie in
    the search space.
    """

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
    inherit_weights: bool = True
    elitism: int = 1
    train_on: TrainOnConfig = TrainOnConfig()
    initial_genomes: tuple[dict | str, ...] = ()  # read from files when the config loads: mappings only after

    @property
    def last_generation(self) -> int:
        """The number of the run's last generation: the evolution's, then the train-on rounds."""
        return self.generations + self.train_on.rounds


@dataclass(frozen=True)
class ExecutorConfig:
    """Where evaluations run (see ``deatf_gan.executors``); results are the same on every kind."""

    kind: Literal["serial", "processes", "dask"] = "processes"
    workers: int | None = None  # None: one per core
    address: str | None = None  # dask only: None starts a local cluster, "tcp://host:8786" joins one
    retries: int = 2  # how often a job whose worker died is run again
    chunk_size: int | None = (
        None  # individuals per unit of work; None: a batched evaluator's jobs split evenly over the workers, else 1
    )


@dataclass(frozen=True)
class LoggingConfig:
    """Records of a run beyond its run directory's own files.

    ``tensorboard``: TensorBoard event files in ``RUN_DIR/tensorboard/`` after every
    generation (``deatf_gan.tensorboard_log``), so ``tensorboard --logdir runs/`` compares runs.
    """

    tensorboard: bool = False


@dataclass(frozen=True)
class Config:
    """A deatf_gan run: the data, the search space, how individuals train and are scored, the
    generation loop and where evaluations run. Every key may be left out for its default."""

    seed: int = 0
    data: DataConfig = DataConfig()
    search_space: SearchSpaceConfig = SearchSpaceConfig()
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    evolution: EvolutionConfig = EvolutionConfig()
    executor: ExecutorConfig = ExecutorConfig()
    logging: LoggingConfig = LoggingConfig()

    def build_search_space(self) -> SearchSpace:
        return build_search_space(self.search_space)


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
            loss=Choice(tuple(h.losses)),
            generator_ema=Choice(tuple(h.generator_ema)),
            r1_penalty=Choice(tuple(h.r1_penalty)),
            packing=Choice(tuple(h.packing)),
        ),
    )
