"""The records of a run: individuals and their fitness, what hooks see, what checkpoints restore."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from deap import base, tools

from deatf_gan.config import Config
from deatf_gan.datasets import Dataset
from deatf_gan.evaluation import EvalResult
from deatf_gan.genome import GANGenome
from deatf_gan.inheritance import Inheritance


class Fitness(base.Fitness):
    """DEAP fitness whose weights are set per run (``evaluation.weights``; default minimise one value).

    DEAP expects weights as a class attribute and suggests ``creator.create`` per run; one
    module-level class with instance weights pickles and never warns about re-creation.
    """

    weights = (-1.0,)

    def __init__(self, values=(), weights: tuple[float, ...] = (-1.0,)):
        self.weights = tuple(weights)
        super().__init__(values)

    def __deepcopy__(self, memo):
        return _restore_fitness(self.weights, self.wvalues)

    def __reduce__(self):
        return (_restore_fitness, (self.weights, self.wvalues))


def _restore_fitness(weights, wvalues) -> Fitness:
    fitness = Fitness(weights=weights)
    fitness.wvalues = wvalues
    return fitness


class Individual:
    """A genome with its DEAP fitness and its record: id, lineage, birth generation, result,
    and until it is evaluated what it inherits from its parents.

    Defined once at module level so it pickles; workers only ever see the plain genome.
    """

    inheritance: Inheritance | None = None  # a class default: checkpoints made before it existed load

    def __init__(self, genome: GANGenome, id: int, born: int, seed: int, parents=(), operators=(), weights=(-1.0,)):
        self.genome = genome
        self.fitness = Fitness(weights=weights)
        self.id = id
        self.born = born
        self.seed = seed
        self.parents = tuple(parents)
        self.operators = tuple(operators)
        self.result: EvalResult | None = None

    def __repr__(self) -> str:
        return f"Individual(id={self.id}, fitness={self.fitness.values})"

    @property
    def failed(self) -> bool:
        return self.result is not None and self.result.failed


@dataclass
class GenerationState:
    """What hooks see after each generation (and at the start and end of the run)."""

    config: Config
    dataset: Dataset
    generation: int
    population: list[Individual]
    hall_of_fame: tools.HallOfFame
    logbook: tools.Logbook
    evaluated: list[Individual] = field(default_factory=list)
    seconds: float = 0.0
    rng_state: dict | None = None  # the driver's NumPy generator, for checkpoints
    next_id: int = 0
    consecutive_failures: int = 0
    map_fn: Callable = map  # the run's ``map``: work a hook hands it runs where evaluations run

    def resume_state(self) -> ResumeState:
        """What a checkpoint of this generation saves."""
        return ResumeState(
            self.generation,
            self.population,
            self.hall_of_fame,
            self.logbook,
            self.rng_state,
            self.next_id,
            self.consecutive_failures,
        )


@dataclass(frozen=True)
class EvaluationProgress:
    """Sent to hooks after every finished evaluation, for progress displays."""

    generation: int
    done: int
    total: int
    best: float  # best fitness (first objective) seen so far in the run
    individual: Individual


class Hook:
    """Base reporter: override what you need. A checkpointer or a printer is one of these."""

    def on_start(self, state: GenerationState) -> None: ...

    def on_evaluation(self, progress: EvaluationProgress) -> None: ...

    def on_generation(self, state: GenerationState) -> None: ...

    def on_end(self, state: GenerationState) -> None: ...

    def on_stop(self) -> None:
        """Called last however the run ends (finished, aborted by an error, interrupted):
        release what ``on_start`` took, such as a thread or an open file."""


@dataclass(frozen=True)
class EvolutionResult:
    config: Config
    population: list[Individual]
    logbook: tools.Logbook
    hall_of_fame: tools.HallOfFame

    @property
    def best(self) -> Individual:
        return self.hall_of_fame[0]


def same_genome(a: Individual, b: Individual) -> bool:
    """Hall-of-fame duplicate test (module level, so the hall of fame pickles)."""
    return a.genome == b.genome


class HallOfFame(tools.HallOfFame):
    """DEAP's hall of fame, except that a duplicate (``similar``) that is fitter replaces its
    twin. DEAP keeps the first: with a noisy fitness the same genome evaluated again may
    score better, and that better individual (with its weights) is the one to keep, so
    rank 1 is always the best individual the run has seen."""

    def update(self, population) -> None:
        for individual in population:
            twin = next((i for i, member in enumerate(self) if self.similar(individual, member)), None)
            if twin is not None:
                if individual.fitness > self[twin].fitness:
                    self.remove(twin)
                    self.insert(individual)
            elif len(self) < self.maxsize or individual.fitness > self[-1].fitness:
                if len(self) >= self.maxsize:
                    self.remove(-1)
                self.insert(individual)


class EvaluationCache:
    """Where finished evaluations are kept until their generation is checkpointed.

    A run directory provides one on disk, so a crash never recomputes finished work;
    keys are the genome's fingerprint plus the individual's seed.
    """

    def get(self, genome: GANGenome, seed: int) -> EvalResult | None:
        return None

    def put(self, genome: GANGenome, seed: int, result: EvalResult) -> None: ...


@dataclass
class ResumeState:
    """What a checkpoint restores: everything the loop needs to go on as if never stopped."""

    generation: int
    population: list[Individual]
    hall_of_fame: tools.HallOfFame
    logbook: tools.Logbook
    rng_state: dict
    next_id: int
    consecutive_failures: int = 0
