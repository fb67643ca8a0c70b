"""The generation loop: variation, evaluating only invalid individuals, hall of fame, logbook, hooks.

DEAP supplies the fitness class, the hall of fame and the logbook; the loop itself is our
own (DEAP's ``eaMuPlusLambda`` has no hooks), and every random choice comes from one
NumPy generator seeded by the config, never from global state. The loop only ever calls
variation, selection, and ``map`` over evaluation jobs, so parallelism is swapping ``map``.
``records`` holds what the loop hands out (individuals, hook states, checkpoint contents),
``loop`` the loop itself.
"""

from deatf_gan.evolution.loop import (
    SELECTIONS,
    check_operator_names,
    elite_of,
    evolve,
    individual_seed,
    select_best,
    select_nsga2,
    select_tournament,
)
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
    _restore_fitness,  # noqa: F401 - named by checkpoints of earlier versions
    same_genome,
)

__all__ = [
    "SELECTIONS",
    "EvaluationCache",
    "EvaluationProgress",
    "EvolutionResult",
    "Fitness",
    "GenerationState",
    "HallOfFame",
    "Hook",
    "Individual",
    "ResumeState",
    "check_operator_names",
    "elite_of",
    "evolve",
    "individual_seed",
    "same_genome",
    "select_best",
    "select_nsga2",
    "select_tournament",
]
