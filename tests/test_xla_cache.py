"""XLA's persistent compile cache, turned on explicitly (``deatf_gan.xla_cache``)."""

import os
import subprocess
import sys

import tensorflow as tf

from deatf_gan import xla_cache


def test_the_cache_folder_is_per_tensorflow_version_and_cpu_and_can_be_moved_or_turned_off(monkeypatch, tmp_path):
    monkeypatch.delenv(xla_cache.SETTING, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    default = xla_cache.cache_directory()
    assert default.parent == tmp_path / "deatf_gan" and default.name.startswith(f"xla-{tf.__version__}-")
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path / "elsewhere"))
    assert xla_cache.cache_directory() == tmp_path / "elsewhere"
    monkeypatch.setenv(xla_cache.SETTING, "off")
    assert xla_cache.cache_directory() is None


def test_enable_sets_the_flag_once_and_leaves_a_users_own_cache_alone(monkeypatch, tmp_path):
    monkeypatch.setenv(xla_cache.SETTING, str(tmp_path / "cache"))
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=0")
    assert xla_cache.enable() == tmp_path / "cache" and (tmp_path / "cache").is_dir()
    assert os.environ["TF_XLA_FLAGS"] == f"--tf_xla_auto_jit=0 --tf_xla_persistent_cache_directory={tmp_path / 'cache'}"
    assert xla_cache.enable() is None  # already set: unchanged
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_persistent_cache_directory=/mine")
    assert xla_cache.enable() is None and os.environ["TF_XLA_FLAGS"] == "--tf_xla_persistent_cache_directory=/mine"


def test_prune_keeps_the_newest_files_within_the_limit(tmp_path):
    for age, name in enumerate(["newest", "middle", "oldest"]):
        path = tmp_path / name
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000_000 - age, 1_000_000 - age))
    assert xla_cache.prune(tmp_path, limit=250) == [tmp_path / "oldest"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["middle", "newest"]
    assert xla_cache.prune(tmp_path, limit=250) == []


def test_importing_the_package_changes_no_environment():
    code = "import os; before = dict(os.environ); import deatf_gan.judge, deatf_gan.batched.evaluator; "
    code += "assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())"
    env = {name: value for name, value in os.environ.items() if name != "TF_XLA_FLAGS"}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
