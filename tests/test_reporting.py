import functools
import io
import threading
import time

import pytest

from deatf_gan.config import config_from_dict
from deatf_gan.evolution import Hook, evolve
from deatf_gan.reporting import HEARTBEAT_THREAD, ConsoleReporter
from tests.conftest import TINY_RUN
from tests.evaluations import units_score


def _run(live: bool) -> str:
    stream = io.StringIO()
    evolve(
        config_from_dict({**TINY_RUN, "evaluation": {"function": "tests.evaluations:units_score"}}),
        evaluate=units_score,
        hooks=[ConsoleReporter(stream, live=live)],
    )
    return stream.getvalue()


def test_live_progress_on_a_terminal():
    text = _run(live=True)
    assert "\r" in text
    assert "gen 1/1 [" in text and "3/3" in text and "best " in text and "elapsed " in text and "left ~" in text
    assert "hall of fame" in text


def test_plain_lines_when_not_a_terminal():
    text = _run(live=False)
    assert "\r" not in text and "\033" not in text
    lines = [line for line in text.splitlines() if line.startswith("gen ")]
    assert len(lines) == 2 and "best ever" in lines[-1]


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
