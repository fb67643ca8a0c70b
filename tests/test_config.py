from pathlib import Path

import numpy as np
import pytest
import yaml

from deatf_gan.config import Config, apply_overrides, config_from_dict, config_to_dict, load_config, save_config
from deatf_gan.errors import ConfigError
from deatf_gan.genome import GANGenome

ROOT = Path(__file__).resolve().parent.parent
BAD = sorted((Path(__file__).parent / "bad_configs").glob("*.yaml"))


def _expected(path: Path) -> str:
    return path.read_text().splitlines()[0].removeprefix("# expect: ")


def test_shipped_configs_load():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        assert isinstance(load_config(path), Config)


def test_save_round_trips(tmp_path):
    config = load_config(ROOT / "configs" / "gaussian_1d.yaml")
    save_config(config, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == config
    assert config_from_dict(config_to_dict(config)) == config


def test_loss_and_generator_ema_choices_round_trip(tmp_path):
    hyper = {"losses": ["hinge", "least_squares"], "generator_ema": [0, 0.99]}
    config = config_from_dict({"search_space": {"hyperparameters": hyper}})
    assert config.search_space.hyperparameters.losses == ("hinge", "least_squares")
    assert config.search_space.hyperparameters.generator_ema == (0.0, 0.99)
    save_config(config, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == config
    space = config.build_search_space().hyperparameters
    assert space.loss.options == ("hinge", "least_squares") and space.generator_ema.options == (0.0, 0.99)


def test_default_space_trains_every_individual_as_a_plain_gan():
    space = Config().build_search_space().hyperparameters
    assert space.loss.options == ("non_saturating",) and space.generator_ema.options == (0.0,)
    assert space.r1_penalty.options == (0.0,) and space.packing.options == (1,)


def test_r1_penalty_and_packing_choices_round_trip(tmp_path):
    hyper = {"r1_penalty": [0, 1.0, 10], "packing": [1, 2, 4]}
    config = config_from_dict({"search_space": {"hyperparameters": hyper}})
    save_config(config, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == config
    assert config.build_search_space().hyperparameters.r1_penalty.options == (0.0, 1.0, 10.0)
    assert config.build_search_space().hyperparameters.packing.options == (1, 2, 4)


def test_defaults_fill_missing_sections():
    config = config_from_dict({"evolution": {"generations": 2}})
    assert config.evolution.generations == 2
    assert config.evolution.population == Config().evolution.population


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_config_is_rejected_naming_the_key(path):
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert _expected(path) in str(error.value)


def test_overrides_set_nested_values():
    raw = apply_overrides(
        {"evolution": {"population": 4}}, ["evolution.generations=7", "search_space.generator.activations=[relu, tanh]"]
    )
    config = config_from_dict(raw)
    assert config.evolution.generations == 7 and config.evolution.population == 4
    assert config.search_space.generator.activations == ("relu", "tanh")


def test_bad_override_is_a_config_error():
    with pytest.raises(ConfigError, match="key.path=value"):
        apply_overrides({}, ["evolution.generations"])
    with pytest.raises(ConfigError, match="evolution.generations: cannot set"):
        apply_overrides({"evolution": {"generations": 3}}, ["evolution.generations.x=1"])


def test_yaml_scientific_notation_without_dot_is_a_number():
    config = config_from_dict(
        yaml.safe_load("search_space: {hyperparameters: {generator_learning_rate: {min: 1e-5, max: 1e-2}}}")
    )
    assert config.search_space.hyperparameters.generator_learning_rate.min == 1e-5


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_a_key_given_twice_is_refused_on_one_line_too_but_a_merge_key_may_be_overridden(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("evolution: {generations: 1, generations: 2}\n")
    with pytest.raises(ConfigError, match=r"line 1, column 29: duplicate key 'generations' \(first given on line 1\)"):
        load_config(path)
    path.write_text("evolution:\n  <<: {population: 4, generations: 1}\n  generations: 2\n")
    assert load_config(path).evolution.generations == 2


def test_a_nan_given_with_set_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"evolution.mutation_probability: must be a finite number \(got nan\)"):
        config_from_dict(apply_overrides({}, ["evolution.mutation_probability=.nan"]))


def test_the_default_generator_has_no_dropout_even_when_other_generator_keys_are_set():
    """Samples are drawn with dropout off, so by default only the discriminator may use it."""
    for raw in ({}, {"search_space": {"generator": {"max_layers": 2}}}):
        space = config_from_dict(raw).search_space
        assert (space.generator.dropout.min, space.generator.dropout.max) == (0.0, 0.0)
        assert space.discriminator.dropout.max > 0
    asked = config_from_dict({"search_space": {"generator": {"dropout": {"min": 0.0, "max": 0.3}}}})
    assert asked.search_space.generator.dropout.max == 0.3


def test_shipped_configs_and_examples_keep_generator_dropout_off():
    for path in sorted([*(ROOT / "configs").glob("*.yaml"), *(ROOT / "examples").glob("*.yaml")]):
        generator = load_config(path).search_space.generator
        assert generator.dropout.max == 0.0, path


def test_a_relative_data_path_means_the_config_files_folder(tmp_path, monkeypatch):
    import numpy as np

    folder = tmp_path / "project"
    folder.mkdir()
    np.save(folder / "points.npy", np.zeros((20, 2), dtype=np.float32))
    (folder / "c.yaml").write_text("data: {name: file, params: {path: points.npy}}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("..") / "project" / "c.yaml")
    assert config.data.params["path"] == str((folder / "points.npy").resolve())
    save_config(config, elsewhere / "saved.yaml")  # as a run directory keeps it: found from any folder
    assert load_config(elsewhere / "saved.yaml") == config

    (folder / "missing.yaml").write_text("data: {name: file, params: {path: gone.npy}}\n")
    with pytest.raises(ConfigError, match="data.params.path") as error:
        load_config(folder / "missing.yaml")
    assert str((folder / "gone.npy").resolve()) in str(error.value)

    with pytest.raises(ConfigError) as error:  # --set is a command-line path: the current folder's
        load_config(folder / "c.yaml", ["data.params.path=points.npy"])
    assert "'points.npy'" in str(error.value)


def test_logging_defaults_off_and_round_trips(tmp_path):
    assert config_from_dict({}).logging.tensorboard is False
    config = config_from_dict({"logging": {"tensorboard": True}})
    assert config.logging.tensorboard is True
    save_config(config, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == config
    assert config_from_dict(config_to_dict(config)) == config


def test_initial_genomes_are_read_from_files_beside_the_config_and_kept_inline(tmp_path):
    """A path in ``evolution.initial_genomes`` means the config file's folder; the loaded
    config holds the genome itself, so its saved copy needs no file."""
    genome = load_config(ROOT / "configs" / "ring8.yaml").build_search_space().sample(np.random.default_rng(0))
    (tmp_path / "designs").mkdir()
    (tmp_path / "designs" / "known.json").write_text(genome.to_json())
    text = (ROOT / "configs" / "ring8.yaml").read_text()
    (tmp_path / "c.yaml").write_text(text + "  initial_genomes: [designs/known.json]\n")
    config = load_config(tmp_path / "c.yaml")
    assert [GANGenome.from_dict(data) for data in config.evolution.initial_genomes] == [genome]
    save_config(config, tmp_path / "saved.yaml")
    (tmp_path / "designs" / "known.json").unlink()
    assert load_config(tmp_path / "saved.yaml") == config
    with pytest.raises(ConfigError, match=r"evolution.initial_genomes\[0\]: cannot read the genome file .*known.json"):
        load_config(tmp_path / "c.yaml")


def test_the_readme_known_design_loads_into_the_ring8_search_space():
    import re

    readme = (ROOT / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "initial_genomes:" in b]
    genomes = [g for g in yaml.safe_load(block)["evolution"]["initial_genomes"] if isinstance(g, dict)]
    assert genomes
    raw = yaml.safe_load((ROOT / "configs" / "ring8.yaml").read_text())
    raw["evolution"]["initial_genomes"] = genomes
    config = config_from_dict(raw)
    assert GANGenome.from_dict(config.evolution.initial_genomes[0]).hyperparameters.packing == 4


def test_an_initial_genome_path_to_a_pipe_is_refused_without_reading_it(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "c.yaml").write_text("evolution:\n  initial_genomes: [pipe.json]\n")
    with pytest.raises(ConfigError, match=r"initial_genomes\[0\]: the genome file .*pipe.json is not a regular file"):
        load_config(tmp_path / "c.yaml")
