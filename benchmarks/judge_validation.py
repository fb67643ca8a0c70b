"""Does the default fitness see quality? Its rank correlation with held-out quality metrics.

    python benchmarks/judge_validation.py --datasets ring8 grid25 digits --genomes 40 --out judge.jsonl
    python benchmarks/judge_validation.py --report judge.jsonl

For each dataset (``configs/<dataset>.yaml``: its search space and training steps),
``--genomes`` random genomes are trained as a run trains them (the batched evaluator) and
scored with each ``--fitness`` measure, on the held-out samples selection uses. Their quality is
measured apart from selection: ``--samples`` fresh samples from a latent stream used
neither in training nor in selection (``benchmarks/quality.py``'s ``fresh_quality``). The
report gives Spearman's ρ between fitness (minimised) and each quality metric, signed so
that +1 means the fitness ranks generators exactly as the metric does, for each fitness.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from deatf_gan import xla_cache
from deatf_gan.config import load_config
from deatf_gan.datasets import load_dataset
from deatf_gan.evaluation import EvalContext
from deatf_gan.evolution import individual_seed
from deatf_gan.fitness import fitness_functions

ROOT = Path(__file__).resolve().parent.parent
# each metric and whether larger values are better
METRICS = {
    "mixture": {"modes_covered": True, "modes_covered_strict": True, "high_quality_share": True, "reverse_kl": False},
    "digits": {"frechet_distance": False, "class_coverage_tvd": False},
    "univariate": {"wasserstein_1d": False},
}


def measure(dataset_name: str, args) -> list[dict]:
    from quality import fresh_quality  # beside this script, which python puts first on the path

    from deatf_gan.batched import BatchedEvaluation

    overrides = [f"seed={args.seed}"] + ([f"training.steps={args.steps}"] if args.steps else [])
    config = load_config(ROOT / "configs" / f"{dataset_name}.yaml", overrides)
    dataset = load_dataset(config.data.name, config.data.params, args.seed)
    space = config.build_search_space()
    rng = np.random.default_rng(args.seed)
    genomes = [space.sample(rng) for _ in range(args.genomes)]
    seeds = [individual_seed(args.seed, i) for i in range(args.genomes)]
    t = config.training
    context = EvalContext(
        dataset=dataset,
        steps=t.steps,
        latent_stddev=t.latent_stddev,
        eval_samples=t.eval_samples,
        fitness=fitness_functions(args.fitness),
        objectives=len(args.fitness),
    )
    start = time.perf_counter()
    results = BatchedEvaluation(space).evaluate_chunk(list(zip(genomes, seeds)), context)
    seconds = time.perf_counter() - start
    rows = []
    for genome, seed, result in zip(genomes, seeds, results):
        if result.failed:
            rows.append({"dataset": dataset_name, "failed": result.failure})
            continue
        quality = fresh_quality(genome, result.weights[0], dataset, seed, t.latent_stddev, args.samples)
        rows.append(
            {
                "dataset": dataset_name,
                "fitness": dict(zip(args.fitness, result.fitness)),
                "steps": t.steps,
                "seconds_all": round(seconds, 1),
                **quality,
            }
        )
    return rows


def report(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    print("| dataset | fitness | genomes (failed) | metric | Spearman ρ |")
    print("|---|---|---|---|---|")
    for dataset_name in dict.fromkeys(row["dataset"] for row in rows):
        group = [r for r in rows if r["dataset"] == dataset_name and "failed" not in r]
        failed = sum(1 for r in rows if r["dataset"] == dataset_name and "failed" in r)
        kind = load_dataset(dataset_name).kind
        for name in group[0]["fitness"]:
            fitness = np.array([r["fitness"][name] for r in group])
            for metric, larger_is_better in METRICS[kind].items():
                values = np.array([r[metric] for r in group])
                rho = spearmanr(-fitness, values if larger_is_better else -values).statistic
                print(f"| {dataset_name} | {name} | {len(group)} ({failed}) | {metric} | {rho:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["ring8", "grid25", "digits"])
    parser.add_argument("--genomes", type=int, default=40)
    parser.add_argument("--fitness", nargs="+", default=["judged_generator_loss", "precision_recall"])
    parser.add_argument("--steps", type=int, help="training steps (default: the config's)")
    parser.add_argument("--samples", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="judge_validation.jsonl")
    parser.add_argument("--report", help="print the table of a results file and stop")
    args = parser.parse_args()
    if args.report:
        report(Path(args.report))
        return
    xla_cache.enable()
    for dataset_name in args.datasets:
        rows = measure(dataset_name, args)
        with open(args.out, "a") as stream:
            for row in rows:
                stream.write(json.dumps(row) + "\n")
        print(f"{dataset_name}: {len(rows)} genomes", flush=True)
    report(Path(args.out))


if __name__ == "__main__":
    main()
