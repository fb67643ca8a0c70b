"""write_atomic: whole files only, no temporary left behind, concurrent writers never mix."""

import os
import threading

import pytest

from deatf_gan.atomic import write_atomic


def test_text_and_bytes_are_written_and_replace_the_old_file(tmp_path):
    path = tmp_path / "file.txt"
    write_atomic(path, "first")
    assert path.read_text() == "first"
    write_atomic(path, b"\x00second")
    assert path.read_bytes() == b"\x00second"
    assert os.listdir(tmp_path) == ["file.txt"]  # no temporary left beside it


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "file.txt"
    write_atomic(path, "old")
    with pytest.raises(TypeError):
        write_atomic(path, 12)  # neither str nor bytes: fails after the temporary is opened
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["file.txt"]


def test_concurrent_writers_of_one_path_each_leave_a_whole_file(tmp_path):
    path = tmp_path / "shared.bin"
    contents = [bytes([n]) * 200_000 for n in range(8)]
    threads = [threading.Thread(target=write_atomic, args=(path, data)) for data in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert path.read_bytes() in contents
    assert os.listdir(tmp_path) == ["shared.bin"]
