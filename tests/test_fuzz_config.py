"""Fuzzing what a user can type: any config tree, any bytes as a config file.

Everything ``deatf-gan run`` does before it trains (read, validate, load the data, check
the fitness and the memory, sample and check a genome) must either succeed or raise a
:class:`DeatfGanError`, which the command line prints as one line with exit code 2. Any
other exception would reach the user as a traceback.
"""

import dataclasses
import typing

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deatf_gan.cli import main
from deatf_gan.config import Config, load_config
from deatf_gan.datasets import load_dataset
from deatf_gan.errors import DeatfGanError
from deatf_gan.fitness import check_fitness_applies
from deatf_gan.memory import check_memory_fits

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(min_value=-3, max_value=300), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
NAMES = st.sampled_from(
    ["relu", "tanh", "adam", "sgd", "ring8", "grid25", "gaussian_1d", "digits", "generator_loss", "hinge", "mode"]
)


def _mostly(plausible: st.SearchStrategy) -> st.SearchStrategy:
    """A plausible value nine times in ten, else junk: a tree then often holds one bad value
    deep inside, which is what each check must catch, instead of failing at its first key."""
    return st.integers(0, 9).flatmap(lambda roll: JUNK if roll == 0 else plausible)


def _values(hint) -> st.SearchStrategy:
    """Plausible values of a schema type, now and then junk of any other type."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _trees(hint)
    if origin in (typing.Union, __import__("types").UnionType):
        return st.one_of([_values(option) for option in typing.get_args(hint) if option is not type(None)])
    if origin is typing.Literal:
        return _mostly(st.sampled_from(typing.get_args(hint)))
    if origin is tuple:
        return _mostly(st.lists(_values(typing.get_args(hint)[0]), max_size=4))
    plausible = {
        int: st.integers(min_value=-2, max_value=40),
        float: st.floats(min_value=-1.0, max_value=2.0) | st.sampled_from([1e-3, 0.5, float("nan"), float("inf")]),
        bool: st.booleans(),
        str: NAMES,
        dict: st.dictionaries(st.sampled_from(["samples", "stddev", "modes", "path", "x"]), JUNK, max_size=2),
    }.get(hint, JUNK)
    return _mostly(plausible)


def _trees(cls, top: bool = False) -> st.SearchStrategy:
    """A mapping for dataclass ``cls``: some of its keys, now and then an unknown one, and
    below the top now and then no mapping at all."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: _values(hints[f.name]) for f in dataclasses.fields(cls)}
    known = st.fixed_dictionaries({}, optional=fields)
    tree = st.integers(0, 19).flatmap(lambda roll: known.map(lambda t: {**t, "unknown_key": 1}) if roll == 0 else known)
    return tree if top else _mostly(tree)


def _before_training(raw, path) -> None:
    """What ``deatf-gan run`` does with a config before it trains anything."""
    path.write_text(yaml.safe_dump(raw))
    config = load_config(path)
    dataset = load_dataset(config.data.name, config.data.params, config.seed)
    check_fitness_applies(config.evaluation.fitness_names, dataset)
    check_memory_fits(config, dataset.dim)
    space = config.build_search_space()
    space.validate(space.sample(np.random.default_rng(0)))


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(raw=_trees(Config, top=True))
def test_any_config_tree_is_accepted_or_refused_with_a_deatf_gan_error(raw, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "config.yaml"
    try:
        _before_training(raw, path)
    except DeatfGanError:
        pass  # refused with a message: the command line prints it as one line


@FUZZ
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_as_a_config_file_are_accepted_or_refused_with_a_deatf_gan_error(content, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "config.yaml"
    path.write_bytes(content)
    try:
        load_config(path)
    except DeatfGanError:
        pass


@pytest.mark.parametrize(
    "text",
    [
        "evolution: {population: .nan}",
        "search_space: {generator: {units: {min: 1e400, max: 2}}}",
        "data: {name: ring8, params: {modes: -3}}",
        "\x00\x01binary",
        "training: [1, 2",
    ],
)
def test_refusals_reach_the_command_line_as_one_line_and_exit_2(text, tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert main(["run", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deatf-gan: error: ") and err.count("\n") == 1 and "Traceback" not in err
