"""The generation loop: variation, evaluating only invalid individuals, hall of fame, logbook, hooks."""

from __future__ import annotations

import copy
import functools
import itertools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import replace

import numpy as np
from deap import tools

from deatf_gan import xla_cache
from deatf_gan.config import CHECKS, Config, EvolutionConfig, validate_names
from deatf_gan.datasets import Dataset, load_dataset
from deatf_gan.errors import GenomeError, RunAborted
from deatf_gan.evaluation import EvalContext, EvalResult, Job
from deatf_gan.evaluators import default_evaluation, evaluation_time_limit, job_function, job_result
from deatf_gan.evolution.records import (
    EvaluationCache,
    EvaluationProgress,
    EvolutionResult,
    Fitness,
    GenerationState,
    HallOfFame,
    Hook,
    Individual,
    ResumeState,
    same_genome,
)
from deatf_gan.executors import make_executor
from deatf_gan.fitness import check_fitness_applies, fitness_functions
from deatf_gan.genome import GANGenome, SearchSpace
from deatf_gan.inheritance import Inheritance, Parent
from deatf_gan.memory import check_memory_fits
from deatf_gan.operators import CROSSOVERS, MUTATIONS, OperatorRaised, crossover, mutate

# --- selection (seeded; DEAP's selectors use the global ``random`` module) ---------------------


def select_tournament(
    individuals: Sequence[Individual], k: int, rng: np.random.Generator, size: int
) -> list[Individual]:
    """``k`` winners of tournaments among ``size`` aspirants drawn with replacement."""
    chosen = []
    for _ in range(k):
        aspirants = [individuals[int(i)] for i in rng.integers(len(individuals), size=size)]
        chosen.append(max(aspirants, key=lambda ind: ind.fitness))
    return chosen


def select_best(individuals: Sequence[Individual], k: int, rng: np.random.Generator, size: int = 0) -> list[Individual]:
    """The ``k`` fittest (a stable sort, so ties keep population order)."""
    return sorted(individuals, key=lambda ind: ind.fitness, reverse=True)[:k]


def select_nsga2(
    individuals: Sequence[Individual], k: int, rng: np.random.Generator, size: int = 0
) -> list[Individual]:
    """NSGA-II (Deb et al. 2002) for several objectives; deterministic, so ``rng`` is unused."""
    return tools.selNSGA2(list(individuals), k)


SELECTIONS = {"tournament": select_tournament, "best": select_best, "nsga2": select_nsga2}


@CHECKS.register("operators")
def check_operator_names(config: Config) -> None:
    """``evolution.mutations`` and ``evolution.crossovers`` name registered operators."""
    evolution = config.evolution
    if evolution.mutations is not None:
        validate_names(evolution.mutations, "evolution.mutations", MUTATIONS.names())
    if evolution.crossovers is not None:
        validate_names(evolution.crossovers, "evolution.crossovers", CROSSOVERS.names())


# --- the loop ---------------------------------------------------------------------------------


def elite_of(individuals: Sequence[Individual], evolution: EvolutionConfig) -> list[Individual]:
    """The ``evolution.elitism`` fittest scored individuals, fittest first (none under NSGA-II,
    whose selection keeps the non-dominated front itself). Of a population, they are the
    members sure to survive into the next one."""
    if evolution.elitism == 0 or evolution.selection.method == "nsga2":
        return []
    scored = [ind for ind in individuals if not ind.failed]
    return sorted(scored, key=lambda ind: ind.fitness, reverse=True)[: evolution.elitism]


def individual_seed(run_seed: int, individual_id: int) -> int:
    """Each individual's own seed: a function of the run seed and its id only, so results
    do not depend on evaluation order or on which worker runs them."""
    return int(np.random.SeedSequence([run_seed, individual_id]).generate_state(1)[0] % (2**31 - 1))


def _child(produced, source: GANGenome, kind: str, name: str | None) -> tuple[GANGenome, str | None]:
    """An operator's return value as a child's genome, or, when it is no GANGenome (a user
    operator returned None or raised), the operator's input with the reason the child fails."""
    if isinstance(produced, GANGenome):
        return produced, None
    if isinstance(produced, OperatorRaised):
        return source, f"{kind} {name!r} raised {produced.reason}"
    return source, f"{kind} {name!r} returned {type(produced).__name__}, expected a GANGenome"


