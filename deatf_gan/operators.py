"""Variation operators: pure functions ``(genome, space, rng) -> genome``.

Each mutation is registered by name with an ``applicable(genome, space)`` check, and
:func:`mutate` chooses only among the operators that apply to the genome at hand, so no
retry loop can run dry (removing a layer from a one-layer network is simply never chosen).
Users add their own with ``@MUTATIONS.register("name")`` / ``@CROSSOVERS.register("name")``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from deatf_gan.genome import ROLES, GANGenome, MLPDescriptor, SearchSpace
from deatf_gan.genome.space import HYPERPARAMETER_FIELDS
from deatf_gan.registry import Registry


@dataclass(frozen=True)
class Mutation:
    """A named mutation and the test that says whether it can change a given genome."""

    name: str
    apply: Callable[[GANGenome, SearchSpace, np.random.Generator], GANGenome]
    applicable: Callable[[GANGenome, SearchSpace], bool]


@dataclass(frozen=True)
class Crossover:
    """A named crossover: two parents in, two children out; always applicable."""

    name: str
    apply: Callable[[GANGenome, GANGenome, SearchSpace, np.random.Generator], tuple[GANGenome, GANGenome]]


MUTATIONS: Registry[Mutation] = Registry("mutation operator")
CROSSOVERS: Registry[Crossover] = Registry("crossover operator")


def register_mutation(name: str, applicable: Callable[[GANGenome, SearchSpace], bool]):
    """Decorator: register ``function(genome, space, rng) -> genome`` as mutation ``name``."""

    def decorator(function):
        MUTATIONS.register(name, Mutation(name, function, applicable))
        return function

    return decorator


def register_crossover(name: str):
    """Decorator: register ``function(a, b, space, rng) -> (child_a, child_b)`` as crossover ``name``."""

    def decorator(function):
        CROSSOVERS.register(name, Crossover(name, function))
        return function

    return decorator


def _pick(rng: np.random.Generator, options: Sequence):
    return options[int(rng.integers(len(options)))]


def _with_network(genome: GANGenome, role: str, descriptor: MLPDescriptor) -> GANGenome:
    return replace(genome, **{role: descriptor})


# --- structural mutations ----------------------------------------------------------------


def _roles_that_can_grow(genome: GANGenome, space: SearchSpace) -> list[str]:
    return [r for r in ROLES if len(genome.network(r).layers) < space.network(r).max_layers]


def _roles_that_can_shrink(genome: GANGenome, space: SearchSpace) -> list[str]:
    return [r for r in ROLES if len(genome.network(r).layers) > space.network(r).min_layers]


@register_mutation("add_layer", lambda genome, space: bool(_roles_that_can_grow(genome, space)))
def mut_add_layer(genome: GANGenome, space: SearchSpace, rng: np.random.Generator) -> GANGenome:
    """Insert a freshly sampled hidden layer at a random position of one network."""
    role = _pick(rng, _roles_that_can_grow(genome, space))
    layers = list(genome.network(role).layers)
    layers.insert(int(rng.integers(len(layers) + 1)), space.network(role).sample_layer(rng))
    return _with_network(genome, role, MLPDescriptor(tuple(layers)))


@register_mutation("remove_layer", lambda genome, space: bool(_roles_that_can_shrink(genome, space)))
def mut_remove_layer(genome: GANGenome, space: SearchSpace, rng: np.random.Generator) -> GANGenome:
    """Delete one hidden layer of a network that has more than its minimum."""
    role = _pick(rng, _roles_that_can_shrink(genome, space))
    layers = list(genome.network(role).layers)
    del layers[int(rng.integers(len(layers)))]
    return _with_network(genome, role, MLPDescriptor(tuple(layers)))


# --- per-layer field mutations -------------------------------------------------------------


def _layer_field_mutation(field_name: str, operator_name: str, summary: str):
    """Build and register the mutation that changes ``field_name`` of one random layer."""

    def roles(genome: GANGenome, space: SearchSpace) -> list[str]:
        return [r for r in ROLES if space.network(r).layer_field(field_name).can_mutate()]

    def mutation(genome: GANGenome, space: SearchSpace, rng: np.random.Generator) -> GANGenome:
        role = _pick(rng, roles(genome, space))
        layers = list(genome.network(role).layers)
        index = int(rng.integers(len(layers)))
        value = space.network(role).layer_field(field_name).mutate(getattr(layers[index], field_name), rng)
        layers[index] = replace(layers[index], **{field_name: value})
        return _with_network(genome, role, MLPDescriptor(tuple(layers)))

    mutation.__name__ = f"mut_{operator_name}"
    mutation.__doc__ = summary
    register_mutation(operator_name, lambda genome, space: bool(roles(genome, space)))(mutation)
    return mutation


mut_change_units = _layer_field_mutation("units", "change_units", "Resize one hidden layer.")
mut_change_activation = _layer_field_mutation("activation", "change_activation", "Swap one layer's activation.")
mut_change_initializer = _layer_field_mutation(
    "initializer", "change_initializer", "Swap one layer's weight initializer."
)
mut_change_dropout = _layer_field_mutation("dropout", "change_dropout", "Move one layer's dropout rate.")
mut_toggle_batch_norm = _layer_field_mutation(
    "batch_norm", "toggle_batch_norm", "Switch batch normalisation of one layer on or off."
)


# --- hyperparameters ---------------------------------------------------------------------------


def _mutable_hyperparameters(space: SearchSpace) -> list[str]:
    return [name for name in HYPERPARAMETER_FIELDS if space.hyperparameters.field(name).can_mutate()]


@register_mutation("mutate_hyperparameter", lambda genome, space: bool(_mutable_hyperparameters(space)))
def mut_hyperparameter(genome: GANGenome, space: SearchSpace, rng: np.random.Generator) -> GANGenome:
    """Move one training hyperparameter (learning rate, optimizer, batch size, ...)."""
    name = _pick(rng, _mutable_hyperparameters(space))
    value = space.hyperparameters.field(name).mutate(getattr(genome.hyperparameters, name), rng)
    return replace(genome, hyperparameters=replace(genome.hyperparameters, **{name: value}))


# --- crossovers --------------------------------------------------------------------------------


@register_crossover("swap_networks")
def cx_swap_networks(a: GANGenome, b: GANGenome, space: SearchSpace, rng: np.random.Generator):
    """Exchange whole generators or whole discriminators (one role, chosen at random)."""
    role = _pick(rng, ROLES)
    return _with_network(a, role, b.network(role)), _with_network(b, role, a.network(role))


@register_crossover("layerwise")
def cx_layerwise(a: GANGenome, b: GANGenome, space: SearchSpace, rng: np.random.Generator):
    """Uniform crossover of layer genes at shared positions of one network; lengths are kept."""
    role = _pick(rng, ROLES)
    layers_a, layers_b = list(a.network(role).layers), list(b.network(role).layers)
    for index in range(min(len(layers_a), len(layers_b))):
        if rng.random() < 0.5:
            layers_a[index], layers_b[index] = layers_b[index], layers_a[index]
    return (
        _with_network(a, role, MLPDescriptor(tuple(layers_a))),
        _with_network(b, role, MLPDescriptor(tuple(layers_b))),
    )


# --- choosing ----------------------------------------------------------------------------------


def applicable_mutations(genome: GANGenome, space: SearchSpace, names: Sequence[str] | None = None) -> list[Mutation]:
    """The registered (or named) mutations that can change this genome, in name order."""
    chosen = [MUTATIONS.get(name) for name in (names if names is not None else MUTATIONS.names())]
    return [mutation for mutation in chosen if mutation.applicable(genome, space)]


@dataclass(frozen=True)
class OperatorRaised:
    """What an operator that raised gives instead of a child: the caller fails that child
    with ``reason`` and the run goes on (a bug in a user operator is not the run's end)."""

    reason: str


def _applied(operator, *args):
    try:
        return operator(*args)
    except Exception as error:  # noqa: BLE001 - any error of a (user) operator fails its child only
        return OperatorRaised(f"{type(error).__name__}: {error}")


def mutate(
    genome: GANGenome, space: SearchSpace, rng: np.random.Generator, names: Sequence[str] | None = None
) -> tuple[GANGenome, str | None]:
    """Apply one applicable mutation chosen uniformly; return the child and the operator name.

    When nothing applies (a search space with a single point) the genome comes back
    unchanged with name ``None``.
    """
    options = applicable_mutations(genome, space, names)
    if not options:
        return genome, None
    mutation = _pick(rng, options)
    return _applied(mutation.apply, genome, space, rng), mutation.name


def crossover(
    a: GANGenome, b: GANGenome, space: SearchSpace, rng: np.random.Generator, names: Sequence[str] | None = None
) -> tuple[GANGenome, GANGenome, str]:
    """Apply one crossover chosen uniformly among ``names`` (default: all registered).

    A user crossover that returns no pair gives what it returned as both children; the
    caller fails them (a child must be a GANGenome) and the run goes on.
    """
    crossover_op = CROSSOVERS.get(_pick(rng, list(names) if names is not None else CROSSOVERS.names()))
    children = _applied(crossover_op.apply, a, b, space, rng)
    if not (isinstance(children, tuple) and len(children) == 2):
        children = (children, children)
    return children[0], children[1], crossover_op.name
