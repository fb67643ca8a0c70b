"""Lamarckian weight inheritance: a child starts from its parents' trained weights.

As in Population Based Training (Jaderberg et al. 2017) and COEGAN (Costa et al. 2019), an
offspring does not train from scratch: it takes its parents' trained weights, mapped onto
its own architecture, and trains ``training.steps`` more, so a lineage accumulates training
across generations. The mapping needs no record of which operator made the child: each
network of the child is aligned layer by layer with each parent's (an edit-distance
alignment of layer genes), so user operators inherit too.

- a layer identical to one a parent has at the aligned place takes that parent's weights
  (``layerwise`` crossover takes each layer from the parent it came from; ``swap_networks``
  takes each whole network from its own parent);
- every other layer takes the weights of the role's parent (the one whose network aligns
  best, ties to the first parent): a changed activation, initializer, dropout or batch norm
  keeps them; a widened layer keeps its units, its new units get their fresh initial
  incoming weights and zero outgoing weights, so the network's function is unchanged
  (Net2Net-style, Chen et al. 2016); a narrowed layer keeps its first units; batch norm
  switched off is folded into the kernel and bias (exact in inference mode), switched on
  starts fresh;
- an added layer starts close to the identity (``I`` plus a hundredth of its fresh kernel,
  so no unit is dead); a removed layer drops out;
- a generator's new latent inputs get zero weights, so they start unused.

Weights are lists in ``keras.Model.get_weights()`` order (``deatf_gan.build``): per hidden
layer its kernel, then its bias or (with batch norm) γ, β, moving mean and moving variance;
then the output kernel and bias. Optimizer state is not inherited: each evaluation starts
its optimizers afresh. Imports no TensorFlow: the driver builds the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deatf_gan.genome import ROLES, GANGenome, LayerGene, MLPDescriptor

BN_EPSILON = 1e-3  # keras.layers.BatchNormalization's default, which deatf_gan.build uses
IDENTITY_NOISE = 0.01  # share of the fresh kernel added to an inserted layer's identity

Weights = tuple[list[np.ndarray], list[np.ndarray]]  # (generator, discriminator)


@dataclass(frozen=True)
class Parent:
    """What a child inherits from one parent: its genome, its trained weights, and how many
    generator updates those weights have had in total."""

    genome: GANGenome
    weights: Weights
    trained_steps: int = 0


@dataclass(frozen=True)
class Inheritance:
    """A child's parents (the one it was mutated from, or both crossover parents, its own
    first); :meth:`weights` maps theirs onto the child."""

    parents: tuple[Parent, ...]

    def role_parent(self, child: GANGenome, role: str) -> Parent:
        """The parent whose ``role`` network aligns best with the child's (ties: the first)."""
        costs = [align(child.network(role), parent.genome.network(role))[1] for parent in self.parents]
        return self.parents[int(np.argmin(costs))]

    def trained_steps(self, child: GANGenome) -> int:
        """Generator updates the child's inherited generator has had: its role parent's."""
        return self.role_parent(child, "generator").trained_steps

    def weights(self, child: GANGenome, fresh: Weights) -> Weights:
        """The child's starting weights: ``fresh`` (its own initial weights) where nothing is
        inherited, its parents' mapped onto its architecture everywhere else."""
        return tuple(self._role_weights(child, role, fresh[index]) for index, role in enumerate(ROLES))

    def _role_weights(self, child: GANGenome, role: str, fresh: list[np.ndarray]) -> list[np.ndarray]:
        main = self.role_parent(child, role)
        descriptor = child.network(role)
        alignments = {id(p): align(descriptor, p.genome.network(role))[0] for p in self.parents}
        fresh_layers, fresh_output = split_layers(descriptor, fresh)
        parent_layers = {
            id(p): split_layers(p.genome.network(role), p.weights[ROLES.index(role)]) for p in self.parents
        }
        layers = []
        for j, gene in enumerate(descriptor.layers):
            source = _source(gene, j, main, self.parents, alignments, role)
            if source is None:
                layers.append(_identity_layer(gene, fresh_layers[j]))
            else:
                parent, p = source
                parent_gene = parent.genome.network(role).layers[p]
                layers.append(_carried_layer(gene, parent_gene, parent_layers[id(parent)][0][p], fresh_layers[j]))
        output = _resized(parent_layers[id(main)][1][0], fresh_output[0], zero_new_rows=True)
        bias = _resized(parent_layers[id(main)][1][1], fresh_output[1])
        return join_layers(layers, [output, bias])