class _Evolution:
    """One run's mutable state; :func:`evolve` is the public entry point."""

    def __init__(
        self,
        config: Config,
        evaluate: Callable,
        map_fn: Callable,
        hooks: Iterable[Hook],
        dataset: Dataset | None,
        cache: EvaluationCache | None = None,
    ):
        self.config = config
        self.cache = cache or EvaluationCache()
        self.consecutive_failures = 0
        self.best_seen: Fitness | None = None
        self.weights = config.evaluation.objective_weights
        self.space: SearchSpace = config.build_search_space()
        self.rng = np.random.default_rng(config.seed)
        self.dataset = (
            dataset if dataset is not None else load_dataset(config.data.name, config.data.params, config.seed)
        )
        self.context = EvalContext(
            dataset=self.dataset,
            steps=config.training.steps,
            latent_stddev=config.training.latent_stddev,
            eval_samples=config.training.eval_samples,
            fitness=fitness_functions(config.evaluation.fitness_names),  # resolved: workers need no registry
            jit_compile=bool(config.training.jit_compile),  # per-individual training: XLA only if asked
            objectives=len(self.weights),
        )
        check_fitness_applies(self.context.fitness, self.dataset)
        check_memory_fits(config, self.dataset.dim)
        self.evaluate = evaluate
        self.map_fn = map_fn
        self.hooks = list(hooks)
        self.next_id = 0
        evo = config.evolution
        self.hall_of_fame = HallOfFame(evo.hall_of_fame, similar=same_genome)
        self.logbook = tools.Logbook()
        self.logbook.header = ["gen", "evaluated", "failures", "min", "mean", "max", "std", "best", "seconds"]
        selection = SELECTIONS[evo.selection.method]
        self.select = functools.partial(selection, size=evo.selection.tournament_size)

    def new_individual(
        self,
        genome: GANGenome,
        born: int,
        parents: Sequence[Individual] = (),
        operators=(),
        inheritance=None,
        failure: str | None = None,
    ) -> Individual:
        """A child of ``parents`` (its own first), inheriting their trained weights when the
        run inherits (``evolution.inherit_weights``); ``inheritance`` given is kept as is.
        A child with a ``failure``, or outside the search space, is failed at birth."""
        seed = individual_seed(self.config.seed, self.next_id)
        parent_ids = tuple(p.id for p in parents)
        individual = Individual(genome, self.next_id, born, seed, parent_ids, operators, self.weights)
        individual.inheritance = inheritance if inheritance is not None else self._inheritance(parents)
        self.next_id += 1
        if failure is None:
            try:
                self.space.validate(genome)
            except GenomeError as error:
                # A user operator produced a genome outside the space: fail this child, keep the run.
                failure = f"operator {'+'.join(operators)} produced an invalid genome: {error}"
        if failure is not None:
            self._assign(individual, EvalResult.failed_with(failure, len(self.weights)))
        return individual

    def _inheritance(self, parents: Sequence[Individual]) -> Inheritance | None:
        """What a child inherits: the trained weights of those of its parents that have any."""
        if not self.config.evolution.inherit_weights:
            return None
        trained = [
            Parent(p.genome, p.result.weights, p.result.trained_steps or 0)
            for p in parents
            if p.result is not None and not p.failed and p.result.weights is not None
        ]
        return Inheritance(tuple(trained)) if trained else None

    def _assign(self, individual: Individual, result: EvalResult) -> None:
        individual.result = result
        individual.fitness.values = result.fitness

    def evaluate_invalid(
        self, individuals: Sequence[Individual], generation: int, context: EvalContext | None = None
    ) -> list[Individual]:
        """Evaluate individuals without a valid fitness; cached results are reused, not recomputed.

        Returns them after the children failed at birth (by a bad operator), which count as
        evaluated so that the logbook and ``failures.jsonl`` record them."""
        failed_at_birth = [ind for ind in individuals if ind.born == generation and ind.fitness.valid]
        invalid = [ind for ind in individuals if not ind.fitness.valid]
        cached = [(ind, self.cache.get(ind.genome, ind.seed)) for ind in invalid]
        pending = [ind for ind, result in cached if result is None]
        context = context or self.context
        job = job_function(self.evaluate, context)
        answers = self.map_fn(job, [Job(ind.genome, ind.seed, ind.inheritance) for ind in pending])
        fresh = zip(pending, (job_result(answer, context.objectives) for answer in answers))
        finished = [(ind, result, True) for ind, result in cached if result is not None]
        for done, (individual, result, from_cache) in enumerate(
            itertools.chain(finished, ((ind, result, False) for ind, result in fresh)), start=1
        ):
            self._finish(individual, result, generation, done, len(invalid), from_cache)
        return failed_at_birth + invalid

    def _finish(
        self,
        individual: Individual,
        result: EvalResult,
        generation: int,
        done: int,
        total: int,
        from_cache: bool = False,
    ) -> None:
        if not from_cache:
            self.cache.put(individual.genome, individual.seed, result)
        self._assign(individual, result)
        individual.inheritance = None  # its parents' weights are no longer needed
        self.consecutive_failures = self.consecutive_failures + 1 if result.failed else 0
        limit = self.config.evaluation.max_consecutive_failures
        if self.consecutive_failures >= limit:
            raise RunAborted(
                f"{self.consecutive_failures} evaluations failed in a row (evaluation.max_consecutive_failures"
                f" = {limit}); last reason: {result.failure}"
            )
        if not result.failed and (self.best_seen is None or individual.fitness > self.best_seen):
            self.best_seen = copy.deepcopy(individual.fitness)
        best = self.best_seen.values[0] if self.best_seen is not None else math.nan
        for hook in self.hooks:
            hook.on_evaluation(EvaluationProgress(generation, done, total, best, individual))

    # variation: every child is a new Individual; reproduction keeps the parent as is
    def _mutant(self, parent: Individual, generation: int) -> Individual:
        genome, name = mutate(parent.genome, self.space, self.rng, self.config.evolution.mutations)
        genome, failure = _child(genome, parent.genome, "mutation", name)
        return self.new_individual(genome, generation, (parent,), (name,) if name else (), failure=failure)

    def _cross(self, a: Individual, b: Individual, generation: int) -> tuple[Individual, Individual]:
        child_a, child_b, name = crossover(a.genome, b.genome, self.space, self.rng, self.config.evolution.crossovers)
        child_a, failure_a = _child(child_a, a.genome, "crossover", name)
        child_b, failure_b = _child(child_b, b.genome, "crossover", name)
        return (
            self.new_individual(child_a, generation, (a, b), (name,), failure=failure_a),
            self.new_individual(child_b, generation, (b, a), (name,), failure=failure_b),
        )

    def vary_or(self, population: list[Individual], generation: int) -> list[Individual]:
        """DEAP's varOr: each offspring comes from crossover, mutation or reproduction."""
        evo = self.config.evolution
        offspring = []
        for _ in range(evo.offspring):
            roll = self.rng.random()
            if roll < evo.crossover_probability and len(population) > 1:
                i, j = self.rng.choice(len(population), size=2, replace=False)
                offspring.append(self._cross(population[int(i)], population[int(j)], generation)[0])
            elif roll < evo.crossover_probability + evo.mutation_probability:
                offspring.append(self._mutant(population[int(self.rng.integers(len(population)))], generation))
            else:
                offspring.append(copy.deepcopy(population[int(self.rng.integers(len(population)))]))
        return offspring

    def vary_and(self, population: list[Individual], generation: int) -> list[Individual]:
        """DEAP's varAnd for the simple GA: pairwise crossover, then mutation of each child."""
        evo = self.config.evolution
        offspring = list(self.select(population, len(population), self.rng))
        for i in range(1, len(offspring), 2):
            if self.rng.random() < evo.crossover_probability:
                offspring[i - 1], offspring[i] = self._cross(offspring[i - 1], offspring[i], generation)
        for i, individual in enumerate(offspring):
            if self.rng.random() >= evo.mutation_probability:
                continue
            if individual.born == generation:  # a crossover child: record both operators, same parents
                genome, name = mutate(individual.genome, self.space, self.rng, evo.mutations)
                genome, failure = _child(genome, individual.genome, "mutation", name)
                operators = individual.operators + ((name,) if name else ())
                child = self.new_individual(genome, generation, (), operators, individual.inheritance, failure)
                child.parents = individual.parents
                offspring[i] = child
            else:
                offspring[i] = self._mutant(individual, generation)
        return offspring

    def next_population(
        self, population: list[Individual], generation: int
    ) -> tuple[list[Individual], list[Individual]]:
        """The survivors: the elite (``evolution.elitism``, the fittest of parents and
        offspring), then the selection's choice from the rest of the pool; for the simple GA
        the offspring without as many of its least fit as there are elite from outside it."""
        evo = self.config.evolution
        if generation > evo.generations:
            return self.train_on(population, generation)
        variation = self.vary_and if evo.algorithm == "simple" else self.vary_or
        offspring = variation(population, generation)
        evaluated = self.evaluate_invalid(offspring, generation)
        elite = elite_of(population + offspring, evo)
        chosen = {id(ind) for ind in elite}
        if evo.algorithm == "simple":
            rest = [ind for ind in offspring if id(ind) not in chosen]
            dropped = {
                id(ind) for ind in sorted(rest, key=lambda ind: ind.fitness)[: len(elite) + len(rest) - evo.population]
            }
            return elite + [ind for ind in rest if id(ind) not in dropped], evaluated
        pool = population + offspring if evo.algorithm == "mu_plus_lambda" else offspring
        rest = [ind for ind in pool if id(ind) not in chosen]
        return elite + self.select(rest, evo.population - len(elite), self.rng), evaluated

    def train_on(self, population: list[Individual], generation: int) -> tuple[list[Individual], list[Individual]]:
        """A train-on round (``evolution.train_on``): copies of the population's fittest
        genomes train on from their weights, each with its own seed, and become the
        population, so the next round goes on from the best of them. The first round trains
        ``candidates`` genomes and every ``halving_every`` rounds half as many (rounded up,
        at least one): successive halving (Jamieson & Talwalkar 2016), so a pick that a
        short training overrated can lose to one that keeps improving. A round whose children all failed
        leaves the population as it was. The first round starts the hall of fame afresh: the
        run's answer is the best point of the chain."""
        settings = self.config.evolution.train_on
        trained = [ind for ind in population if not ind.failed and ind.result.weights is not None]
        if not trained:  # nothing to train on (every individual failed): the round has nothing to do
            return population, []
        round_index = generation - self.config.evolution.generations - 1
        candidates = _fittest_genomes(trained, settings.candidates_in(round_index))
        if round_index == 0:
            # From here the hall of fame holds the chain's points only: a searched individual's
            # fitness came from a training a fraction as long, and a noisy fitness can rank a
            # lucky short one above every longer one (docs/benchmarks.md, "Training the best on").
            self.hall_of_fame = HallOfFame(self.config.evolution.hall_of_fame, similar=same_genome)
        children = [
            self.new_individual(self._annealed(parent.genome), generation, (parent,), ("train_on",))
            for parent in candidates
            for _ in range(settings.children)
        ]
        context = replace(self.context, steps=settings.steps or self.context.steps)
        evaluated = self.evaluate_invalid(children, generation, context)
        successful = [child for child in children if not child.failed]
        return sorted(successful, key=lambda ind: ind.fitness, reverse=True) or population, evaluated

    def _annealed(self, genome: GANGenome) -> GANGenome:
        """``genome`` with both learning rates times ``train_on.learning_rate_decay``, not
        below the search space's lowest (the child must stay inside the space)."""
        decay = self.config.evolution.train_on.learning_rate_decay
        if decay == 1:
            return genome
        hyper, space = genome.hyperparameters, self.space.hyperparameters
        return replace(
            genome,
            hyperparameters=replace(
                hyper,
                generator_learning_rate=max(space.generator_learning_rate.low, hyper.generator_learning_rate * decay),
                discriminator_learning_rate=max(
                    space.discriminator_learning_rate.low, hyper.discriminator_learning_rate * decay
                ),
            ),
        )

    def record(
        self, generation: int, population: list[Individual], evaluated: list[Individual], seconds: float
    ) -> None:
        self.hall_of_fame.update([ind for ind in evaluated if not ind.failed])
        # trained weights are kept by hall-of-fame members, and by the population when children inherit them
        keep = {id(ind) for ind in population} if self.config.evolution.inherit_weights else set()
        for individual in evaluated:
            if id(individual) not in keep and individual.result is not None and individual.result.weights is not None:
                individual.result = replace(individual.result, weights=None)
        values = np.array([ind.fitness.values[0] for ind in population if not ind.failed], dtype=float)
        stats = (
            dict(min=values.min(), mean=values.mean(), max=values.max(), std=values.std())
            if values.size
            else dict(min=math.nan, mean=math.nan, max=math.nan, std=math.nan)
        )
        best = self.hall_of_fame[0].fitness.values[0] if len(self.hall_of_fame) else math.nan
        self.logbook.record(
            gen=generation,
            evaluated=len(evaluated),
            failures=sum(ind.failed for ind in evaluated),
            best=best,
            seconds=round(seconds, 3),
            **{k: float(v) for k, v in stats.items()},
        )

    def state(self, generation: int, population, evaluated=(), seconds: float = 0.0) -> GenerationState:
        return GenerationState(
            self.config,
            self.dataset,
            generation,
            population,
            self.hall_of_fame,
            self.logbook,
            list(evaluated),
            seconds,
            rng_state=copy.deepcopy(self.rng.bit_generator.state),
            next_id=self.next_id,
            consecutive_failures=self.consecutive_failures,
            map_fn=self.map_fn,
        )

    def restore(self, saved: ResumeState) -> None:
        self.hall_of_fame = saved.hall_of_fame
        self.logbook = saved.logbook
        self.rng.bit_generator.state = saved.rng_state
        self.next_id = saved.next_id
        self.consecutive_failures = saved.consecutive_failures
        if len(self.hall_of_fame):
            self.best_seen = copy.deepcopy(self.hall_of_fame[0].fitness)

    def _generations(self, population: list[Individual], first: int, start: float) -> list[Individual]:
        """Generations ``first`` to the last, with the hooks told of each; the final population."""
        evo = self.config.evolution
        for hook in self.hooks:
            hook.on_start(self.state(first, population))
        for generation in range(first, evo.last_generation + 1):
            generation_start = time.perf_counter()
            if generation == 0:
                evaluated = self.evaluate_invalid(population, 0)
            else:
                population, evaluated = self.next_population(population, generation)
            seconds = time.perf_counter() - generation_start
            self.record(generation, population, evaluated, seconds)
            for hook in self.hooks:
                hook.on_generation(self.state(generation, population, evaluated, seconds))
        final = self.state(evo.last_generation, population, seconds=time.perf_counter() - start)
        for hook in self.hooks:
            hook.on_end(final)
        return population

    def first_genomes(self) -> list[GANGenome]:
        """Generation 0: ``evolution.initial_genomes`` in place of the first random ones (their
        lineage says ``known_design``). All are drawn either way, so the random rest is the
        genomes an unseeded run starts with."""
        drawn = [self.space.sample(self.rng) for _ in range(self.config.evolution.population)]
        known = [GANGenome.from_dict(data) for data in self.config.evolution.initial_genomes]
        return known + drawn[len(known) :]

    def run(self, resume: ResumeState | None = None) -> EvolutionResult:
        start = time.perf_counter()
        if resume is None:
            known = len(self.config.evolution.initial_genomes)
            population = [
                self.new_individual(genome, 0, operators=("known_design",) if i < known else ())
                for i, genome in enumerate(self.first_genomes())
            ]
            first = 0
        else:
            self.restore(resume)
            population, first = resume.population, resume.generation + 1
        try:
            population = self._generations(population, first, start)
        finally:
            for hook in self.hooks:
                hook.on_stop()
        return EvolutionResult(self.config, population, self.logbook, self.hall_of_fame)


