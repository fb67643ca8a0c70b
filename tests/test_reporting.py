import io

from deatf_gan.config import config_from_dict
from deatf_gan.evolution import evolve
from deatf_gan.reporting import ConsoleReporter
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
