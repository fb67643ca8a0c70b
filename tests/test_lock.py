"""Two runs, one directory: the lock that ``run`` and ``resume`` hold (``deatf_gan/runs/lock.py``)."""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from deatf_gan.cli import main
from deatf_gan.errors import ConfigError
from deatf_gan.runs import RunLock
from tests.conftest import quick_config

ROOT = Path(__file__).resolve().parent.parent
HOLD = (
    "import sys, time; from deatf_gan.runs import RunLock;"
    " RunLock(sys.argv[1]).acquire(); print(1, flush=True); time.sleep(60)"
)


@contextmanager
def held_by_another_process(directory: Path):
    """The lock of ``directory`` held by a separate Python process; yields that process."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(directory)], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert process.stdout.readline().strip() == b"1", "the holder did not get the lock"
        yield process
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def test_a_second_run_into_the_same_directory_exits_2_naming_the_holder(tmp_path, capsys):
    out = tmp_path / "run"
    with held_by_another_process(out) as holder:
        assert main(["run", str(quick_config(tmp_path)), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"deatf-gan: error: {out}: in use by process {holder.pid} ") and len(err.splitlines()) == 1


def test_overwrite_and_resume_of_a_locked_directory_exit_2_and_delete_nothing(tmp_path, capsys):
    config, out = quick_config(tmp_path), tmp_path / "run"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    before = sorted(path.relative_to(out) for path in out.rglob("*"))
    with held_by_another_process(out) as holder:
        assert main(["run", str(config), "--out", str(out), "--overwrite", "--quiet"]) == 2
        assert f"in use by process {holder.pid}" in capsys.readouterr().err
        assert main(["resume", str(out), "--quiet"]) == 2
        assert f"in use by process {holder.pid}" in capsys.readouterr().err
        assert sorted(path.relative_to(out) for path in out.rglob("*") if path.name != ".lock") == before


def test_the_lock_dies_with_its_holder_and_its_file_counts_for_nothing(tmp_path):
    """SIGKILL leaves the lock file behind; the kernel has released the lock, and a run into
    the folder that holds nothing else is a fresh run, not a 'not empty' refusal."""
    out = tmp_path / "run"
    with held_by_another_process(out) as holder:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        assert [path.name for path in out.iterdir()] == [".lock"]
        assert main(["run", str(quick_config(tmp_path)), "--out", str(out), "--quiet"]) == 0
    assert not (out / ".lock").exists()  # released and removed at the end of the run


def test_a_second_lock_in_the_same_process_names_this_process(tmp_path):
    with RunLock(tmp_path / "run"):
        with pytest.raises(ConfigError, match=f"in use by process {os.getpid()} "):
            RunLock(tmp_path / "run").acquire()
    with RunLock(tmp_path / "run"):  # released: free again
        pass
