"""Reading and writing configs: raw mappings and YAML to a validated Config and back.

:func:`config_from_dict` walks the raw mapping (usually parsed YAML) against the type
hints, so a wrong type or an unknown key raises :class:`ConfigError` as ``key.path: what is
wrong (got value)``. :func:`save_config` writes YAML that loads back to an equal config.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from deatf_gan.config.schema import Config
from deatf_gan.config.validation import validate_config
from deatf_gan.errors import ConfigError


def _type_name(hint) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(hint)))
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(hint)[0])}"
    if dataclasses.is_dataclass(hint):
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string", dict: "a mapping"}.get(
        hint, str(hint)
    )


def _coerce(value: Any, hint, path: str):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        options = [option for option in options if option is not type(None)]
        if len(options) > 1:  # e.g. one name or a list of names: the first that fits
            for option in options[:-1]:
                try:
                    return _coerce(value, option, path)
                except ConfigError:
                    pass
        hint = options[-1]
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path)
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{path}: must be {_type_name(hint)} (got {value!r})")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: must be {_type_name(hint)} (got {value!r})")
        item = typing.get_args(hint)[0]
        return tuple(_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if hint is float and isinstance(value, str):
        try:  # YAML 1.1 reads 1e-3 (no dot) as a string
            value = float(value)
        except ValueError:
            pass
    if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):
        raise ConfigError(f"{path}: must be {_type_name(hint)} (got {value!r})")
    if hint is float and not math.isfinite(value):  # NaN passes checks like `weight != 0`, inf any lower bound
        raise ConfigError(f"{path}: must be a finite number (got {value!r})")
    return value


def _build(cls, data: Any, path: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: must be a mapping (got {data!r})")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"{where}: unknown key (valid keys: {', '.join(names)})")
    values = {}
    for f in dataclasses.fields(cls):
        where = f"{path}.{f.name}" if path else f.name
        if f.name in data:
            values[f.name] = _coerce(data[f.name], hints[f.name], where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing required key")
    return cls(**values)


def config_from_dict(data: Any, import_user_code: bool = True) -> Config:
    """Parse and validate a raw mapping; raises ConfigError naming the bad key path.

    ``import_user_code=False`` checks everything but whether ``evaluation.function`` imports
    (reading a run directory must never run the code its config names)."""
    config = _build(Config, _genome_files_inlined({} if data is None else data, Path.cwd()), "")
    validate_config(config, import_user_code)
    return config


def plain_data(value: Any) -> Any:
    """A config value as YAML and JSON write it: sections as mappings, lists for tuples."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, (tuple, list)):
        return [plain_data(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_data(v) for k, v in value.items()}
    return value


def config_to_dict(config: Config) -> dict:
    """Plain data (lists, not tuples) that :func:`config_from_dict` reads back equal."""
    return plain_data(config)


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key given twice in one mapping is an error: the YAML spec
    forbids it, and last-wins would silently drop the first block's settings."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first_lines = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<: *base`` may be overridden
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = first_lines.get(key)
                except TypeError:  # an unhashable key: the base constructor reports it
                    continue
                if first is not None:
                    message = f"duplicate key {key!r} (first given on line {first})"
                    raise yaml.constructor.ConstructorError(None, None, message, key_node.start_mark)
                first_lines[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str):
    """Safe-load YAML text, refusing a key given twice in one mapping."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def _yaml_problem(error: yaml.YAMLError) -> str:
    """One line: where (line and column, counted from 1) and what."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + " ".join(problem.split())


MAX_CONFIG_BYTES = 1 << 20  # a config (or a genome file) is a page of text; anything far larger is not one


def _read_text(path: Path, what: str = "a config") -> str:
    """The file's text, read no further than a config can be long (``/dev/zero`` never ends)."""
    with open(path, "rb") as stream:
        data = stream.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: longer than {what} can be ({MAX_CONFIG_BYTES:,} bytes at most)")
    return data.decode("utf-8")


def _genome_files_inlined(raw: Any, folder: Path) -> Any:
    """``evolution.initial_genomes`` with each path replaced by the genome its JSON file holds,
    a relative path meaning ``folder``: the parsed config (and the run directory's copy of
    it) holds the genomes themselves, so a resumed run needs none of the files."""
    evolution = raw.get("evolution") if isinstance(raw, dict) else None
    genomes = evolution.get("initial_genomes") if isinstance(evolution, dict) else None
    if not isinstance(genomes, list) or not any(isinstance(g, str) for g in genomes):
        return raw
    inlined = list(genomes)
    for i, genome in enumerate(genomes):
        if isinstance(genome, str):
            inlined[i] = _genome_file(folder / genome, f"evolution.initial_genomes[{i}]")
    return {**raw, "evolution": {**evolution, "initial_genomes": inlined}}


def _genome_file(path: Path, where: str) -> Any:
    """A genome file's JSON as plain data (a file read back is data, never code); only a
    regular file, so a path to a pipe or a device cannot hang the load."""
    if path.exists() and not path.is_file():
        raise ConfigError(f"{where}: the genome file {path} is not a regular file")
    try:
        return json.loads(_read_text(path, "a genome file"))
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        problem = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"{where}: cannot read the genome file {path} ({problem})") from None


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = (), import_user_code: bool = True) -> Config:
    """Read a YAML config, apply ``key.path=value`` overrides, validate (see :func:`config_from_dict`)."""
    path = Path(path)
    try:
        raw = parse_yaml(_read_text(path))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not a text file (byte {error.start} is not UTF-8)") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config ({error.strerror or error})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({_yaml_problem(error)})") from None
    raw = _data_path_from_folder(raw if raw is not None else {}, path.parent)
    raw = _genome_files_inlined(raw, path.parent)
    raw = apply_overrides(raw, overrides)
    return config_from_dict(raw, import_user_code)


def _data_path_from_folder(raw: Any, folder: Path) -> Any:
    """A relative ``data.params.path`` of the file data source, written in a config file,
    means the file's folder (the config and its data travel together), not the folder the
    command runs in. It becomes absolute, so errors name the file looked for and the run
    directory's saved config finds it from anywhere. A path given with ``--set`` stays
    relative to the current folder, as any command-line path is."""
    data = raw.get("data") if isinstance(raw, dict) else None
    params = data.get("params") if isinstance(data, dict) and data.get("name") == "file" else None
    if not isinstance(params, dict) or not isinstance(params.get("path"), str) or Path(params["path"]).is_absolute():
        return raw
    resolved = str((folder / params["path"]).resolve())
    return {**raw, "data": {**data, "params": {**params, "path": resolved}}}


def save_config(config: Config, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))


def apply_overrides(raw: Any, overrides: list[str] | tuple[str, ...]) -> dict:
    """``--set evolution.generations=3``: the value is read as YAML (numbers, lists, true)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"config: must be a mapping (got {raw!r})")
    raw = dict(raw)
    for override in overrides:
        key, sep, text = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {override!r}: expected key.path=value")
        parts = key.split(".")
        node = raw
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{'.'.join(parts[: depth + 1])}: cannot set a key inside {child!r}")
            node[part] = child = dict(child)
            node = child
        try:
            node[parts[-1]] = parse_yaml(text)
        except yaml.YAMLError:
            raise ConfigError(f"--set {override!r}: value is not valid YAML") from None
    return raw
