"""An evaluation that kills its own worker process, for tests of dead-worker recovery.

It lives in an importable module (not in a test) so that worker processes can load it.
"""

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deatf_gan.evaluation import eval_gan


@dataclass(frozen=True)
class Misbehaving:
    """``evaluate`` except for chosen seeds: ``kill_once`` kills its worker on the first attempt
    only (it creates a marker file in ``directory`` first, so the retry runs normally),
    ``kill_always`` kills it on every attempt, ``raises`` are seeds whose evaluation raises.
    Every attempt appends its seed to ``directory/attempts``."""

    directory: str
    kill_once: int | None = None
    kill_always: int | None = None
    raises: tuple[int, ...] = ()
    evaluate: Callable = eval_gan

    def attempts(self) -> list[int]:
        path = Path(self.directory) / "attempts"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def __call__(self, genome, context):
        seed = context.seed
        with open(Path(self.directory) / "attempts", "a") as log:
            log.write(f"{seed}\n")
        marker = Path(self.directory) / f"killed-{seed}"
        if seed == self.kill_always or (seed == self.kill_once and not marker.exists()):
            marker.touch()
            time.sleep(0.2)  # die mid-task, as an out-of-memory kill would, not at once
            os.kill(os.getpid(), signal.SIGKILL)
        if seed in self.raises:
            raise RuntimeError("this evaluation is broken on purpose")
        return self.evaluate(genome, context)
