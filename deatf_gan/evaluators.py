"""Which evaluation a config means, and the job functions handed to executors.

The evolution loop only knows ``map(job, [Job(genome, seed, inheritance), ...])``; this module decides what
``job`` is (one individual per call, or a whole chunk for a batched evaluator that also
estimates each job's cost) and turns what an executor hands back, a dead worker's record
included, into an :class:`EvalResult`. Importing it imports no TensorFlow: the batched
evaluator is made in the process that first evaluates with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from deatf_gan.batched.planner import training_cost
from deatf_gan.config import CHECKS, IMPORT_CHECKS, Config, require
from deatf_gan.evaluation import EvalContext, EvalResult, Job, evaluate_safely, load_function, resolve_evaluation
from deatf_gan.executors import TimedOut, WorkerDied
from deatf_gan.fitness import FITNESSES
from deatf_gan.genome import GANGenome, SearchSpace


def evaluate_job(evaluate: Callable, context: EvalContext, job: Job) -> EvalResult:
    """One individual's evaluation, its errors caught (``evaluate_safely``)."""
    job = Job(*job)
    return evaluate_safely(evaluate, job.genome, context.for_job(job), context.objectives)


@dataclass(frozen=True)
class ChunkedJob:
    """The job function of an evaluation that takes whole chunks (``evaluate_chunk(jobs,
    context)``, such as ``batched.BatchedEvaluation``): executors hand it a chunk per call."""

    evaluation: Any
    context: EvalContext

    def __call__(self, job: Job) -> EvalResult:
        return self.evaluate_chunk([job])[0]

    def evaluate_chunk(self, jobs: Sequence[Job]) -> list[EvalResult]:
        return self.evaluation.evaluate_chunk(list(jobs), self.context)

    def job_cost(self, job: Job) -> float | None:
        """The evaluation's estimate of a job's cost (``job_cost(genome, context)``, which
        executors balance their chunks with), None where it makes none."""
        estimate = getattr(self.evaluation, "job_cost", None)
        return None if estimate is None else estimate(job[0], self.context)


def job_function(evaluate: Callable, context: EvalContext) -> Callable:
    """What an executor maps over ``Job``s: whole chunks where the
    evaluation takes them, else one individual per call."""
    if getattr(evaluate, "evaluate_chunk", None) is not None:
        return ChunkedJob(evaluate, context)
    return functools.partial(evaluate_job, evaluate, context)


def job_result(value: EvalResult | WorkerDied | TimedOut, objectives: int) -> EvalResult:
    """An executor's answer as an EvalResult: a job whose worker kept dying, or that ran past
    its time limit, fails its individual."""
    if isinstance(value, (WorkerDied, TimedOut)):
        return EvalResult.failed_with(str(value), objectives)
    return value


@dataclass(frozen=True)
class DeferredBatchedEvaluation:
    """``batched.BatchedEvaluation(space, jit_compile)``, made in the process that first
    evaluates with it: a driver hands it to its workers without importing TensorFlow."""

    space: SearchSpace
    jit_compile: bool = True

    @functools.cached_property
    def evaluation(self):
        from deatf_gan.batched import BatchedEvaluation

        return BatchedEvaluation(self.space, jit_compile=self.jit_compile)

    def __call__(self, genome: GANGenome, context: EvalContext) -> EvalResult:
        return self.evaluation(genome, context)

    def evaluate_chunk(self, jobs: Sequence[Job], context: EvalContext) -> list[EvalResult]:
        return self.evaluation.evaluate_chunk(jobs, context)

    @staticmethod
    def job_cost(genome: GANGenome, context: EvalContext) -> float:
        """``batched.planner.training_cost``: computed in the driver, without TensorFlow."""
        return training_cost(genome, context.steps)


def default_evaluation(config: Config) -> Callable:
    """The config's ``evaluation.function``, else ``eval_gan`` per individual (``training.evaluator:
    keras``) or the batched evaluator (``batched``, XLA unless ``jit_compile: false``)."""
    e = config.evaluation
    if e.function is None and config.training.evaluator == "batched":
        return DeferredBatchedEvaluation(
            config.build_search_space(), jit_compile=config.training.jit_compile is not False
        )
    return resolve_evaluation(e.function, e.kwargs, e.signature)


AUTOMATIC_TIMEOUT_BASE_S = 600.0  # start-up and compilation may take minutes on a busy machine
AUTOMATIC_TIMEOUT_PER_STEP_S = 0.1  # far above any step of a shipped search space, so only a hang reaches it


def evaluation_time_limit(config: Config) -> float:
    """Seconds one individual may take before it fails as timed out: ``evaluation.timeout_s``,
    or left out, a generous limit from the step budget (``AUTOMATIC_TIMEOUT_*``)."""
    given = config.evaluation.timeout_s
    if given is not None:
        return given
    return AUTOMATIC_TIMEOUT_BASE_S + AUTOMATIC_TIMEOUT_PER_STEP_S * config.training.steps


@CHECKS.register("evaluation.timeout_s")
def check_timeout(config: Config) -> None:
    """A time limit is positive and can be enforced (worker processes can be stopped; the
    caller's own process cannot)."""
    timeout = config.evaluation.timeout_s
    if timeout is not None:
        require(timeout > 0, "evaluation.timeout_s", "must be > 0 seconds or null (automatic)", timeout)
        require(
            config.executor.kind != "serial",
            "evaluation.timeout_s",
            "needs worker processes (executor.kind: processes or dask); a serial run has no time limit",
            timeout,
        )


@CHECKS.register("evaluation")
def check_evaluation_names(config: Config) -> None:
    """Fitness names are registered measures, before any training."""
    evaluation = config.evaluation
    for index, name in enumerate(evaluation.fitness_names):
        where = "evaluation.fitness" if isinstance(evaluation.fitness, str) else f"evaluation.fitness[{index}]"
        require(name in FITNESSES, where, f"must be one of {', '.join(FITNESSES.names())}", name)


@IMPORT_CHECKS.register("evaluation.function")
def check_evaluation_function_imports(config: Config) -> None:
    """``evaluation.function`` imports, before any training."""
    if config.evaluation.function is not None:
        load_function(config.evaluation.function)
