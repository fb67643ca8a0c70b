"""Console reporting: live progress on a terminal, plain lines elsewhere, and the final table."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from deatf_gan.config import Config
from deatf_gan.evolution import EvaluationProgress, GenerationState, Hook

HEARTBEAT_THREAD = "deatf-gan heartbeat"


def _format(value: float) -> str:
    return f"{value:.4f}" if value == value else "n/a"


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return (
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else f"{seconds // 60}:{seconds % 60:02d}"
    )


def planned_work(config: Config, generation: int) -> tuple[int, int]:
    """``(evaluations, training steps each)`` that ``generation`` is expected to run: the
    population at generation 0, the offspring in each later one (the simple GA varies the
    whole population), then each train-on round's halving candidates and their children."""
    evo = config.evolution
    if generation == 0:
        return evo.population, config.training.steps
    if generation <= evo.generations:
        return (evo.population if evo.algorithm == "simple" else evo.offspring), config.training.steps
    candidates = evo.train_on.candidates_in(generation - evo.generations - 1)
    return candidates * evo.train_on.children, evo.train_on.steps or config.training.steps


def _steps(config: Config, generation: int, evaluations: int | None = None) -> int:
    planned, steps = planned_work(config, generation)
    return (planned if evaluations is None else evaluations) * steps


