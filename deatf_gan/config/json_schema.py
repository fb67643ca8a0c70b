"""Writes the JSON Schema (draft 2020-12) of a config file from the dataclasses of ``config.schema``.

Editors that read JSON Schema (VS Code's YAML extension, JetBrains IDEs) then check and
complete a config as it is typed. The schema walks the same type hints as ``parsing`` does,
so it cannot drift from what loads: a key for each field, its type and default, the names of
:class:`~deatf_gan.config.schema.OneOf` fields, ``additionalProperties: false`` because
unknown keys are refused, and each section's docstring and each field's comment as their
descriptions. The ranges, cross-field rules and registered names (datasets, fitness
measures, operators: user code may register more) stay with ``validation``: every config
that loads passes the schema, not every config that passes the schema loads.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import textwrap
import tokenize
import types
import typing
from typing import Annotated, Any, Literal

from deatf_gan.config.parsing import plain_data
from deatf_gan.config.schema import Config, OneOf

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# PyYAML reads YAML 1.1, where a number without a dot (1e-3) is a string; ``parsing`` reads
# such a string as the float, so the schema accepts the text of a float too.
FLOAT_TEXT = r"^\s*[-+]?(\d(_?\d)*(\.(\d(_?\d)*)?)?|\.\d(_?\d)*)([eE][-+]?\d(_?\d)*)?\s*$"

_SIMPLE = {int: "integer", bool: "boolean", str: "string", dict: "object", type(None): "null"}


def config_json_schema() -> dict:
    """The JSON Schema of a config file, as plain data ready for ``json.dumps``."""
    definitions: dict[str, dict] = {}
    root = _section(Config, definitions)
    return {"$schema": DIALECT, "title": "deatf_gan config", **root, "$defs": definitions}


def _section(cls: type, definitions: dict[str, dict]) -> dict:
    """One dataclass as an object: its fields, the ones without a default required, no others."""
    hints = typing.get_type_hints(cls, include_extras=True)
    comments = _field_comments(cls)
    properties = {}
    required = []
    for f in dataclasses.fields(cls):
        schema = _value(hints[f.name], definitions)
        if f.name in comments:
            schema["description"] = comments[f.name]
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
        else:
            default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            if not _is_section_default(hints[f.name], default):
                schema["default"] = plain_data(default)
        properties[f.name] = schema
    section: dict[str, Any] = {"type": "object"}
    description = _description(cls)
    if description:
        section["description"] = description
    section["properties"] = properties
    if required:
        section["required"] = required
    section["additionalProperties"] = False
    return section


def _value(hint, definitions: dict[str, dict]) -> dict:
    """The schema of one type hint; sections go to ``$defs`` once and are referred to."""
    origin = typing.get_origin(hint)
    if origin is Annotated:
        base, *extras = typing.get_args(hint)
        schema = _value(base, definitions)
        for extra in extras:
            if isinstance(extra, OneOf):
                schema["enum"] = list(extra.names)
        return schema
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_value(option, definitions) for option in typing.get_args(hint)]}
    if origin is Literal:
        return {"enum": list(typing.get_args(hint))}
    if origin is tuple:  # only tuple[X, ...]: a list of any length
        return {"type": "array", "items": _value(typing.get_args(hint)[0], definitions)}
    if dataclasses.is_dataclass(hint):
        name = hint.__name__
        if name not in definitions:
            definitions[name] = {}  # taken before the walk, so a section met again below refers back
            definitions[name] = _section(hint, definitions)
        return {"$ref": f"#/$defs/{name}"}
    if hint is float:
        return {"type": ["number", "string"], "pattern": FLOAT_TEXT}
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    raise TypeError(f"no JSON Schema for the config type {hint!r}: teach deatf_gan.config.json_schema")


def _description(cls: type) -> str | None:
    """The class docstring, its hard-wrapped paragraphs unwrapped; None for the signature that
    ``dataclass`` writes when there is none."""
    doc = cls.__doc__
    if not doc or doc.startswith(f"{cls.__name__}("):
        return None
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def _is_section_default(hint, value) -> bool:
    """Whether ``value`` is what the section ``hint`` holds when left out: its fields then say
    their own defaults (a range's own, such as the generator's dropout, is kept)."""
    if not dataclasses.is_dataclass(hint):
        return False
    fields = dataclasses.fields(hint)
    if any(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING for f in fields):
        return False
    return value == hint()


def _field_comments(cls: type) -> dict[str, str]:
    """The comment after each field in the class bodies (``workers: int | None = None  # None:
    one per core``), a subclass's over its base's; none where the source cannot be read."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        comments.update(_comments_in_body(source))
    return comments


def _comments_in_body(source: str) -> dict[str, str]:
    """``name: type = value  # comment`` statements of the class body (not of its methods)."""
    comments: dict[str, str] = {}
    body_column = None
    line: list[tokenize.TokenInfo] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.INDENT and body_column is None:
            body_column = len(token.string)
        elif token.type == tokenize.NEWLINE:
            words = [t for t in line if t.type not in (tokenize.COMMENT, tokenize.NL)]
            notes = [t.string.lstrip("#").strip() for t in line if t.type == tokenize.COMMENT]
            annotated = len(words) > 1 and words[0].type == tokenize.NAME and words[1].string == ":"
            if annotated and words[0].start[1] == body_column and notes:
                comments[words[0].string] = " ".join(notes)
            line = []
        elif token.type not in (tokenize.INDENT, tokenize.DEDENT):
            line.append(token)
    return comments
