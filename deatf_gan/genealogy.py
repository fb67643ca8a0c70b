"""How evolution got there, from a run's ``individuals.jsonl``: the hall of fame's ancestry and
the search space's coverage, as figures.

Each line of the ledger is one evaluated individual (generation, id, parents, operators,
fitness, architecture), so the pictures need neither the checkpoints nor TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from matplotlib.figure import Figure

from deatf_gan.fitness import FitnessMeaning

LABELLED_EDGES = 40  # more operator labels than this make the tree unreadable: draw the edges only


def _fitness(record: dict) -> float:
    values = record.get("fitness") or [None]
    return math.nan if values[0] is None else float(values[0])


def ancestry(individuals: Sequence[dict], ids: Iterable[int]) -> dict[int, dict]:
    """The ledger records of ``ids`` and of all their ancestors, by id. An ancestor missing
    from the ledger (a run resumed from an older directory) ends its branch."""
    by_id = {record["id"]: record for record in individuals}
    found: dict[int, dict] = {}
    stack = [i for i in ids if i in by_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found[current] = by_id[current]
        stack.extend(parent for parent in by_id[current]["parents"] if parent in by_id and parent not in found)
    return found


def architecture(record: dict) -> tuple[str, str]:
    """What makes two individuals the same architecture: both networks' layer summaries."""
    return record["generator"], record["discriminator"]


def first_tries(individuals: Sequence[dict]) -> list[tuple[dict, bool]]:
    """Every record in evaluation order (generation, then id), with whether its architecture
    was tried then for the first time."""
    seen: set[tuple[str, str]] = set()
    tries = []
    for record in sorted(individuals, key=lambda r: (r["generation"], r["id"])):
        tries.append((record, architecture(record) not in seen))
        seen.add(architecture(record))
    return tries


def coverage(individuals: Sequence[dict]) -> dict[str, np.ndarray]:
    """Per generation: individuals evaluated, architectures never tried before, and the
    number of distinct architectures tried so far."""
    tries = first_tries(individuals)
    generations = sorted({record["generation"] for record in individuals})
    evaluated = [sum(r["generation"] == g for r, _ in tries) for g in generations]
    new = [sum(r["generation"] == g and first for r, first in tries) for g in generations]
    return {
        "generation": np.array(generations),
        "evaluated": np.array(evaluated),
        "new": np.array(new),
        "distinct": np.cumsum(new),
    }


def genealogy_figure(
    individuals: Sequence[dict], hall_of_fame_ids: Sequence[int], measure: FitnessMeaning | None = None
) -> Figure:
    """The hall of fame's family tree: every ancestor at its generation and fitness, an arrow
    from each parent to its child labelled with the operator that made the child."""
    family = ancestry(individuals, hall_of_fame_ids)
    figure = Figure(figsize=(9, 5.5))
    axes = figure.add_subplot()
    edges = [(parent, child) for child in family.values() for parent in child["parents"] if parent in family]
    for parent_id, child in edges:
        parent = family[parent_id]
        start = (parent["generation"], _fitness(parent))
        end = (child["generation"], _fitness(child))
        axes.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="gray", alpha=0.6))
        if len(edges) <= LABELLED_EDGES:
            middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
            axes.annotate("+".join(child["operators"]), middle, fontsize=7, color="dimgray", ha="center")
    ranks = {member_id: rank for rank, member_id in enumerate(hall_of_fame_ids, start=1)}
    ancestors = [r for r in family.values() if r["id"] not in ranks]
    axes.scatter(
        [r["generation"] for r in ancestors], [_fitness(r) for r in ancestors], color="tab:blue", label="ancestor"
    )
    members = [family[i] for i in ranks if i in family]
    axes.scatter(
        [r["generation"] for r in members],
        [_fitness(r) for r in members],
        color="tab:red",
        marker="*",
        s=160,
        zorder=3,
        label="hall of fame",
    )
    for record in members:
        axes.annotate(f" #{ranks[record['id']]}", (record["generation"], _fitness(record)), fontsize=9)
    for record in ancestors:
        axes.annotate(f" {record['id']}", (record["generation"], _fitness(record)), fontsize=6, color="tab:blue")
    axes.set(xlabel="generation", ylabel="fitness" if measure is None else measure.name)
    axes.set_title(
        f"Ancestry of the hall of fame's top {len(members)}: {len(ancestors)} ancestors (blue, by id);\n"
        "an arrow runs from parent to child, labelled with the operator that made the child",
        fontsize=10,
    )
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return figure


def coverage_figure(individuals: Sequence[dict], measure: FitnessMeaning | None = None) -> Figure:
    """Above: per generation, how many individuals were evaluated, how many of them had an
    architecture never tried before, and the distinct architectures so far. Below: every
    evaluated individual's fitness, new architectures told apart from repeated ones."""
    counts = coverage(individuals)
    figure = Figure(figsize=(8, 7))
    top, bottom = figure.subplots(2, 1, sharex=True)
    generations = counts["generation"]
    top.bar(generations - 0.2, counts["evaluated"], width=0.4, color="tab:gray", label="evaluated")
    top.bar(generations + 0.2, counts["new"], width=0.4, color="tab:orange", label="new architectures")
    top.plot(generations, counts["distinct"], "-o", color="tab:blue", label="distinct architectures so far")
    top.set(ylabel="individuals")
    top.set_title("Search-space coverage: architectures (both networks' layers) tried per generation", fontsize=10)
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    tries = first_tries(individuals)
    for is_new, colour, label in ((False, "tab:gray", "tried before"), (True, "tab:orange", "new architecture")):
        chosen = [r for r, first in tries if first == is_new and not r.get("failed")]
        bottom.scatter(
            [r["generation"] for r in chosen], [_fitness(r) for r in chosen], s=14, color=colour, label=label
        )
    bottom.set(xlabel="generation", ylabel="fitness" if measure is None else measure.name)
    bottom.xaxis.get_major_locator().set_params(integer=True)
    bottom.legend(fontsize=8)
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    return figure
