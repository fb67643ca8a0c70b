"""Draw 10,000 samples from each hall-of-fame generator of a run and print their moments.

    python examples/sample_hall_of_fame.py runs/gaussian_1d-YYYYmmdd-HHMMSS

Only Keras, NumPy and the files of the run directory are used, as a user of the trained
models would: the latent size comes from genome.json, the latent scale from config.yaml.
"""

import json
import sys
from pathlib import Path

import keras
import numpy as np
import yaml


def main(run_directory: str, count: int = 10_000, seed: int = 123) -> list[tuple[float, float]]:
    run = Path(run_directory)
    latent_stddev = yaml.safe_load((run / "config.yaml").read_text())["training"]["latent_stddev"]
    moments = []
    for member in sorted((run / "hall_of_fame").iterdir(), key=lambda p: int(p.name.split("_")[1])):
        generator = keras.models.load_model(member / "generator.keras")
        latent_dim = json.loads((member / "genome.json").read_text())["hyperparameters"]["latent_dim"]
        z = latent_stddev * np.random.default_rng(seed).standard_normal((count, latent_dim)).astype(np.float32)
        samples = np.asarray(generator(z, training=False))
        moments.append((float(samples.mean()), float(samples.std())))
        print(f"{member.name}: mean {samples.mean():.3f}  std {samples.std():.3f}  ({count} samples)")
    return moments


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
