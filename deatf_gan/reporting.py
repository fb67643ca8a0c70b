"""Console reporting: a line per generation and the final hall-of-fame table."""

from __future__ import annotations

import sys
from typing import TextIO

from deatf_gan.evolution import GenerationState, Hook


def _format(value: float) -> str:
    return f"{value:.4f}" if value == value else "n/a"


class ConsoleReporter(Hook):
    """Prints one line per generation and, at the end, the hall of fame and the run directory."""

    def __init__(self, stream: TextIO | None = None, run_directory: str | None = None):
        self.stream = stream or sys.stdout
        self.run_directory = run_directory

    def _print(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def on_start(self, state: GenerationState) -> None:
        evo = state.config.evolution
        self._print(
            f"evolving {evo.population} individuals for {evo.generations} generations "
            f"({evo.algorithm}, {evo.offspring} offspring each) on {state.dataset.name}"
        )

    def on_generation(self, state: GenerationState) -> None:
        row = state.logbook[-1]
        total = state.config.evolution.generations
        self._print(
            f"gen {row['gen']:>3}/{total}  evaluated {row['evaluated']:>3}  failed {row['failures']:>2}  "
            f"min {_format(row['min'])}  mean {_format(row['mean'])}  best ever {_format(row['best'])}  "
            f"{row['seconds']:.1f}s"
        )

    def on_end(self, state: GenerationState) -> None:
        self._print(f"\nhall of fame (fitness: {state.config.evaluation.fitness}, lower is better)")
        self._print(hall_of_fame_table(state))
        if self.run_directory:
            self._print(f"\noutputs in {self.run_directory}  (hall_of_fame/rank_N/generator.keras, logbook.csv)")
        self._print(f"total {state.seconds:.1f}s")


def hall_of_fame_table(state: GenerationState) -> str:
    lines = [f"{'rank':>4}  {'fitness':>8}  {'optimizer':<9}  {'lr G':>8}  {'lr D':>8}  generator | discriminator"]
    for rank, member in enumerate(state.hall_of_fame, start=1):
        h = member.genome.hyperparameters
        lines.append(
            f"{rank:>4}  {member.fitness.values[0]:>8.4f}  {h.optimizer:<9}  {h.generator_learning_rate:>8.2e}  "
            f"{h.discriminator_learning_rate:>8.2e}  {member.genome.generator.summary()} | "
            f"{member.genome.discriminator.summary()}"
        )
    return "\n".join(lines)
