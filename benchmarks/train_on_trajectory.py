"""Along a train-on chain (``evolution.train_on``): the fitness each individual gets and its
quality on samples no selection saw, so one can see whether a fitness follows a long training.

    python benchmarks/train_on_trajectory.py --fitness precision_recall --out trajectory_pr.jsonl
    python benchmarks/train_on_trajectory.py --fitness judged_generator_loss --out trajectory_judge.jsonl

One JSON line per evaluated individual that kept its weights: generation, id, generator
updates in all, fitness, and the quality of 2,500 fresh samples (``quality.fresh_quality``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import ROOT, fresh_quality  # noqa: E402 - the benchmark beside this one

from deatf_gan.config import load_config  # noqa: E402
from deatf_gan.datasets import load_dataset  # noqa: E402
from deatf_gan.evolution import Hook, evolve  # noqa: E402


class Trajectory(Hook):
    """Measures every individual that still holds its weights when its generation ends."""

    def __init__(self, dataset, latent_stddev: float, out: Path):
        self.dataset, self.latent_stddev, self.out = dataset, latent_stddev, out

    def on_generation(self, state) -> None:
        for individual in state.evaluated:
            if individual.failed or individual.result.weights is None:
                continue
            quality = fresh_quality(
                individual.genome, individual.result.weights[0], self.dataset, individual.seed, self.latent_stddev, 2500
            )
            row = {
                "generation": state.generation,
                "id": individual.id,
                "trained_steps": individual.result.trained_steps,
                "fitness": individual.fitness.values[0],
                **quality,
            }
            with open(self.out, "a") as stream:
                stream.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ring8")
    parser.add_argument("--fitness", default="precision_recall")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override")
    args = parser.parse_args()
    overrides = [
        f"seed={args.seed}",
        f"evaluation.fitness=[{args.fitness}]",
        "evolution.population=8",
        "evolution.offspring=8",
        "evolution.generations=1",
        "training.steps=2000",
        "executor.workers=2",
        f"evolution.train_on.rounds={args.rounds}",
        "evolution.train_on.children=1",
        *args.set,
    ]
    config = load_config(ROOT / "configs" / f"{args.dataset}.yaml", overrides)
    dataset = load_dataset(config.data.name, config.data.params, args.seed)
    evolve(config, dataset=dataset, hooks=[Trajectory(dataset, config.training.latent_stddev, args.out)])


if __name__ == "__main__":
    main()
