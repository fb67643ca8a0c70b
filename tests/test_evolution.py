import dataclasses
import json
import math

import numpy as np
import pytest

from deatf_gan.batched import BatchedEvaluation
from deatf_gan.config import config_from_dict
from deatf_gan.errors import ConfigError
from deatf_gan.evaluation import EvalContext, EvalResult, eval_gan
from deatf_gan.evaluators import ChunkedJob, default_evaluation
from deatf_gan.evolution import Hook, evolve
from deatf_gan.operators import CROSSOVERS, MUTATIONS, register_crossover, register_mutation
from deatf_gan.runs import RunDirectory
from tests.conftest import TINY_RUN


def _config(**evolution):
    raw = {**TINY_RUN, "evolution": {**TINY_RUN["evolution"], **evolution}}
    return config_from_dict(raw)


def test_same_seed_gives_identical_hall_of_fame():
    config = _config(generations=1)
    first, second = evolve(config), evolve(config)
    assert [m.fitness.values for m in first.hall_of_fame] == [m.fitness.values for m in second.hall_of_fame]
    assert [m.genome for m in first.hall_of_fame] == [m.genome for m in second.hall_of_fame]


def test_the_default_run_trains_whole_chunks_and_a_custom_function_runs_per_individual():
    batched = default_evaluation(_config())
    assert isinstance(batched.evaluation, BatchedEvaluation) and batched.evaluation.jit_compile
    assert batched.space == _config().build_search_space()
    assert default_evaluation(config_from_dict({**TINY_RUN, "training": {"evaluator": "keras"}})) is eval_gan
    custom = {**TINY_RUN, "evaluation": {"function": "tests.evaluations:units_score"}}
    assert default_evaluation(config_from_dict(custom)).__name__ == "units_score"


def test_the_default_job_estimates_its_cost_from_the_genome_for_balanced_chunks():
    config = _config()
    context = EvalContext(dataset=None, steps=100)
    genome = config.build_search_space().sample(np.random.default_rng(0))

    def with_training(batch_size, discriminator_steps):
        hyper = dataclasses.replace(
            genome.hyperparameters, batch_size=batch_size, discriminator_steps=discriminator_steps
        )
        return (dataclasses.replace(genome, hyperparameters=hyper), 0)

    job = ChunkedJob(default_evaluation(config), context)
    costs = [job.job_cost(with_training(b, d)) for b, d in [(32, 1), (64, 1), (128, 1), (128, 3)]]
    assert costs == [100 * 2 * 96, 100 * 2 * 128, 100 * 2 * 192, 100 * 4 * 192]  # shapes.training_cost
    assert ChunkedJob(BatchedEvaluation(), context).job_cost(with_training(128, 3)) == costs[-1]
    assert ChunkedJob(eval_gan, context).job_cost(with_training(32, 1)) is None  # no estimate: chunks by count


@pytest.mark.slow
def test_batched_and_keras_evaluators_agree_on_a_short_run():
    """Same individuals, seeds and training on both paths: their fitness agrees to round-off
    (without dropout, whose masks the two paths draw differently). Over 10 steps, the
    issue's parity horizon: a GAN amplifies round-off, and one of these individuals went
    from 8e-5 apart after 10 steps to 1.3e-3 after 30 (the others stay below 1e-6)."""
    no_dropout = {"max_layers": 2, "units": {"min": 4, "max": 8}, "dropout": {"min": 0.0, "max": 0.0}}
    raw = {**TINY_RUN, "search_space": {"generator": no_dropout, "discriminator": no_dropout}}
    raw["evolution"] = {**TINY_RUN["evolution"], "generations": 0}
    raw["training"] = {**TINY_RUN["training"], "steps": 10}
    batched = evolve(config_from_dict(raw))
    keras = evolve(config_from_dict({**raw, "training": {**raw["training"], "evaluator": "keras"}}))
    assert [ind.genome for ind in batched.population] == [ind.genome for ind in keras.population]
    for a, b in zip(batched.population, keras.population):
        assert a.fitness.values[0] == pytest.approx(b.fitness.values[0], rel=1e-3)


def _cheap(genome, context):
    """A real-valued score without training, to exercise the loop quickly: fewer units is better."""
    return float(sum(layer.units for layer in genome.generator.layers + genome.discriminator.layers))


