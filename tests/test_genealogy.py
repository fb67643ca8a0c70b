"""The ledger of evaluated individuals, and the ancestry and coverage read from it."""

import numpy as np

from deatf_gan.genealogy import ancestry, coverage, coverage_figure, genealogy_figure
from deatf_gan.runs import load_run


def _record(id, generation, parents=(), operators=(), fitness=1.0, generator="8 relu", discriminator="8 relu"):
    return {
        "generation": generation,
        "id": id,
        "parents": list(parents),
        "operators": list(operators),
        "fitness": [fitness],
        "failed": False,
        "generator": generator,
        "discriminator": discriminator,
        "trained_steps": 10,
    }


LEDGER = [
    _record(0, 0),
    _record(1, 0, generator="16 tanh"),
    _record(2, 0, generator="4 relu"),
    _record(3, 1, parents=(0, 1), operators=("cx_layerwise", "mut_units"), generator="16 tanh"),
    _record(4, 1, parents=(2,), operators=("mut_add_layer",), generator="4 relu → 4 relu"),
    _record(5, 2, parents=(3,), operators=("mut_learning_rate",), generator="16 tanh"),
]


def test_ancestry_walks_every_parent_back_to_generation_zero():
    assert sorted(ancestry(LEDGER, [5])) == [0, 1, 3, 5]
    assert sorted(ancestry(LEDGER, [5, 4])) == [0, 1, 2, 3, 4, 5]
    assert ancestry(LEDGER, [99]) == {}  # an id the ledger never saw has no ancestry


def test_coverage_counts_architectures_new_in_each_generation():
    counts = coverage(LEDGER)
    assert list(counts["generation"]) == [0, 1, 2]
    assert list(counts["evaluated"]) == [3, 2, 1]
    assert list(counts["new"]) == [3, 1, 0]  # 3 repeats 1's architecture, 5 repeats 3's
    assert list(counts["distinct"]) == [3, 4, 4]


def test_figures_draw_something():
    for figure in (genealogy_figure(LEDGER, [5, 4]), coverage_figure(LEDGER)):
        assert figure.axes and all(axes.has_data() for axes in figure.axes)


def test_a_run_records_everyone_it_evaluated_with_their_parents(finished_run):
    """One ledger line per evaluation the logbook counts; every parent was evaluated in an
    earlier generation; every hall-of-fame member is in the ledger with its fitness."""
    run = load_run(finished_run)
    by_generation = np.bincount([r["generation"] for r in run.individuals])
    assert list(by_generation) == [row["evaluated"] for row in run.logbook]
    by_id = {r["id"]: r for r in run.individuals}
    assert len(by_id) == len(run.individuals)
    for record in run.individuals:
        assert (record["generation"] == 0) == (not record["parents"])
        assert all(by_id[parent]["generation"] < record["generation"] for parent in record["parents"])
        assert len(record["operators"]) >= 1 or record["generation"] == 0
    for member in run.hall_of_fame:
        assert by_id[member.metrics["id"]]["fitness"] == member.metrics["fitness"]
        assert by_id[member.metrics["id"]]["generator"] == member.genome.generator.summary()
