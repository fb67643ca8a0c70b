"""Shared fixtures: the default search space and a small, fast training budget."""

import numpy as np
import pytest

from deatf_gan.config import config_from_dict
from deatf_gan.datasets import load_dataset
from deatf_gan.genome import GANGenome, Hyperparameters, LayerGene, MLPDescriptor


@pytest.fixture(scope="session")
def space():
    return config_from_dict({}).build_search_space()


@pytest.fixture(scope="session")
def gaussian():
    return load_dataset("gaussian_1d")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def small_genome(**hyper) -> GANGenome:
    """A plain, known-good pair: one 16-unit ReLU layer each, Adam."""
    settings = dict(
        generator_learning_rate=2e-3,
        discriminator_learning_rate=2e-3,
        optimizer="adam",
        batch_size=64,
        latent_dim=2,
        discriminator_steps=1,
    )
    settings.update(hyper)
    return GANGenome(
        generator=MLPDescriptor((LayerGene(16, "relu", "he_uniform"),)),
        discriminator=MLPDescriptor((LayerGene(16, "relu", "he_uniform"),)),
        hyperparameters=Hyperparameters(**settings),
    )


# Small enough for a test, large enough for a real run: every run trains real networks.
TINY_RUN = {
    "seed": 3,
    "training": {"steps": 30, "eval_samples": 1000, "latent_stddev": 2.0},
    "evolution": {"population": 3, "offspring": 3, "generations": 1, "hall_of_fame": 2},
    "executor": {"kind": "serial"},  # in this process: fast, and closures work as evaluations
    "evaluation": {"fitness": "generator_loss"},  # no judge: the loop, not the fitness, is under test
    "search_space": {
        "generator": {"max_layers": 2, "units": {"min": 4, "max": 8}},
        "discriminator": {"max_layers": 2, "units": {"min": 4, "max": 8}},
    },
}


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """A real two-generation run on disk, shared by the tests that read runs back."""
    import yaml

    from deatf_gan.cli import main

    root = tmp_path_factory.mktemp("finished")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_RUN))
    out = root / "run"
    assert main(["run", str(config), "--out", str(out), "--quiet", "--set", "evolution.generations=2"]) == 0
    return out


def quick_config(directory, generations: int = 2):
    """A TINY_RUN config file whose individuals are scored without training
    (``tests.evaluations:units_score``): a whole run with its directory in about a second."""
    import copy

    import yaml

    raw = copy.deepcopy(TINY_RUN)
    raw["evaluation"] = {"function": "tests.evaluations:units_score"}
    raw["evolution"]["generations"] = generations
    path = directory / "quick.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path
