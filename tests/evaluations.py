"""Custom evaluation functions that configs in the tests name as ``tests.evaluations:NAME``."""

import math
import time

import numpy as np

from deatf_gan.errors import IndividualFailed


def units_score(genome, context, delay: float = 0.0, log: str | None = None) -> float:
    """Deterministic and cheap: fewer hidden units is better, plus seed-dependent noise.

    ``delay`` makes a generation last long enough to be killed in the middle; ``log``
    records every seed evaluated, so a test can see nothing was computed twice.
    """
    if log:
        with open(log, "a") as stream:
            stream.write(f"{context.seed}\n")
    time.sleep(delay)
    units = sum(layer.units for layer in genome.generator.layers + genome.discriminator.layers)
    return float(units + np.random.default_rng(context.seed).random())


def two_objectives(genome, context) -> tuple[float, float]:
    """Generator size and discriminator size, both minimised (or one maximised)."""
    return (
        float(sum(layer.units for layer in genome.generator.layers)),
        float(sum(layer.units for layer in genome.discriminator.layers)),
    )


def always_nan(genome, context) -> float:
    return math.nan


def always_raises(genome, context) -> float:
    raise ValueError("this evaluation is broken on purpose")


def refuses_big_generators(genome, context) -> float:
    if sum(layer.units for layer in genome.generator.layers) > 10:
        raise IndividualFailed("generator too large for this budget")
    return 1.0


NOT_A_FUNCTION = 3


def sleeps(seconds: float) -> float:
    """A job for an executor: sleep (forever, near enough, for a large number), then answer."""
    time.sleep(seconds)
    return seconds


def hangs_on_even_seeds(genome, context) -> float:
    """An evaluation that never returns for every other individual."""
    if context.seed % 2 == 0:
        time.sleep(10**6)
    return units_score(genome, context)
