"""TensorFlow's first import without its start-up lines, and nothing else lost."""

import os
import subprocess
import sys

from deatf_gan.quiet_start import START_UP_LINES, start_up_lines_dropped, without_start_up_lines


def test_the_start_up_lines_are_dropped_and_every_other_line_is_replayed(capfd):
    with start_up_lines_dropped():
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on. You may see ...\n")
        os.write(2, b"E0000 something a user must see\n")
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
    assert capfd.readouterr().err == "E0000 something a user must see\n"
    assert without_start_up_lines("a\nTo enable the following instructions: AVX2\nb") == "a\nb"


def _import_tensorflow(level: str | None) -> str:
    code = (
        "from deatf_gan import quiet_start; quiet_start.install(); import tensorflow; "
        "import sys; sys.stderr.write('after\\n')"
    )
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    if level is not None:
        environment["TF_CPP_MIN_LOG_LEVEL"] = level
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_a_first_import_at_level_3_prints_no_start_up_line_and_a_user_level_prints_them_all():
    quiet = _import_tensorflow("3")
    assert quiet.endswith("after\n") and not any(s in quiet for s in START_UP_LINES), quiet
    chatty = _import_tensorflow("0")
    assert "cpu_feature_guard" in chatty  # what the user asked for, untouched