@pytest.mark.parametrize("algorithm", ["mu_plus_lambda", "mu_comma_lambda", "simple"])
@pytest.mark.parametrize("selection", ["tournament", "best"])
def test_every_algorithm_runs_and_only_invalid_individuals_are_evaluated(algorithm, selection):
    config = _config(algorithm=algorithm, generations=4, population=6, offspring=8, selection={"method": selection})
    seen = []

    def counting(genome, context):
        seen.append(context.seed)
        return _cheap(genome, context)

    result = evolve(config, evaluate=counting)
    assert len(result.population) == 6
    assert [row["gen"] for row in result.logbook] == [0, 1, 2, 3, 4]
    assert sum(row["evaluated"] for row in result.logbook) == len(seen)
    assert len(set(seen)) == len(seen)  # nobody is evaluated twice
    best = result.hall_of_fame[0].fitness.values[0]
    assert best <= min(row["min"] for row in result.logbook)


def test_mu_plus_lambda_with_best_selection_never_gets_worse():
    result = evolve(_config(generations=5, selection={"method": "best"}), evaluate=_cheap)
    minima = [row["min"] for row in result.logbook]
    assert minima == sorted(minima, reverse=True)
    assert minima[-1] < minima[0]


@pytest.mark.parametrize("algorithm", ["mu_plus_lambda", "mu_comma_lambda", "simple"])
def test_elitism_keeps_the_best_ever_in_the_population_where_tournaments_alone_lose_it(algorithm):
    """With the default ``evolution.elitism: 1`` the population's best is the best ever in
    every generation; with 0, this seed's selection drops it in some generation."""
    settings = dict(algorithm=algorithm, generations=6, population=4, offspring=6)

    def min_and_best(elitism: int) -> list[tuple[float, float]]:
        result = evolve(_config(**settings, elitism=elitism), evaluate=_noisy_units)
        assert len(result.population) == 4
        return [(row["min"], row["best"]) for row in result.logbook]

    assert all(low == best for low, best in min_and_best(1))
    assert any(low > best for low, best in min_and_best(0))


def _noisy_units(genome, context) -> float:
    """Fewer units is better, and the seed's noise makes equal genomes differ."""
    return _cheap(genome, context) + float(np.random.default_rng(context.seed).random())


