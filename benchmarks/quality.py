"""Quality benchmark: the evolved best generator against a hand-designed GAN at equal budget.

    python benchmarks/quality.py run --datasets ring8 grid25 digits --seeds 0 1 --out quality.jsonl
    python benchmarks/quality.py report quality.jsonl        # the markdown table for docs/benchmarks.md
    python benchmarks/quality.py run --datasets ring8 --hand-only --budget 64000 --hand-packing 4 --seeds 0 1

For each dataset (``configs/<dataset>.yaml``), fitness choice and seed, ``run`` evolves a
population (``--population``, ``--generations``, ``--steps`` override the config) and
counts the training budget it spent: generator updates summed over every evaluated
individual (``--inherit on``, the default, lets children go on training their parents'
weights; ``off`` trains every individual from scratch). With ``--budget B`` the evolved
best genome is then retrained from scratch for the rest of B (the usual search-then-train
protocol), or with ``--go-on`` trains on from its evolved weights, and the budget is B.
Train-on rounds (``--set evolution.train_on.rounds=R``) count in the budget too. The
hand-designed GAN (two 128-unit ReLU layers in each network, Adam 2e-4 for
both, batch 64, one discriminator update per generator update; once with the textbook
non-saturating loss, once with least squares) is then trained from the
same seed for that whole budget in one go. Both generators are measured the same way, on
``--samples`` fresh samples from a latent stream used neither in training nor in selection,
with the dataset's quality metrics (``deatf_gan.metrics``). One JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from deatf_gan import xla_cache
from deatf_gan.build import build_generator
from deatf_gan.config import load_config
from deatf_gan.datasets import Dataset, load_dataset
from deatf_gan.evaluation import EvalContext, eval_gan
from deatf_gan.evolution import evolve
from deatf_gan.fitness import TrainedPair
from deatf_gan.genome import GANGenome, Hyperparameters, LayerGene, MLPDescriptor
from deatf_gan.inheritance import Inheritance, Parent
from deatf_gan.metrics import quality_metrics
from deatf_gan.streams import SampleStream

ROOT = Path(__file__).resolve().parent.parent

# Fitness choices per dataset: the literal own-discriminator loss, the judge, k-NN precision
# and recall, and the dataset's own quality metrics (several objectives, NSGA-II).
FITNESS_CHOICES = {
    "ring8": ["generator_loss", "judged_generator_loss", "precision_recall", "modes_missed,low_quality_share"],
    "grid25": ["generator_loss", "judged_generator_loss", "precision_recall", "modes_missed,low_quality_share"],
    "digits": ["generator_loss", "judged_generator_loss", "precision_recall", "frechet_distance"],
    "gaussian_1d": ["generator_loss", "judged_generator_loss", "precision_recall", "wasserstein_1d"],
}
LATENT_DIM = {"digits": 32}  # the hand-designed GAN's latent size; 8 elsewhere


HAND_LOSSES = ("non_saturating", "least_squares")  # the textbook GAN, and the stronger one at short budgets


def hand_designed(
    dataset_name: str, loss: str = "non_saturating", packing: int = 1, ema: float = 0.0, batch_size: int = 64
) -> GANGenome:
    """Two 128-unit ReLU layers per network, Adam 2e-4, batch 64 (a common textbook MLP GAN);
    with ``packing`` > 1 its discriminator judges packs (PacGAN's recipe on the same GAN),
    with ``ema`` > 0 its generator is the average of its weights (Yazıcı et al. 2019)."""
    network = MLPDescriptor((LayerGene(128, "relu"), LayerGene(128, "relu")))
    latent_dim = LATENT_DIM.get(dataset_name, 8)
    hyper = Hyperparameters(
        2e-4, 2e-4, "adam", batch_size, latent_dim, 1, loss=loss, packing=packing, generator_ema=ema
    )
    return GANGenome(network, network, hyper)


# What ``--seed-known`` starts evolution from, as (packing, generator EMA) of the hand design:
# the textbook GAN and the remedies the papers found for it, so evolution can refine from them.
KNOWN_DESIGNS = ((1, 0.0), (4, 0.0), (4, 0.999))


def hand_designed_rows(dataset_name: str, dataset: Dataset, seed: int, budget: int, latent_stddev: float, args):
    """One row per hand design (each loss of ``--hand-losses``, and PacGAN's packing of
    ``--hand-packing``), each trained ``budget`` steps in one go from ``seed``."""
    common = {"dataset": dataset_name, "seed": seed, "budget_steps": budget, "samples": args.samples}
    designs = [(loss, 1, 0.0, 64) for loss in args.hand_losses]
    designs += [
        ("non_saturating", m, ema, batch)
        for m in args.hand_packing
        for ema in args.hand_ema
        for batch in args.hand_batch
    ]
    rows = []
    for loss, packing, ema, batch_size in designs:
        genome = hand_designed(dataset_name, loss, packing, ema, batch_size)
        trained, seconds = train_fully(genome, dataset, seed, budget, latent_stddev)
        quality = fresh_quality(genome, trained.weights[0], dataset, seed, latent_stddev, args.samples)
        method = "hand-designed" + ("" if loss == "non_saturating" else f" ({loss})")
        method += f", packing {packing}" if packing > 1 else ""
        method += f", generator EMA {ema:g}" if ema else ""
        method += f", batch {batch_size}" if batch_size != 64 else ""
        rows.append({**common, "method": method, "evaluations": 1, "seconds": round(seconds, 1), **quality})
    return rows


def fresh_quality(genome: GANGenome, generator_weights, dataset: Dataset, seed: int, latent_stddev: float, count: int):
    """Quality of ``count`` samples from latent stream 7 (neither training's nor selection's)
    against as many real samples drawn without replacement."""
    generator = build_generator(genome, dataset, seed)
    generator.set_weights(generator_weights)
    pair = TrainedPair(genome, lambda: (generator, None), dataset, None, None, seed, latent_stddev)
    generated = pair.sample(count, stream=SampleStream.UNSEEN)
    rng = np.random.default_rng([seed, 7])
    real = dataset.samples[rng.choice(len(dataset.samples), size=min(count, len(dataset.samples)), replace=False)]
    return quality_metrics(dataset.kind, real, generated, dataset.centres, dataset.mode_stddev)


def run_one(dataset_name: str, fitness: str, seed: int, args) -> list[dict]:
    overrides = [
        f"seed={seed}",
        f"evaluation.fitness=[{fitness}]",
        f"evolution.population={args.population}",
        f"evolution.offspring={args.population}",
        f"evolution.generations={args.generations}",
        f"training.steps={args.steps}",
        f"executor.workers={args.workers}",
        f"evolution.inherit_weights={'true' if args.inherit == 'on' else 'false'}",
    ]
    if "," in fitness:
        overrides.append("evolution.selection.method=nsga2")
    if args.seed_known:
        known = [hand_designed(dataset_name, packing=m, ema=ema).to_dict() for m, ema in KNOWN_DESIGNS]
        overrides.append(f"evolution.initial_genomes={json.dumps(known)}")
    overrides += args.set or []
    config = load_config(ROOT / "configs" / f"{dataset_name}.yaml", overrides)
    dataset = load_dataset(config.data.name, config.data.params, seed)
    start = time.perf_counter()
    result = evolve(config, dataset=dataset)
    seconds = time.perf_counter() - start
    evo = config.evolution
    evaluations = int(sum(row["evaluated"] for row in result.logbook if row["gen"] <= evo.generations))
    continued = int(sum(row["evaluated"] for row in result.logbook if row["gen"] > evo.generations))
    continued_steps = continued * (evo.train_on.steps or config.training.steps)
    budget = evaluations * config.training.steps + continued_steps
    best = result.best
    latent_stddev = config.training.latent_stddev
    lineage = ("inherited" if args.inherit == "on" else "from scratch") + (f" {args.label}" if args.label else "")
    lineage += ", from the known designs" if args.seed_known else ""
    if continued:
        candidates = f" from the best {evo.train_on.candidates}, halving" if evo.train_on.candidates > 1 else ""
        if evo.train_on.learning_rate_decay != 1:
            candidates += f", learning rates ×{evo.train_on.learning_rate_decay:g} a round"
        lineage += (
            f" + {evo.train_on.rounds} rounds of {evo.train_on.children} training on{candidates} ({continued_steps})"
        )
    if args.budget:  # the rest of the budget trains the winner longer: from scratch, or on from its weights
        if args.budget <= budget:
            raise SystemExit(f"--budget {args.budget} is not more than the evolution's {budget} steps")
        start = Inheritance((Parent(best.genome, best.result.weights, best.result.trained_steps),))
        retrained, retrain_seconds = train_fully(
            best.genome, dataset, best.seed, args.budget - budget, latent_stddev, start if args.go_on else None
        )
        weights, seconds, budget = retrained.weights[0], seconds + retrain_seconds, args.budget
        retrained_steps = args.budget - evaluations * config.training.steps - continued_steps
        how = "trained on" if args.go_on else "retrained"
        method = f"evolved {evaluations}×{config.training.steps} {lineage} + best {how} {retrained_steps} ({fitness})"
    else:
        weights = best.result.weights[0]
        method = f"evolved {evaluations}×{config.training.steps} {lineage} ({fitness})"
    quality = fresh_quality(best.genome, weights, dataset, best.seed, latent_stddev, args.samples)
    common = {"dataset": dataset_name, "seed": seed, "budget_steps": budget, "samples": args.samples}
    rows = [
        {
            **common,
            "method": method,
            "evaluations": evaluations,
            "seconds": round(seconds, 1),
            "fitness": list(best.fitness.values),
            "trained_steps": best.result.trained_steps,
            "genome": best.genome.to_dict(),
            **quality,
        }
    ]
    last = max((ind for ind in result.population if not ind.failed), key=lambda ind: ind.fitness, default=best)
    if continued and not args.budget and last.id != best.id and last.result.weights is not None:
        # the chain's last round, beside the best point its (noisy) fitness chose: what
        # stopping early by that fitness cost or saved
        last_quality = fresh_quality(
            last.genome, last.result.weights[0], dataset, last.seed, latent_stddev, args.samples
        )
        chain_end = {"fitness": list(last.fitness.values), "trained_steps": last.result.trained_steps}
        chain_end.update(genome=last.genome.to_dict(), **last_quality)
        rows.append({**rows[0], "method": method + " [last round]", **chain_end})
    if args.baseline:
        rows += hand_designed_rows(dataset_name, dataset, seed, budget, latent_stddev, args)
    return rows


def train_fully(genome: GANGenome, dataset: Dataset, seed: int, steps: int, latent_stddev: float, start=None):
    """One training of ``steps`` generator updates (``eval_gan``) from fresh weights or from
    ``start`` (an ``Inheritance``), and its seconds."""
    context = EvalContext(
        dataset=dataset, steps=steps, seed=seed, latent_stddev=latent_stddev, fitness="generator_loss",
        inheritance=start,
    )  # fmt: skip
    start = time.perf_counter()
    result = eval_gan(genome, context)
    return result, time.perf_counter() - start


def run(args) -> None:
    out = Path(args.out)
    for dataset_name in args.datasets:
        done = set()
        choices = FITNESS_CHOICES[dataset_name]
        fitnesses = [f for f in args.fitness if f in choices] if args.fitness else choices
        # the hand designs alone are selected by no fitness: one pass at the budget given
        for fitness in [None] if args.hand_only else fitnesses:
            for seed in args.seeds:
                args.baseline = (dataset_name, seed) not in done and not args.no_baseline
                if fitness is None:
                    rows = hand_only(dataset_name, seed, args)
                else:
                    rows = run_one(dataset_name, fitness, seed, args)
                done.add((dataset_name, seed))
                with open(out, "a") as stream:
                    for row in rows:
                        stream.write(json.dumps(row) + "\n")
                        print({k: v for k, v in row.items() if k != "genome"}, flush=True)


def hand_only(dataset_name: str, seed: int, args) -> list[dict]:
    """The hand designs alone, trained ``--budget`` steps on the config's data."""
    config = load_config(ROOT / "configs" / f"{dataset_name}.yaml", args.set or [])
    dataset = load_dataset(config.data.name, config.data.params, seed)
    return hand_designed_rows(dataset_name, dataset, seed, args.budget, config.training.latent_stddev, args)


METRIC_COLUMNS = {
    "mixture": [
        ("modes_covered", "modes covered", "{:.0f}"),
        ("modes_covered_strict", "modes (strict)", "{:.0f}"),
        ("high_quality_share", "high-quality share", "{:.3f}"),
        ("reverse_kl", "reverse KL", "{:.3f}"),
    ],
    "digits": [
        ("frechet_distance", "Fréchet distance", "{:.2f}"),
        ("class_coverage_tvd", "class TVD", "{:.3f}"),
        ("mean_confidence", "confidence", "{:.3f}"),
    ],
    "univariate": [
        ("wasserstein_1d", "W1", "{:.3f}"),
        ("mean_error", "mean error", "{:.3f}"),
        ("stddev_error", "std error", "{:.3f}"),
    ],
}


def report(args) -> None:
    rows = [json.loads(line) for line in Path(args.results).read_text().splitlines() if line.strip()]
    # a measurement repeated (the hand-designed GAN of one seed, in several runs) counts once: its last
    rows = list({(row["dataset"], row["method"], row["seed"]): row for row in rows}.values())
    for dataset_name in dict.fromkeys(row["dataset"] for row in rows):
        kind = load_dataset(dataset_name).kind
        columns = METRIC_COLUMNS[kind]
        dataset_rows = [r for r in rows if r["dataset"] == dataset_name]
        print(f"\n#### {dataset_name}\n")
        print("| method | seed | budget (steps) | " + " | ".join(title for _, title, _ in columns) + " | seconds |")
        print("|---" * (len(columns) + 4) + "|")
        for row in dataset_rows:
            cells = [fmt.format(row.get(key, float("nan"))) for key, _, fmt in columns]
            print(
                f"| {row['method']} | {row['seed']} | {row['budget_steps']:,} | "
                + " | ".join(cells)
                + f" | {row['seconds']:.0f} |"
            )
        print(f"\n{dataset_name}, mean ± standard error over seeds:\n")
        print("| method | seeds | " + " | ".join(title for _, title, _ in columns) + " | seconds |")
        print("|---" * (len(columns) + 3) + "|")
        for method in dict.fromkeys(row["method"] for row in dataset_rows):
            group = [r for r in dataset_rows if r["method"] == method]
            cells = [_mean_and_error([r.get(key, float("nan")) for r in group], fmt) for key, _, fmt in columns]
            seconds = _mean_and_error([r["seconds"] for r in group], "{:.0f}")
            print(f"| {method} | {len(group)} | " + " | ".join(cells) + f" | {seconds} |")


def _mean_and_error(values, fmt: str) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return fmt.format(values.mean())
    error = values.std(ddof=1) / np.sqrt(len(values))
    precise = fmt.replace(":.0f", ":.1f")
    return f"{precise.format(values.mean())} ± {precise.format(error)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--datasets", nargs="+", default=["ring8", "grid25", "digits"])
    run_parser.add_argument(
        "--fitness",
        nargs="+",
        help="fitness choices (comma-separated for several objectives); each dataset runs those of FITNESS_CHOICES",
    )
    run_parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    run_parser.add_argument("--population", type=int, default=6)
    run_parser.add_argument("--generations", type=int, default=2)
    run_parser.add_argument("--steps", type=int, default=2000)
    run_parser.add_argument(
        "--budget", type=int, help="total steps: what evolution leaves retrains its best from scratch"
    )
    run_parser.add_argument(
        "--go-on", action="store_true", help="with --budget: the best trains on from its weights, not from scratch"
    )
    run_parser.add_argument("--samples", type=int, default=2500)
    run_parser.add_argument("--workers", type=int, default=2)
    run_parser.add_argument("--no-baseline", action="store_true")
    run_parser.add_argument(
        "--hand-packing", nargs="*", type=int, default=[], metavar="M",
        help="also a hand design whose discriminator packs M samples (PacGAN)",
    )  # fmt: skip
    run_parser.add_argument("--hand-losses", nargs="*", default=list(HAND_LOSSES), choices=HAND_LOSSES)
    run_parser.add_argument(
        "--hand-ema", nargs="*", type=float, default=[0.0], help="generator EMA decays of the packing hand designs"
    )
    run_parser.add_argument(
        "--hand-batch", nargs="*", type=int, default=[64], help="batch sizes of the packing hand designs"
    )
    run_parser.add_argument(
        "--seed-known", action="store_true", help="evolution starts from KNOWN_DESIGNS besides random genomes"
    )
    run_parser.add_argument("--hand-only", action="store_true", help="only the hand designs, trained --budget steps")
    run_parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="more config overrides, as the CLI's")
    run_parser.add_argument("--label", default="", help="appended to the evolved rows' method")
    run_parser.add_argument(
        "--inherit", choices=["on", "off"], default="on", help="evolution.inherit_weights (Lamarckian inheritance)"
    )
    run_parser.add_argument("--out", default="quality.jsonl")
    report_parser = commands.add_parser("report")
    report_parser.add_argument("results")
    args = parser.parse_args()
    if args.command == "run" and args.hand_only and not args.budget:
        parser.error("--hand-only needs --budget")
    xla_cache.enable()  # compiled code on disk, as a run has it (before the first compilation)
    run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    main()
