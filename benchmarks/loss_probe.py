"""What the loss and weight-average genes do to one hand-designed GAN at a lineage's length.

    python benchmarks/loss_probe.py --dataset ring8 --steps 8000 --seed 0

Trains ``benchmarks/quality.py``'s hand-designed GAN once per loss and ``generator_ema``
decay (``eval_gan``, from the same seed) and prints the quality of 2,500 fresh samples.
"""

from __future__ import annotations

import argparse
import dataclasses

from quality import LATENT_DIM, ROOT, fresh_quality, hand_designed, train_fully  # beside this script

from deatf_gan import xla_cache
from deatf_gan.config import load_config
from deatf_gan.datasets import load_dataset
from deatf_gan.genome import LOSSES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ring8")
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--decays", nargs="+", type=float, default=[0.0, 0.99, 0.999])
    args = parser.parse_args()
    xla_cache.enable()
    config = load_config(ROOT / "configs" / f"{args.dataset}.yaml")
    dataset = load_dataset(config.data.name, config.data.params, args.seed)
    base = hand_designed(args.dataset)
    print(f"{args.dataset}, {args.steps} steps, latent {LATENT_DIM.get(args.dataset, 8)}, seed {args.seed}")
    for decay in args.decays:
        for loss in LOSSES:
            hyper = dataclasses.replace(base.hyperparameters, generator_ema=decay, loss=loss)
            genome = dataclasses.replace(base, hyperparameters=hyper)
            result, seconds = train_fully(genome, dataset, args.seed, args.steps, config.training.latent_stddev)
            quality = fresh_quality(genome, result.weights[0], dataset, args.seed, config.training.latent_stddev, 2500)
            cells = ", ".join(f"{key} {value:.3g}" for key, value in quality.items())
            print(f"generator_ema {decay}, {loss}: {cells} ({seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
