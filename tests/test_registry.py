"""Registry: register and get by name, a miss lists the valid names, resolve takes names or callables."""

import pytest

from deatf_gan.errors import ConfigError
from deatf_gan.registry import Registry, resolve


def _registry() -> Registry:
    shapes = Registry("shape")

    @shapes.register("square")
    def square(side):
        return side * side

    shapes.register("circle", lambda radius: 3.14159 * radius * radius)
    return shapes


def test_register_as_decorator_and_directly_then_get():
    shapes = _registry()
    assert shapes.get("square")(3) == 9
    assert shapes.get("circle")(1) == pytest.approx(3.14159)
    assert shapes.names() == ["circle", "square"] and list(shapes) == ["circle", "square"]
    assert "square" in shapes and "triangle" not in shapes and len(shapes) == 2


def test_a_miss_is_a_config_error_listing_the_valid_names():
    with pytest.raises(ConfigError, match="unknown shape 'triangle'; valid names: circle, square"):
        _registry().get("triangle")


def test_a_name_taken_by_another_object_is_refused_and_unregister_frees_it():
    shapes = _registry()
    square = shapes.get("square")
    assert shapes.register("square", square) is square  # the same object again is harmless
    with pytest.raises(ValueError, match="already registered"):
        shapes.register("square", lambda side: side)
    shapes.unregister("square")
    assert shapes.names() == ["circle"]


def test_resolve_takes_a_registered_name_or_a_plain_callable():
    shapes = _registry()
    assert resolve(shapes, "square")(4) == 16
    assert resolve(shapes, len) is len
    with pytest.raises(ConfigError, match="valid names"):
        resolve(shapes, "hexagon")