def test_elite_members_are_marked_in_the_run_directory_and_inspect(tmp_path, capsys):
    from deatf_gan.cli import main
    from deatf_gan.runs import load_run
    from tests.conftest import quick_config

    run = tmp_path / "run"
    assert main(["run", str(quick_config(tmp_path)), "--out", str(run), "--quiet", "--set", "evolution.elitism=2"]) == 0
    record = json.loads((run / "population.json").read_text())
    assert record["generation"] == 2 and record["elitism"] == 2 and len(record["members"]) == 3
    by_fitness = sorted(record["members"], key=lambda member: member["fitness"])
    assert [member["elite"] for member in by_fitness] == [True, True, False]
    best = load_run(run).hall_of_fame[0]
    assert load_run(run).standing(best) == "elite"
    capsys.readouterr()
    assert main(["inspect", str(run)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.split()[:1] == ["1"])
    assert row.split()[2] == "elite"
    assert main(["inspect", str(run), "--rank", "1"]) == 0
    assert "elite (sure to survive) in generation 2's population" in capsys.readouterr().out


def test_failing_individuals_are_recorded_and_the_run_goes_on():
    calls = []

    def flaky(genome, context):
        calls.append(1)
        if len(calls) % 2:
            raise RuntimeError("simulated crash")
        return float("nan") if len(calls) % 4 == 0 else 1.0

    failures = []

    class Collect(Hook):
        def on_generation(self, state):
            failures.extend(ind for ind in state.evaluated if ind.failed)

    result = evolve(_config(generations=2), evaluate=flaky, hooks=[Collect()])
    assert failures and sum(row["failures"] for row in result.logbook) == len(failures)
    reasons = {ind.result.failure.split(":")[0] for ind in failures}
    assert reasons <= {"RuntimeError", "non-finite value in fitness[0]"}
    assert all(ind.fitness.values == (math.inf,) for ind in failures)
    assert all(not member.failed for member in result.hall_of_fame)


def test_lineage_is_recorded():
    result = evolve(_config(generations=3), evaluate=_cheap)
    children = [ind for ind in result.population if ind.born > 0]
    assert children
    for child in children:
        assert child.parents and child.operators


@pytest.mark.parametrize("inherit", [True, False])
def test_children_go_on_training_their_parents_weights_unless_inheritance_is_off(inherit):
    """A child's generator has had its role parent's updates plus its own ``training.steps``;
    it starts from its parent's weights, so it is not what training from scratch gives."""
    evaluated = {}

    class Record(Hook):
        def on_generation(self, state):
            evaluated.update({ind.id: ind for ind in state.evaluated})

    steps = TINY_RUN["training"]["steps"]
    config = _config(generations=3, inherit_weights=inherit, crossover_probability=0.0, mutation_probability=1.0)
    evolve(config, hooks=[Record()])
    children = [ind for ind in evaluated.values() if ind.parents]
    assert children
    for child in children:
        parent = evaluated[child.parents[0]]
        expected = parent.result.trained_steps + steps if inherit else steps
        assert child.result.trained_steps == expected
    deepest = max(ind.result.trained_steps for ind in evaluated.values())
    assert (deepest >= 2 * steps) if inherit else (deepest == steps)


def test_train_on_rounds_continue_the_best_and_the_hall_of_fame_keeps_the_best_point(tmp_path):
    """After the evolution, each round trains copies of the population's best on from its
    weights (its genome, its steps plus the round's) and the next round goes on from the best
    of them; the hall of fame keeps the best points of the chain."""
    evaluated = {}
    populations = {}

    class Record(Hook):
        def on_generation(self, state):
            evaluated.update({ind.id: (state.generation, ind) for ind in state.evaluated})
            populations[state.generation] = list(state.population)

    train_on = {"rounds": 3, "children": 2, "steps": 20}
    config = _config(generations=1, train_on=train_on)
    result = evolve(config, hooks=[Record(), RunDirectory(tmp_path / "run")])
    assert [row["gen"] for row in result.logbook] == [0, 1, 2, 3, 4]
    for generation in (2, 3, 4):
        children = [ind for gen, ind in evaluated.values() if gen == generation]
        assert len(children) == 2 and all(child.operators == ("train_on",) for child in children)
        best_before = max(populations[generation - 1], key=lambda ind: ind.fitness)
        assert {child.parents for child in children} == {(best_before.id,)}
        assert {child.genome for child in children} == {best_before.genome}
        assert all(child.result.trained_steps == best_before.result.trained_steps + 20 for child in children)
        assert sorted(ind.id for ind in populations[generation]) == sorted(child.id for child in children)
    start = max(populations[1], key=lambda ind: ind.fitness).result.trained_steps
    assert {ind.result.trained_steps for ind in populations[4]} == {start + 3 * 20}  # one chain, three rounds long
    chain = [ind for gen, ind in evaluated.values() if gen > 1 and not ind.failed]
    assert result.hall_of_fame[0].fitness == max(ind.fitness for ind in chain)
    assert {member.operators for member in result.hall_of_fame} == {("train_on",)}  # the chain's points only
    with pytest.raises(ConfigError, match="evolution.train_on.rounds: needs evolution.inherit_weights"):
        _config(train_on=train_on, inherit_weights=False)


@pytest.mark.parametrize("halving_every, counts", [(1, (3, 2, 1)), (2, (3, 3, 2, 2))])
def test_train_on_candidates_halve_every_so_many_rounds_from_the_fittest_distinct_genomes(halving_every, counts):
    """Successive halving: the first round trains the three fittest distinct genomes on; each
    halving keeps the better half of the last round's children, rounded up (every round: 3,
    2, 1; every second round: 3, 3, 2, 2)."""
    evaluated, populations = {}, {}

    class Record(Hook):
        def on_generation(self, state):
            evaluated.update({ind.id: (state.generation, ind) for ind in state.evaluated})
            populations[state.generation] = list(state.population)

    train_on = {"rounds": len(counts), "children": 1, "steps": 10, "candidates": 3, "halving_every": halving_every}
    config = _config(population=5, generations=1, train_on=train_on)
    evolve(config, hooks=[Record()])
    by_fitness = sorted(populations[1], key=lambda ind: ind.fitness, reverse=True)
    distinct = [ind for i, ind in enumerate(by_fitness) if ind.genome not in {o.genome for o in by_fitness[:i]}]
    assert len(distinct) >= 3
    expected_parents = [ind.id for ind in distinct[:3]]
    for generation, (count, next_count) in enumerate(zip(counts, counts[1:] + (1,)), start=2):
        children = sorted((ind for gen, ind in evaluated.values() if gen == generation), key=lambda ind: ind.id)
        assert [child.parents for child in children] == [(parent,) for parent in expected_parents]
        assert len(children) == count
        expected_parents = [ind.id for ind in sorted(children, key=lambda ind: ind.fitness, reverse=True)[:next_count]]


def test_train_on_children_train_with_decayed_learning_rates_never_below_the_space():
    """Each round's children train with both rates times the decay, clamped to the space's lowest,
    and keep the rest of their parent's genome."""
    evaluated = {}

    class Record(Hook):
        def on_generation(self, state):
            evaluated.update({ind.id: ind for ind in state.evaluated})
            evaluated.update({ind.id: ind for ind in state.population})

    train_on = {"rounds": 4, "children": 1, "steps": 10, "learning_rate_decay": 0.25}
    config = _config(population=3, generations=0, train_on=train_on)
    evolve(config, hooks=[Record()])
    low = config.build_search_space().hyperparameters.generator_learning_rate.low
    children = [ind for ind in evaluated.values() if ind.operators == ("train_on",)]
    assert len(children) == 4
    clamped = 0
    for child in children:
        parent = evaluated[child.parents[0]].genome
        rate = child.genome.hyperparameters.generator_learning_rate
        assert rate == max(low, parent.hyperparameters.generator_learning_rate * 0.25)
        clamped += rate == low
        rates = dict(generator_learning_rate=0, discriminator_learning_rate=0)  # all but the rates agree
        assert dataclasses.replace(child.genome.hyperparameters, **rates) == dataclasses.replace(
            parent.hyperparameters, **rates
        )
        assert child.genome.generator == parent.generator and child.genome.discriminator == parent.discriminator
    assert clamped >= 1  # four quarterings reach the space's floor


def test_train_on_rounds_of_a_run_in_which_everything_failed_do_nothing():
    config = _config(generations=1, train_on={"rounds": 2, "children": 1, "steps": 10})
    result = evolve(config, evaluate=lambda genome, context: math.nan)
    assert len(result.hall_of_fame) == 0 and [row["evaluated"] for row in result.logbook] == [3, 3, 0, 0]


def test_a_genome_evaluated_again_with_a_better_fitness_replaces_its_hall_of_fame_entry():
    """Noisy fitness: one genome scored once per seed. Rank 1 is the best individual ever
    evaluated, and the logbook's best agrees with it every generation."""
    seen = []

    def noisy(genome, context):
        fitness = float(np.random.default_rng(context.seed).uniform())
        seen.append((genome, fitness))
        return fitness

    # a space whose only mutation changes nothing: every mutant re-evaluates its parent's genome
    config = config_from_dict(
        {**TINY_RUN, "evolution": {**TINY_RUN["evolution"], "generations": 4, "mutations": ["change_dropout"],
                                   "crossover_probability": 0.0, "mutation_probability": 1.0},
         "search_space": {"generator": {"max_layers": 1, "dropout": {"min": 0, "max": 0}},
                          "discriminator": {"max_layers": 1, "dropout": {"min": 0, "max": 0}}}}
    )  # fmt: skip
    result = evolve(config, evaluate=noisy)
    best = min(fitness for _, fitness in seen)
    assert result.hall_of_fame[0].fitness.values == (best,)
    assert len({m.genome for m in result.hall_of_fame}) == len(result.hall_of_fame)
    assert result.logbook[-1]["best"] == best
    assert len(seen) > len({genome for genome, _ in seen})  # genomes were evaluated again


def test_hooks_see_every_generation():
    events = []

    class Record(Hook):
        def on_start(self, state):
            events.append("start")

        def on_generation(self, state):
            events.append(state.generation)

        def on_end(self, state):
            events.append("end")

    evolve(_config(generations=2), evaluate=_cheap, hooks=[Record()])
    assert events == ["start", 0, 1, 2, "end"]


def _raises(*args):
    raise ValueError("a bug in a user operator")


@pytest.mark.parametrize("kind", ["mutation", "crossover"])
@pytest.mark.parametrize("behaviour", ["returns None", "raises"])
def test_an_operator_that_returns_no_genome_fails_its_child_and_the_run_goes_on(kind, behaviour, tmp_path):
    """A user operator returning None or raising: each child it made is a failed individual,
    recorded in the logbook and in failures.jsonl with a reason naming the operator."""
    name = f"test_{behaviour.replace(' ', '_')}_{kind}"
    operator = _raises if behaviour == "raises" else (lambda *args: None)
    if kind == "mutation":
        register_mutation(name, lambda genome, space: True)(operator)
        variation = dict(mutations=[name], crossover_probability=0.0, mutation_probability=1.0)
    else:
        register_crossover(name)(operator)
        variation = dict(crossovers=[name], crossover_probability=1.0, mutation_probability=0.0)
    try:
        result = evolve(_config(generations=2, **variation), evaluate=_cheap, hooks=[RunDirectory(tmp_path)])
    finally:
        (MUTATIONS if kind == "mutation" else CROSSOVERS).unregister(name)
    assert [(row["gen"], row["failures"]) for row in result.logbook] == [(0, 0), (1, 3), (2, 3)]
    failures = [json.loads(line) for line in (tmp_path / "failures.jsonl").read_text().splitlines()]
    reason = (
        f"{kind} '{name}' raised ValueError: a bug in a user operator"
        if behaviour == "raises"
        else f"{kind} '{name}' returned NoneType, expected a GANGenome"
    )
    assert [f["reason"] for f in failures] == [reason] * 6
    assert len(result.hall_of_fame) == 2 and not any(member.failed for member in result.hall_of_fame)


def test_evaluate_may_return_a_result_record():
    result = evolve(_config(generations=1), evaluate=lambda g, c: EvalResult(fitness=(_cheap(g, c),)))
    assert result.hall_of_fame[0].fitness.valid


@pytest.mark.slow
def test_multi_objective_quality_run_on_the_ring(tmp_path):
    """Two quality metrics as fitness with NSGA-II; the metrics reach the run directory and
    the plot marks the mode centres."""
    import json

    import yaml

    from deatf_gan.cli import main

    raw = {
        **TINY_RUN,
        "data": {"name": "ring8", "params": {"samples": 2000}},
        "evaluation": {"fitness": ["modes_missed", "low_quality_share"]},
        "evolution": {**TINY_RUN["evolution"], "selection": {"method": "nsga2"}},
    }
    (tmp_path / "ring.yaml").write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    assert main(["run", str(tmp_path / "ring.yaml"), "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "hall_of_fame" / "rank_1" / "metrics.json").read_text())
    assert metrics["fitness"] == [8 - metrics["modes_covered"], pytest.approx(1 - metrics["high_quality_share"])]
    assert 0 <= metrics["high_quality_share"] <= 1 and metrics["reverse_kl"] >= 0
    assert main(["plot", str(out)]) == 0
    assert (out / "plots" / "samples.png").stat().st_size > 0


def test_initial_genomes_start_in_generation_zero_in_place_of_as_many_random_ones():
    """The known design is individual 0 of generation 0, trained and scored like the rest,
    and the random rest is what a run without it draws."""
    plain = _config(generations=0)
    known = plain.build_search_space().sample(np.random.default_rng(99))
    evaluated = {}

    class Record(Hook):
        def on_generation(self, state):
            evaluated.update({ind.id: ind for ind in state.evaluated if state.generation == 0})

    evolve(_config(generations=0, initial_genomes=[known.to_dict()]), evaluate=_cheap, hooks=[Record()])
    seeded = [evaluated[i].genome for i in sorted(evaluated)]
    assert [evaluated[i].operators for i in sorted(evaluated)] == [("known_design",)] + [()] * (len(seeded) - 1)
    evaluated.clear()
    evolve(plain, evaluate=_cheap, hooks=[Record()])
    unseeded = [evaluated[i].genome for i in sorted(evaluated)]
    assert seeded[0] == known and seeded[0] != unseeded[0]
    assert seeded[1:] == unseeded[1:]
