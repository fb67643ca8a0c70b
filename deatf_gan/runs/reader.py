"""Reading a run directory back: its config, logbook, failures and hall of fame."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from deatf_gan.config import Config, load_config
from deatf_gan.errors import ConfigError
from deatf_gan.genome import GANGenome
from deatf_gan.runs.layout import (
    CONFIG,
    FAILURES,
    HALL_OF_FAME,
    INDIVIDUALS,
    LOGBOOK_JSONL,
    POPULATION,
    read_lines,
)


def load_keras_model(path: Path):
    """A ``.keras`` file in Keras's safe mode, which refuses files that carry code (a Lambda
    layer's bytecode); any refusal or damage is a one-line error naming the file."""
    import keras

    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - a file that does not load is the run directory's problem
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ConfigError(f"{path}: cannot load this model ({type(error).__name__}: {reason[:300]})") from None


class Member:
    """One hall-of-fame member read from disk; the Keras models load on first use."""

    def __init__(self, directory: Path, latent_stddev: float):
        self.directory = directory
        self.metrics: dict = json.loads((directory / "metrics.json").read_text())
        self.genome = GANGenome.from_json((directory / "genome.json").read_text())
        self.rank: int = self.metrics["rank"]
        self.fitness: tuple = tuple(self.metrics["fitness"])
        self.latent_stddev = latent_stddev
        self._models: dict = {}

    def _model(self, name: str):
        if name not in self._models:
            path = self.directory / f"{name}.keras"
            if not path.is_file():
                raise ConfigError(f"{path}: no trained model (its evaluation returned no weights)")
            self._models[name] = load_keras_model(path)
        return self._models[name]

    @property
    def has_models(self) -> bool:
        """Whether the member's trained models were saved (an evaluation may return no weights)."""
        return all((self.directory / f"{name}.keras").is_file() for name in ("generator", "discriminator"))

    @property
    def generator(self):
        return self._model("generator")

    @property
    def discriminator(self):
        return self._model("discriminator")

    def sample(self, n: int, seed: int = 0):
        """``n`` generated samples, latent ``z ~ N(0, latent_stddev²)`` drawn with ``seed``."""
        import numpy as np

        rng = np.random.default_rng(seed)
        latent = self.latent_stddev * rng.standard_normal((n, self.genome.hyperparameters.latent_dim))
        return np.asarray(self.generator(latent.astype(np.float32), training=False))

    def __repr__(self) -> str:
        return f"Member(rank={self.rank}, fitness={self.fitness})"


@dataclass(frozen=True)
class Run:
    """A run directory read back: config, logbook rows, hall of fame, failures."""

    directory: Path
    config: Config
    logbook: list[dict]
    hall_of_fame: list[Member]
    failures: list[dict]
    population: dict | None = None  # population.json: generation, elitism, members (id, fitness, elite)
    individuals: list[dict] | None = None  # individuals.jsonl: everyone evaluated (None: written before it existed)

    def standing(self, member: Member) -> str | None:
        """``elite`` (sure to survive into the next population), ``member`` of the current
        population, or ``gone``; None for a run directory written without population.json."""
        if self.population is None:
            return None
        for entry in self.population["members"]:
            if entry["id"] == member.metrics.get("id"):
                return "elite" if entry["elite"] else "member"
        return "gone"

    def require_hall_of_fame(self) -> None:
        """Raise a ConfigError saying truly why a run has no hall of fame: its first generation
        is still running, or every individual so far failed (with the most common reason)."""
        if self.hall_of_fame:
            return
        if not self.logbook:
            raise ConfigError(f"{self.directory}: no hall of fame yet (the first generation has not finished)")
        evaluated = sum(row.get("evaluated") or 0 for row in self.logbook)
        failed = sum(row.get("failures") or 0 for row in self.logbook)
        if failed < evaluated:
            raise ConfigError(
                f"{self.directory / HALL_OF_FAME}: missing, though {evaluated - failed} individuals were scored "
                "(deleted, or the run could not write it)"
            )
        reasons = Counter(str(failure.get("reason")) for failure in self.failures)
        common = f"; most often: {reasons.most_common(1)[0][0]}" if reasons else ""
        raise ConfigError(
            f"{self.directory}: no hall of fame: every individual of {len(self.logbook)} generation(s) failed "
            f"({failed} failures, in {self.directory / FAILURES}{common})"
        )

    def member(self, rank: int) -> Member:
        for member in self.hall_of_fame:
            if member.rank == rank:
                return member
        raise ConfigError(f"--rank {rank}: the hall of fame has ranks 1 to {len(self.hall_of_fame)}")


def run_config(run_directory: Path, import_user_code: bool = False) -> Config:
    """The config a run directory was written with; a folder without one is no run directory.

    Its ``evaluation.function`` is imported only for ``import_user_code`` (resuming, which
    runs that function anyway): reading a run never runs code from it."""
    if not (run_directory / CONFIG).is_file():
        raise ConfigError(f"{run_directory}: not a run directory (no {CONFIG})")
    return load_config(run_directory / CONFIG, import_user_code=import_user_code)


def _json_lines(path: Path) -> list:
    """A JSON-lines file of the run directory, read as data; a damaged line is an error naming it."""
    records = []
    for number, line in enumerate(read_lines(path), start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}: line {number} is not JSON ({error.msg})") from None
    return records


def load_run(run_directory: str | Path) -> Run:
    """Read a finished or running run directory (the hall of fame is rewritten each generation)."""
    run_directory = Path(run_directory)
    config = run_config(run_directory)
    members_root = run_directory / HALL_OF_FAME
    ranks = (
        sorted(members_root.glob("rank_*"), key=lambda p: int(p.name.split("_")[1])) if members_root.exists() else []
    )
    return Run(
        directory=run_directory,
        config=config,
        logbook=_json_lines(run_directory / LOGBOOK_JSONL),
        hall_of_fame=[Member(path, config.training.latent_stddev) for path in ranks],
        failures=_json_lines(run_directory / FAILURES),
        population=json.loads((run_directory / POPULATION).read_text())
        if (run_directory / POPULATION).is_file()
        else None,
        individuals=_json_lines(run_directory / INDIVIDUALS) if (run_directory / INDIVIDUALS).is_file() else None,
    )
