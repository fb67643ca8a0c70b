"""A config that cannot fit in memory is refused before anything trains, naming the key."""

from pathlib import Path

import pytest

from deatf_gan.cli import main
from deatf_gan.config import load_config
from deatf_gan.datasets import load_dataset
from deatf_gan.errors import ConfigError
from deatf_gan.memory import available_memory, check_memory_fits, run_bytes

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_fits_in_a_small_fraction_of_this_machine(path):
    config = load_config(path)
    dim = load_dataset(config.data.name, config.data.params, config.seed).dim
    check_memory_fits(config, dim)
    assert run_bytes(config, dim)[1] < available_memory() / 8


@pytest.mark.parametrize(
    "override, key",
    [
        ("search_space.generator.units={min: 4, max: 1000000}", "search_space.generator.units.max"),
        ("search_space.discriminator.units={min: 4, max: 1000000}", "search_space.discriminator.units.max"),
        (
            "search_space.hyperparameters.latent_dim={min: 1, max: 1000000}",
            "search_space.hyperparameters.latent_dim.max",
        ),
        ("search_space.hyperparameters.batch_sizes=[100000000]", "search_space.hyperparameters.batch_sizes"),
        ("training.eval_samples=1000000000", "training.eval_samples"),
        ("evolution.population=1000000000", "evolution.population"),
        ("evolution.offspring=100000000", "evolution.offspring"),
    ],
)
def test_a_run_too_big_for_the_machine_exits_2_naming_the_key_before_any_run_directory(override, key, tmp_path, capsys):
    config = Path(__file__).resolve().parent.parent / "configs" / "gaussian_1d.yaml"
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out), "--set", override]) == 2
    err = capsys.readouterr().err
    assert f"deatf-gan: error: {key}" in err and "of memory, more than the" in err and "Traceback" not in err
    assert not out.exists()


def test_the_estimate_is_checked_against_the_memory_given():
    config = load_config(CONFIGS[0])
    need = run_bytes(config, 64)[1]
    check_memory_fits(config, 64, available=int(need * 10))
    with pytest.raises(ConfigError, match="of memory"):
        check_memory_fits(config, 64, available=int(need / 10))


def test_available_memory_is_at_most_the_machine_s():
    line = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
    assert 0 < available_memory() <= int(line.split()[1]) * 1024 + 2**20
