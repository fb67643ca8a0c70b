"""Run state as data that cannot run code: a JSON record and its arrays in one ``.npz`` file.

Checkpoints and the evaluation cache are read back from a run directory that anybody may
have handed over, so they are never pickles: the record is JSON (genomes through
``GANGenome.from_dict``, which checks every field) and the trained weights are plain
numeric arrays read with ``allow_pickle=False``. A file that is not such an archive of the
expected kind and version raises :class:`ArchiveError`; nothing in it is ever executed.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from deap import tools

from deatf_gan.atomic import write_atomic
from deatf_gan.errors import DeatfGanError
from deatf_gan.evaluation import EvalResult
from deatf_gan.evolution import HallOfFame, Individual, ResumeState, same_genome
from deatf_gan.genome import GANGenome

ARCHIVE_FORMAT = 2  # bumped whenever the record changes shape, so a reader never guesses
RECORD = "record"  # the archive member holding the JSON record


class ArchiveError(DeatfGanError):
    """A file is not a readable archive of the expected kind and format."""


# --- the file: one JSON record plus named arrays ------------------------------------------------


class Arrays:
    """The arrays of one archive, named ``a0, a1, ...``; an array stored twice is written once."""

    def __init__(self, stored: dict[str, np.ndarray] | None = None):
        self.stored: dict[str, np.ndarray] = dict(stored or {})
        self._names: dict[int, str] = {}

    def name(self, array) -> str:
        key = id(array)
        if key not in self._names:
            self._names[key] = f"a{len(self.stored)}"
            self.stored[self._names[key]] = np.asarray(array)
        return self._names[key]

    def get(self, name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in self.stored or name == RECORD:
            raise ArchiveError(f"refers to an array {name!r} it does not hold")
        return self.stored[name]


def _plain(value):
    """NumPy scalars as Python numbers, so the record is JSON."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def write_archive(path: Path, kind: str, record: dict, arrays: Arrays) -> None:
    """Write ``record`` (JSON data naming arrays by :meth:`Arrays.name`) and its arrays atomically."""
    text = json.dumps({"kind": kind, "format": ARCHIVE_FORMAT, **record}, default=_plain)
    buffer = io.BytesIO()
    np.savez(buffer, **{RECORD: np.frombuffer(text.encode(), dtype=np.uint8)}, **arrays.stored)
    write_atomic(path, buffer.getvalue())


