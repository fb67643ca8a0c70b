import functools
import io
import threading
import time

import pytest

from deatf_gan.config import config_from_dict
from deatf_gan.evolution import Hook, evolve
from deatf_gan.reporting import HEARTBEAT_THREAD, ConsoleReporter, planned_work
from tests.conftest import TINY_RUN
from tests.evaluations import units_score


def _run(live: bool, **evolution) -> str:
    stream = io.StringIO()
    raw = {**TINY_RUN, "evolution": {**TINY_RUN["evolution"], **evolution}}
    evolve(
        config_from_dict({**raw, "evaluation": {"function": "tests.evaluations:units_score"}}),
        evaluate=units_score,
        hooks=[ConsoleReporter(stream, live=live)],
    )
    return stream.getvalue()


def test_live_progress_on_a_terminal():
    text = _run(live=True)
    assert "\r" in text
    assert "gen 1/1 [" in text and "3/3" in text and "best " in text and "elapsed " in text and "left " in text
    assert "hall of fame" in text


def test_plain_lines_when_not_a_terminal():
    text = _run(live=False)
    assert "\r" not in text and "\033" not in text
    lines = [line for line in text.splitlines() if line.startswith("gen ")]
    assert len(lines) == 2 and "best ever" in lines[-1]


def test_the_first_line_says_how_many_individuals_start_as_known_designs():
    known = {"layers": [{"units": 4, "activation": "relu"}]}
    hyper = dict(zip(["generator_learning_rate", "discriminator_learning_rate", "optimizer"], [1e-3, 1e-3, "adam"]))
    hyper.update(batch_size=64, latent_dim=8, discriminator_steps=1)
    genome = {"generator": known, "discriminator": known, "hyperparameters": hyper}
    assert "3 individuals (1 of them known designs), 1 generations" in _run(False, initial_genomes=[genome])
    assert "3 individuals, 1 generations" in _run(False)


def _heartbeats_alive() -> bool:
    return any(thread.name == HEARTBEAT_THREAD for thread in threading.enumerate())


def _wait_for_heartbeats_to_stop() -> bool:
    deadline = time.monotonic() + 5
    while _heartbeats_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _heartbeats_alive()


@pytest.mark.parametrize("live", [False, True])
def test_a_slow_generation_shows_it_is_alive_and_the_heartbeat_stops_with_the_run(live):
    stream = io.StringIO()
    config = config_from_dict({**TINY_RUN, "evaluation": {"function": "tests.evaluations:units_score"}})
    slow = functools.partial(units_score, delay=0.2)  # six evaluations, each quieter than the heartbeat
    evolve(config, evaluate=slow, hooks=[ConsoleReporter(stream, live=live, heartbeat_s=0.1)])
    text = stream.getvalue()
    assert "running for 0:0" in text and "gen 0/1" in text
    assert _wait_for_heartbeats_to_stop()
    assert "running for" not in text.split("hall of fame")[-1]  # nothing after the final table


def test_the_heartbeat_stops_when_the_run_fails():
    class Broken(Hook):
        def on_generation(self, state):
            raise RuntimeError("a hook that breaks the run")

    config = config_from_dict({**TINY_RUN, "evaluation": {"function": "tests.evaluations:units_score"}})
    with pytest.raises(RuntimeError, match="breaks the run"):
        evolve(config, evaluate=units_score, hooks=[ConsoleReporter(io.StringIO(), heartbeat_s=0.05), Broken()])
    assert _wait_for_heartbeats_to_stop()


def test_planned_work_follows_the_generation_loop_and_the_halving_train_on_rounds():
    config = config_from_dict(
        {
            "training": {"steps": 100},
            "evolution": {
                "population": 4,
                "offspring": 6,
                "generations": 2,
                "train_on": {"rounds": 3, "children": 2, "candidates": 3, "steps": 500},
            },
        }
    )
    planned = [planned_work(config, g) for g in range(config.evolution.last_generation + 1)]
    assert planned == [(4, 100), (6, 100), (6, 100), (6, 500), (4, 500), (2, 500)]
    train_on = {"rounds": 5, "children": 2, "candidates": 3, "halving_every": 2}
    slower = config_from_dict({"evolution": {"generations": 0, "train_on": train_on}})
    assert [planned_work(slower, g)[0] for g in range(1, 6)] == [6, 6, 4, 4, 2]
    simple = config_from_dict({"evolution": {"algorithm": "simple", "population": 5, "offspring": 9}})
    assert planned_work(simple, 1)[0] == 5


def test_the_estimate_is_the_last_generations_pace_times_the_work_left_and_a_bound_until_two_are_measured():
    """Seconds per step as measured, times the steps still planned: not the whole run's average,
    which the first generation's compiling would inflate."""
    config = config_from_dict({"training": {"steps": 100}, "evolution": {"population": 4, "offspring": 8}})
    reporter = ConsoleReporter(io.StringIO())
    reporter._config, reporter.total_generations = config, config.evolution.last_generation  # generations 0-5
    assert reporter._remaining(1) == "?"  # nothing measured yet
    reporter._seconds_per_step, reporter._measured = 0.01, 1
    assert reporter._remaining(2) == "≤0:32"  # generations 2-5: 4 × 8 evaluations × 100 steps × 0.01 s
    reporter._measured = 2
    assert reporter._remaining(5, done=6, total=8) == "~0:02"  # the last generation's 2 evaluations left


def test_the_first_generations_line_gives_an_upper_bound_and_later_ones_an_estimate():
    text = _run(live=False)
    lines = [line for line in text.splitlines() if line.startswith("gen ")]
    assert "left ≤" in lines[0] and "left 0:00" in lines[-1]