def _fittest_genomes(individuals: list[Individual], count: int) -> list[Individual]:
    """The fittest ``count`` individuals with distinct genomes, fittest first (at least one)."""
    chosen: list[Individual] = []
    for individual in sorted(individuals, key=lambda ind: ind.fitness, reverse=True):
        if not any(same_genome(individual, other) for other in chosen):
            chosen.append(individual)
    return chosen[: max(1, count)]


def evolve(
    config: Config,
    evaluate: Callable | None = None,
    map_fn: Callable | None = None,
    hooks: Iterable[Hook] = (),
    dataset: Dataset | None = None,
    cache: EvaluationCache | None = None,
    resume: ResumeState | None = None,
) -> EvolutionResult:
    """Run a whole evolution and return the final population, logbook and hall of fame.

    ``evaluate(genome, context)`` scores one individual (default: :func:`default_evaluation`),
    or a whole chunk if it has ``evaluate_chunk(jobs, context)``;
    ``map_fn`` evaluates a generation's jobs (default: the ``executor`` of the config,
    started for this run and stopped after it; builtin ``map`` runs them in this process);
    ``cache`` keeps finished evaluations across a crash; ``resume`` continues from a
    checkpoint (see ``deatf_gan.runs``). XLA's persistent compile cache is turned on for
    this process and its workers (``deatf_gan.xla_cache``; ``DEATF_GAN_XLA_CACHE=off`` keeps
    it off); it only takes effect before the process's first XLA compilation.
    """
    xla_cache.enable()
    if evaluate is None:
        evaluate = default_evaluation(config)
    executor = make_executor(config.executor, evaluation_time_limit(config)) if map_fn is None else nullcontext()
    with executor:
        return _Evolution(config, evaluate, map_fn or executor.map, hooks, dataset, cache).run(resume)
