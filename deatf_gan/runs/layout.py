"""The run directory's file names, and the line and number formats its writer and reader share.

Layout::

    RUN_DIR/config.yaml            the resolved config (loads back equal)
    RUN_DIR/logbook.csv, .jsonl    one row per generation
    RUN_DIR/failures.jsonl         one line per failed individual, with the reason
    RUN_DIR/individuals.jsonl      one line per evaluated individual: parents, operators, architecture, fitness
    RUN_DIR/population.json        the current population: ids, fitnesses, which are elite
    RUN_DIR/hall_of_fame/rank_N/   genome.json, generator.keras, discriminator.keras, metrics.json
    RUN_DIR/checkpoints/           the last few generations' complete state (JSON + arrays)
    RUN_DIR/cache/                 evaluations finished in the generation in progress
    RUN_DIR/tensorboard/           TensorBoard event files, with ``logging.tensorboard`` only
    RUN_DIR/.lock                  while a run or resume writes: its process id (``lock``)
"""

from __future__ import annotations

import math
from pathlib import Path

CONFIG = "config.yaml"
LOGBOOK_CSV = "logbook.csv"
LOGBOOK_JSONL = "logbook.jsonl"
FAILURES = "failures.jsonl"
INDIVIDUALS = "individuals.jsonl"
POPULATION = "population.json"
HALL_OF_FAME = "hall_of_fame"
CHECKPOINTS = "checkpoints"
CACHE = "cache"
TENSORBOARD = "tensorboard"
LOCK = ".lock"


def read_lines(path: Path) -> list[str]:
    """The non-blank lines of a JSON-lines file; none if it does not exist yet."""
    return [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def json_number(value):
    """JSON has no NaN or infinity: they are written as null (an empty cell in the CSV)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value
