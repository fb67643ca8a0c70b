"""Whether a run can fit in this machine's memory, estimated from the search space's largest
individual before anything trains.

A config whose networks, latent size, batches or population cannot fit would otherwise grow
until the machine swaps or the kernel kills the run, minutes later and with no message. The
estimate is a sum of terms, each named by the config key that drives it, so the refusal says
what to lower. It is generous (several copies of every weight, activations for forward and
backward passes) but only refuses what exceeds all of the memory: a config that fits is
never refused for being close.
"""

from __future__ import annotations

import os
from pathlib import Path

from deatf_gan.config import Config
from deatf_gan.errors import ConfigError
from deatf_gan.executors import worker_processes

FLOAT = 4  # bytes: every tensor is float32
COPIES_OF_WEIGHTS = 8  # weights, gradients, two optimizer slots, average, inherited start, two exports
ACTIVATION_PASSES = 4  # forward and backward, batch norm and dropout masks
INDIVIDUAL_RECORD = 20_000  # bytes the driver holds per individual besides its weights: genome, result, logbook
WORKER_RUNTIME = 600 * 2**20  # a worker process with TensorFlow loaded


def available_memory() -> int | None:
    """Bytes of memory this process may use: the machine's, or its control group's limit if lower."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limits.append(int(text))
    return min(limits) if limits else None


def largest_parameters(config: Config, data_dim: int) -> dict[str, int]:
    """Weights of the search space's largest individual, by the config key they grow with."""
    g, d = config.search_space.generator, config.search_space.discriminator
    latent = config.search_space.hyperparameters.latent_dim.max
    packed_dim = data_dim * max(config.search_space.hyperparameters.packing)  # the discriminator's input
    return {
        "search_space.generator.units.max": (g.max_layers - 1) * g.units.max**2
        + g.units.max * data_dim
        + 6 * g.units.max * g.max_layers,
        "search_space.discriminator.units.max": (d.max_layers - 1) * d.units.max**2
        + d.units.max * (packed_dim + 1)
        + 6 * d.units.max * d.max_layers,
        "search_space.hyperparameters.latent_dim.max": latent * g.units.max,
    }


def individual_terms(config: Config, data_dim: int) -> dict[str, float]:
    """Estimated bytes that the search space's largest individual needs while it trains, by the
    config key each term grows with."""
    space, hyper = config.search_space, config.search_space.hyperparameters
    latent, batch, evaluated = hyper.latent_dim.max, max(hyper.batch_sizes), config.training.eval_samples
    hidden_g = space.generator.units.max * space.generator.max_layers
    hidden_d = space.discriminator.units.max * space.discriminator.max_layers
    activations = FLOAT * ACTIVATION_PASSES
    terms = {key: FLOAT * COPIES_OF_WEIGHTS * count for key, count in largest_parameters(config, data_dim).items()}
    terms["search_space.hyperparameters.latent_dim.max"] += activations * (batch + evaluated) * latent
    # a training step runs the generator once and the discriminator on fake and real batches
    packed_dim = data_dim * max(hyper.packing)
    terms["search_space.hyperparameters.batch_sizes"] = activations * batch * (hidden_g + 3 * hidden_d + 3 * packed_dim)
    terms["training.eval_samples"] = activations * evaluated * (hidden_g + 2 * hidden_d + 2 * packed_dim)
    return terms


def run_bytes(config: Config, data_dim: int) -> tuple[float, float, int]:
    """``(one individual, the whole run, individuals training at once)``, estimated in bytes.

    Each worker (or, in one process, each core's lane) trains about one individual at a
    time; the driver keeps two copies of the weights of the population, the offspring and
    the hall of fame, and a record of each."""
    one = sum(individual_terms(config, data_dim).values())
    evolution = config.evolution
    at_once = min(max(evolution.population, evolution.offspring), max(_workers(config), os.cpu_count() or 1))
    kept = evolution.population + evolution.offspring + evolution.hall_of_fame
    weights = FLOAT * sum(largest_parameters(config, data_dim).values())
    total = at_once * one + kept * (INDIVIDUAL_RECORD + 2 * weights) + WORKER_RUNTIME * _workers(config)
    return one, total, at_once


def _workers(config: Config) -> int:
    """Processes that hold TensorFlow: the workers, or the caller's own in a serial run."""
    return max(1, worker_processes(config.executor))


def check_memory_fits(config: Config, data_dim: int, available: int | None = None) -> None:
    """Refuse a config whose estimated memory exceeds what this machine has, naming the key
    to lower: the largest term of the largest individual if it alone cannot fit, else the
    population. A remote Dask cluster's memory is not this machine's: no check."""
    if config.executor.kind == "dask" and config.executor.address is not None:
        return
    available = available if available is not None else available_memory()
    if available is None:
        return
    one, total, at_once = run_bytes(config, data_dim)
    if total <= available:
        return
    if one + WORKER_RUNTIME > available:
        terms = individual_terms(config, data_dim)
        key = max(terms, key=terms.get)
        why = f"its largest individual alone needs about {_size(one)}, {_size(terms[key])} of it for {key}"
    else:
        evolution = config.evolution
        kept = evolution.population + evolution.offspring + evolution.hall_of_fame
        key = "evolution.population" if evolution.population >= evolution.offspring else "evolution.offspring"
        why = f"it keeps {kept} individuals' weights and records, and trains {at_once} of up to {_size(one)} at once"
    raise ConfigError(
        f"{key}: this run would need about {_size(total)} of memory, more than the {_size(available)} "
        f"this machine has ({why}); lower {key}"
    )


def _size(count: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    power = 0
    while count >= 1024 and power < len(units) - 1:
        count, power = count / 1024, power + 1
    return f"{count:.3g} {units[power]}"