def _source(gene: LayerGene, j: int, main: Parent, parents, alignments, role: str):
    """``(parent, layer index)`` a child layer takes its weights from, or None for a new layer."""
    for parent in (main, *[p for p in parents if p is not main]):
        p = alignments[id(parent)][j]
        if p is not None and parent.genome.network(role).layers[p] == gene:
            return parent, p
    p = alignments[id(main)][j]
    return None if p is None else (main, p)


def align(child: MLPDescriptor, parent: MLPDescriptor) -> tuple[list[int | None], int]:
    """Each child layer's aligned parent layer (None: inserted), and the alignment's cost:
    the fewest insertions, deletions and changed layers turning the parent into the child
    (Needleman & Wunsch 1970; a changed layer costs one, as an insertion does)."""
    a, b = child.layers, parent.layers
    cost = np.zeros((len(a) + 1, len(b) + 1), int)
    cost[:, 0], cost[0, :] = np.arange(len(a) + 1), np.arange(len(b) + 1)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + (a[i - 1] != b[j - 1]), cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    pairs: list[int | None] = [None] * len(a)
    i, j = len(a), len(b)
    while i > 0 and j > 0:  # from the end, so on ties layers pair as early as they can
        if cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        elif cost[i, j] == cost[i, j - 1] + 1:
            j -= 1
        else:
            pairs[i - 1] = j - 1
            i, j = i - 1, j - 1
    return pairs, int(cost[len(a), len(b)])


@dataclass(frozen=True)
class LayerWeights:
    """One hidden layer's weights: kernel, and a bias or batch norm's four vectors."""

    kernel: np.ndarray
    bias: np.ndarray | None
    batch_norm: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None  # γ, β, moving mean, moving variance


def split_layers(descriptor: MLPDescriptor, values: Sequence[np.ndarray]) -> tuple[list[LayerWeights], list]:
    """A network's ``get_weights()`` list as per-layer records and the output ``[kernel, bias]``."""
    values, layers = list(values), []
    for gene in descriptor.layers:
        kernel = values.pop(0)
        if gene.batch_norm:
            layers.append(LayerWeights(kernel, None, tuple(values.pop(0) for _ in range(4))))
        else:
            layers.append(LayerWeights(kernel, values.pop(0), None))
    if len(values) != 2:
        raise ValueError(f"weights do not fit the network {descriptor.summary()}")
    return layers, values


def join_layers(layers: Sequence[LayerWeights], output: list) -> list[np.ndarray]:
    values = []
    for layer in layers:
        values.append(layer.kernel)
        values += list(layer.batch_norm) if layer.batch_norm is not None else [layer.bias]
    return values + list(output)


def _resized(old: np.ndarray, fresh: np.ndarray, zero_new_rows: bool = False) -> np.ndarray:
    """``fresh``'s shape holding ``old`` where they overlap, ``fresh`` elsewhere; with
    ``zero_new_rows`` a kernel's rows past ``old``'s (inputs from new units) are zero."""
    out = np.array(fresh, dtype=np.float32, copy=True)
    if zero_new_rows and out.ndim == 2:
        out[old.shape[0] :] = 0.0
    overlap = tuple(slice(0, min(a, b)) for a, b in zip(old.shape, fresh.shape))
    out[overlap] = old[overlap]
    return out


def _carried_layer(gene: LayerGene, parent_gene: LayerGene, parent: LayerWeights, fresh: LayerWeights) -> LayerWeights:
    """A parent's layer carried onto the child's: resized, batch norm kept, folded or new."""
    kernel, bias = parent.kernel, parent.bias
    if parent.batch_norm is not None and not gene.batch_norm:
        gamma, beta, mean, variance = parent.batch_norm
        scale = gamma / np.sqrt(variance + BN_EPSILON)
        kernel, bias = kernel * scale, beta - mean * scale
    if not gene.batch_norm:
        return LayerWeights(_resized(kernel, fresh.kernel, zero_new_rows=True), _resized(bias, fresh.bias), None)
    carried = (
        tuple(_resized(old, new) for old, new in zip(parent.batch_norm, fresh.batch_norm))
        if parent.batch_norm is not None
        else fresh.batch_norm
    )
    return LayerWeights(_resized(kernel, fresh.kernel, zero_new_rows=True), None, carried)


def _identity_layer(gene: LayerGene, fresh: LayerWeights) -> LayerWeights:
    """An inserted layer: ``I + IDENTITY_NOISE · fresh kernel``, the rest fresh."""
    kernel = np.eye(*fresh.kernel.shape, dtype=np.float32) + IDENTITY_NOISE * fresh.kernel
    return LayerWeights(kernel.astype(np.float32), fresh.bias, fresh.batch_norm)
