"""The config's JSON Schema accepts every config that loads and refuses wrong types and unknown keys."""

import dataclasses
import json
import re
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from deatf_gan.cli import main
from deatf_gan.config import Config, config_from_dict, config_json_schema, save_config
from deatf_gan.config.json_schema import FLOAT_TEXT
from deatf_gan.config.parsing import parse_yaml
from deatf_gan.config.schema import OneOf
from deatf_gan.errors import ConfigError
from deatf_gan.genome import ACTIVATIONS
from tests.test_fuzz_config import _trees

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "configs").glob("*.yaml")) + [ROOT / "examples" / "custom_evaluation.yaml"]
BAD = Path(__file__).parent / "bad_configs"


@pytest.fixture(scope="module")
def validator():
    schema = config_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator, raw) -> list[str]:
    return [error.json_path for error in validator.iter_errors(raw)]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_configs_pass(validator, path):
    assert _errors(validator, parse_yaml(path.read_text())) == []


def test_the_saved_default_config_passes(validator, tmp_path):
    save_config(Config(), tmp_path / "default.yaml")
    assert _errors(validator, parse_yaml((tmp_path / "default.yaml").read_text())) == []


@pytest.mark.parametrize(
    "raw, where",
    [
        ({"evolution": {"populaton": 10}}, "$.evolution"),  # additionalProperties: false
        ({"evolution": {"generations": "ten"}}, "$.evolution.generations"),
        ({"evolution": {"inherit_weights": 1}}, "$.evolution.inherit_weights"),
        ({"training": {"evaluator": "tpu"}}, "$.training.evaluator"),  # a Literal's values
        ({"search_space": {"generator": {"units": {"min": 4}}}}, "$.search_space.generator.units"),  # max required
        ({"search_space": {"generator": {"activations": ["relu6"]}}}, "$.search_space.generator.activations[0]"),
        ({"evaluation": {"fitness": 3}}, "$.evaluation.fitness"),
        ({"training": {"latent_stddev": "wide"}}, "$.training.latent_stddev"),
        (["just", "a list"], "$"),
    ],
)
def test_wrong_types_and_unknown_keys_fail(validator, raw, where):
    with pytest.raises(ConfigError):  # what the schema refuses, loading refuses too
        config_from_dict(raw, import_user_code=False)
    assert where in _errors(validator, raw)


@pytest.mark.parametrize("name", ["unknown_key", "wrong_type", "not_a_mapping", "unknown_activation", "unknown_loss"])
def test_bad_configs_of_type_or_name_fail(validator, name):
    assert _errors(validator, parse_yaml((BAD / f"{name}.yaml").read_text()))


def test_every_field_of_every_section_is_in_the_schema():
    schema = config_json_schema()

    def walk(cls, section: dict, path: str) -> None:
        names = [f.name for f in dataclasses.fields(cls)]
        assert list(section["properties"]) == names, path
        assert section["additionalProperties"] is False, path
        hints = typing.get_type_hints(cls)
        for name in names:
            if dataclasses.is_dataclass(hints[name]):
                reference = section["properties"][name]["$ref"].removeprefix("#/$defs/")
                walk(hints[name], schema["$defs"][reference], f"{path}.{name}")

    walk(Config, schema, "config")


def test_names_defaults_and_descriptions_come_from_the_dataclasses():
    schema = config_json_schema()
    network = schema["$defs"]["NetworkSpaceConfig"]
    assert network["properties"]["activations"]["items"]["enum"] == list(ACTIVATIONS)
    assert network["properties"]["dropout"]["default"] == {"min": 0.0, "max": 0.2}
    generator = schema["$defs"]["GeneratorSpaceConfig"]
    assert generator["properties"]["dropout"]["default"] == {"min": 0.0, "max": 0.0}
    assert generator["description"].startswith("The generator's hidden-layer choices")
    executor = schema["$defs"]["ExecutorConfig"]["properties"]
    assert executor["workers"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "description": "None: one per core",
        "default": None,
    }
    assert "description" in executor["chunk_size"]  # a comment on a wrapped line
    assert "description" not in schema["$defs"]["EvolutionConfig"]["properties"]["population"]
    assert schema["$defs"]["EvaluationConfig"]["description"].startswith("How individuals are scored.\n\n``fitness``")


def _name_fields(cls=Config, path=()):
    """(key path, names) of every field whose items are annotated with ``OneOf``."""
    hints = typing.get_type_hints(cls, include_extras=True)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            yield from _name_fields(hint, (*path, f.name))
        elif typing.get_origin(hint) is tuple and typing.get_origin(typing.get_args(hint)[0]) is typing.Annotated:
            (names,) = [extra.names for extra in typing.get_args(hint)[0].__metadata__ if isinstance(extra, OneOf)]
            yield (*path, f.name), names


def _nested(path, value):
    return value if not path else {path[0]: _nested(path[1:], value)}


NAME_FIELDS = list(_name_fields())


@pytest.mark.parametrize("path, names", NAME_FIELDS, ids=[".".join(path) for path, _ in NAME_FIELDS])
def test_the_names_the_schema_lists_are_the_names_that_load(path, names):
    config_from_dict(_nested(path, list(names)), import_user_code=False)
    with pytest.raises(ConfigError, match=re.escape(".".join(path) + "[0]")):
        config_from_dict(_nested(path, ["not_a_name"]), import_user_code=False)


@pytest.mark.parametrize("text", ["1e-3", "1E5", "-2.5e+3", ".5", "3.", "1_000.5", " 2 "])
def test_float_text_that_parsing_reads_passes(text):
    assert re.search(FLOAT_TEXT, text) and float(text) == float(text)


@pytest.mark.parametrize("text", ["ten", "1e", "e5", "nan", "inf", "1__0", "_1", "1.2.3"])
def test_other_text_for_a_float_fails(text):
    assert not re.search(FLOAT_TEXT, text)


@given(raw=_trees(Config, top=True))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_config_that_loads_passes(raw):
    try:
        config_from_dict(raw, import_user_code=False)
    except ConfigError:
        return
    errors = list(jsonschema.Draft202012Validator(config_json_schema()).iter_errors(raw))
    assert errors == [], [error.message for error in errors]


def test_the_command_prints_the_schema(capsys, tmp_path):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == config_json_schema()
    assert main(["schema", "-o", str(tmp_path / "schema.json")]) == 0
    assert json.loads((tmp_path / "schema.json").read_text()) == printed