class ConsoleReporter(Hook):
    """One line per generation; on a terminal also a live line after every evaluation
    (generation, individuals done/total, best so far, elapsed and estimated remaining time).

    The estimate is the seconds per training step that the last finished generation took
    (within the first one, the one in progress) times the steps still planned. The first
    generation a process runs pays for compiling too, so an estimate from it alone is an
    upper bound, shown as ``left ≤``; from the second on it is ``left ~``.

    Evaluations come back a chunk at a time, so a generation can be silent for minutes; a
    heartbeat shows it is alive: every ``heartbeat_s`` without output (default: 1 s on a
    terminal, where the live line's clock ticks, 30 s elsewhere, a plain line)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        run_directory: str | None = None,
        live: bool | None = None,
        heartbeat_s: float | None = None,
    ):
        self.stream = stream or sys.stdout
        self.run_directory = run_directory
        self.live = self.stream.isatty() if live is None else live
        self.heartbeat_s = heartbeat_s if heartbeat_s is not None else (1.0 if self.live else 30.0)
        self.started = time.monotonic()
        self.total_generations = 0
        self._line_open = False
        self._lock = threading.Lock()  # the heartbeat thread writes too
        self._last_output = time.monotonic()
        self._generation = 0  # the generation in progress
        self._generation_started = time.monotonic()
        self._progress: EvaluationProgress | None = None
        self._stopped = threading.Event()
        self._config: Config | None = None
        self._seconds_per_step: float | None = None  # as the last finished generation measured it
        self._measured = 0  # generations this reporter has seen finish with evaluations

    def _print(self, text: str = "") -> None:
        self._write(text, line=True)

    def _heartbeat(self) -> None:
        while not self._stopped.wait(self.heartbeat_s / 4):
            if time.monotonic() - self._last_output < self.heartbeat_s:
                continue
            progress = self._progress
            if self.live and progress is not None:
                self._live_line(progress, heartbeat=True)
                continue
            done = f"{progress.done}/{progress.total} evaluated" if progress else "evaluating"
            running = _clock(time.monotonic() - self._generation_started)
            status = f"gen {self._generation}/{self.total_generations}  {done}, running for {running}"
            self._write(status, line=not self.live, heartbeat=True)

    def _write(self, text: str, line: bool, heartbeat: bool = False) -> None:
        """``text`` as a line of its own, or as the live line (rewritten in place). A heartbeat
        writes nothing once the run has ended."""
        with self._lock:
            if heartbeat and self._stopped.is_set():
                return
            if self._line_open:
                self.stream.write("\r\033[K")
            self.stream.write(text + "\n" if line else text)
            self.stream.flush()
            self._line_open, self._last_output = not line, time.monotonic()

    def _remaining(self, generation: int, done: int = 0, total: int | None = None) -> str:
        """Time left from generation ``generation`` on, ``done`` of its ``total`` evaluations
        finished (``total`` None: the generation has not started)."""
        rate = self._seconds_per_step
        if rate is None and done and self._config is not None:  # nothing finished yet: the live generation's pace
            rate = (time.monotonic() - self._generation_started) / _steps(self._config, generation, done)
        if rate is None or self._config is None:
            return "?"
        bound = "≤" if self._measured < 2 else "~"
        steps = sum(_steps(self._config, g) for g in range(generation + 1, self.total_generations + 1))
        steps += _steps(self._config, generation, None if total is None else total - done)
        return bound + _clock(rate * steps)

    def on_start(self, state: GenerationState) -> None:
        self.started = self._generation_started = time.monotonic()
        self._generation = state.generation
        self.total_generations = state.config.evolution.last_generation
        self._config = state.config
        evo = state.config.evolution
        verb = "resuming at generation" if state.generation else "evolving"
        detail = f" {state.generation}" if state.generation else ""
        self._print(
            f"{verb}{detail}: {evo.population} individuals"
            + (f" ({len(evo.initial_genomes)} of them known designs)" if evo.initial_genomes else "")
            + f", {evo.generations} generations "
            f"({evo.algorithm}, {evo.offspring} offspring each) on {state.dataset.name}"
            + (f", then {evo.train_on.rounds} rounds in which the best trains on" if evo.train_on.rounds else "")
            + (
                f" (from the best {evo.train_on.candidates}, halving"
                + (f" every {evo.train_on.halving_every} rounds)" if evo.train_on.halving_every > 1 else ")")
                if evo.train_on.rounds and evo.train_on.candidates > 1
                else ""
            )
        )
        self._stopped.clear()
        threading.Thread(target=self._heartbeat, name=HEARTBEAT_THREAD, daemon=True).start()

    def on_stop(self) -> None:
        self._stopped.set()

    def on_evaluation(self, progress: EvaluationProgress) -> None:
        self._progress = progress
        if self.live:
            self._live_line(progress)

    def _live_line(self, progress: EvaluationProgress, heartbeat: bool = False) -> None:
        total = progress.total
        bar_width = 20
        filled = bar_width * progress.done // max(total, 1)
        left = self._remaining(progress.generation, progress.done, total)
        self._write(
            f"gen {progress.generation}/{self.total_generations} [{'#' * filled}{'.' * (bar_width - filled)}] "
            f"{progress.done}/{total}  best {_format(progress.best)}  "
            f"elapsed {_clock(time.monotonic() - self.started)}  left {left}",
            line=False,
            heartbeat=heartbeat,
        )

    def on_generation(self, state: GenerationState) -> None:
        self._generation, self._generation_started, self._progress = state.generation + 1, time.monotonic(), None
        row = state.logbook[-1]
        total = state.config.evolution.last_generation
        if row["evaluated"]:  # a generation served from the cache measures nothing
            self._seconds_per_step = row["seconds"] / _steps(state.config, state.generation, row["evaluated"])
            self._measured += 1
        self._print(
            f"gen {row['gen']:>3}/{total}  evaluated {row['evaluated']:>3}  failed {row['failures']:>2}  "
            f"min {_format(row['min'])}  mean {_format(row['mean'])}  best ever {_format(row['best'])}  "
            f"{row['seconds']:.1f}s  elapsed {_clock(time.monotonic() - self.started)}  "
            f"left {self._remaining(state.generation + 1) if state.generation < total else '0:00'}"
        )

    def on_end(self, state: GenerationState) -> None:
        self._stopped.set()
        self._print(f"\nhall of fame (fitness: {_fitness_name(state)}, lower is better)")
        self._print(hall_of_fame_table(state.hall_of_fame))
        if self.run_directory:
            self._print(f"\noutputs in {self.run_directory}  (hall_of_fame/rank_N/generator.keras, logbook.csv)")
        self._print(f"total {_clock(time.monotonic() - self.started)}")


def _fitness_name(state: GenerationState) -> str:
    evaluation = state.config.evaluation
    return evaluation.function or ", ".join(evaluation.fitness_names)


def hall_of_fame_table(hall_of_fame) -> str:
    lines = [f"{'rank':>4}  {'fitness':>8}  {'optimizer':<9}  {'lr G':>8}  {'lr D':>8}  generator | discriminator"]
    for rank, member in enumerate(hall_of_fame, start=1):
        h = member.genome.hyperparameters
        fitness = " ".join(f"{v:.4f}" for v in member.fitness.values)
        lines.append(
            f"{rank:>4}  {fitness:>8}  {h.optimizer:<9}  {h.generator_learning_rate:>8.2e}  "
            f"{h.discriminator_learning_rate:>8.2e}  {member.genome.generator.summary()} | "
            f"{member.genome.discriminator.summary()}"
        )
    return "\n".join(lines)