def read_archive(path: Path, kind: str) -> tuple[dict, Arrays]:
    """The record and arrays of an archive of ``kind``; :class:`ArchiveError` if it is not one."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            stored = {name: archive[name] for name in archive.files}
        record = json.loads(stored.pop(RECORD).tobytes().decode())
    except FileNotFoundError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever is wrong with the bytes, it is not an archive
        raise ArchiveError(f"not a deatf_gan archive ({type(error).__name__}: {error})") from None
    if not isinstance(record, dict) or record.get("kind") != kind or record.get("format") != ARCHIVE_FORMAT:
        raise ArchiveError(f"not a deatf_gan {kind} of format {ARCHIVE_FORMAT}")
    return record, Arrays(stored)


# --- evaluation results and individuals -----------------------------------------------------


_RESULT_FIELDS = [f.name for f in dataclasses.fields(EvalResult) if f.name != "weights"]


def encode_result(result: EvalResult, arrays: Arrays) -> dict:
    record = {name: getattr(result, name) for name in _RESULT_FIELDS}
    if result.weights is not None:
        record["weights"] = [[arrays.name(w) for w in network] for network in result.weights]
    return record


def decode_result(record: Any, arrays: Arrays) -> EvalResult:
    """An evaluation result back from its record; a malformed one raises :class:`ArchiveError`."""
    try:
        return _decode_result(record, arrays)
    except ArchiveError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ArchiveError(f"a malformed evaluation result ({type(error).__name__}: {error})") from None


def _decode_result(record: Any, arrays: Arrays) -> EvalResult:
    if not isinstance(record, dict) or set(record) - {*_RESULT_FIELDS, "weights"}:
        raise ArchiveError(f"an evaluation result has unknown fields: {record!r:.200}")
    data = dict(record)
    weights = data.pop("weights", None)
    if weights is not None:
        data["weights"] = tuple([arrays.get(name) for name in network] for network in weights)
    data["fitness"] = tuple(float(value) for value in data["fitness"])
    data["extra"] = {str(key): float(value) for key, value in data.get("extra", {}).items()}
    return EvalResult(**data)


def encode_individual(individual: Individual, arrays: Arrays) -> dict:
    return {
        "genome": individual.genome.to_dict(),
        "id": individual.id,
        "born": individual.born,
        "seed": individual.seed,
        "parents": list(individual.parents),
        "operators": list(individual.operators),
        "objective_weights": list(individual.fitness.weights),
        "fitness": list(individual.fitness.wvalues),
        "result": None if individual.result is None else encode_result(individual.result, arrays),
    }


def decode_individual(record: dict, arrays: Arrays) -> Individual:
    individual = Individual(
        GANGenome.from_dict(record["genome"]),
        int(record["id"]),
        int(record["born"]),
        int(record["seed"]),
        tuple(int(p) for p in record["parents"]),
        tuple(str(o) for o in record["operators"]),
        tuple(float(w) for w in record["objective_weights"]),
    )
    individual.fitness.wvalues = tuple(float(v) for v in record["fitness"])
    if record["result"] is not None:
        individual.result = decode_result(record["result"], arrays)
    return individual


# --- a generation's resume state ------------------------------------------------------------


def encode_resume_state(state: ResumeState, arrays: Arrays) -> dict:
    """The record of a checkpoint. What an individual inherits is not saved: a checkpointed
    generation has evaluated all of its members, and evaluation clears it."""
    return {
        "generation": state.generation,
        "population": [encode_individual(i, arrays) for i in state.population],
        "hall_of_fame": {
            "maxsize": state.hall_of_fame.maxsize,
            "members": [encode_individual(i, arrays) for i in state.hall_of_fame],
        },
        "logbook": {"header": list(state.logbook.header or []), "rows": [dict(row) for row in state.logbook]},
        "rng_state": state.rng_state,
        "next_id": state.next_id,
        "consecutive_failures": state.consecutive_failures,
    }


def _checked_rng_state(state: Any) -> dict:
    """The driver's generator state, checked by NumPy itself before the loop relies on it."""
    np.random.PCG64().state = state
    return state


def decode_resume_state(record: dict, arrays: Arrays) -> ResumeState:
    try:
        members = [decode_individual(i, arrays) for i in record["hall_of_fame"]["members"]]
        hall_of_fame = HallOfFame(int(record["hall_of_fame"]["maxsize"]), similar=same_genome)
        hall_of_fame.items = members  # best first, as saved; DEAP keeps the keys in the reverse order
        hall_of_fame.keys = [copy.deepcopy(member.fitness) for member in reversed(members)]
        logbook = tools.Logbook()
        logbook.header = list(record["logbook"]["header"])
        for row in record["logbook"]["rows"]:
            logbook.record(**row)
        return ResumeState(
            generation=int(record["generation"]),
            population=[decode_individual(i, arrays) for i in record["population"]],
            hall_of_fame=hall_of_fame,
            logbook=logbook,
            rng_state=_checked_rng_state(record["rng_state"]),
            next_id=int(record["next_id"]),
            consecutive_failures=int(record["consecutive_failures"]),
        )
    except ArchiveError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, DeatfGanError) as error:
        raise ArchiveError(f"a malformed checkpoint record ({type(error).__name__}: {error})") from None


__all__ = [
    "ARCHIVE_FORMAT",
    "ArchiveError",
    "Arrays",
    "decode_resume_state",
    "encode_resume_state",
    "read_archive",
    "write_archive",
]
