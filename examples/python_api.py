"""Run an evolution from Python, with a fitness measure of your own, and use the best generator.

    python examples/python_api.py            # a small run, about a minute on 2 CPU cores

The same as the command line, minus the run directory: build a config (or load one),
call ``evolve``, and read the hall of fame. A fitness measure is any function of the
trained pair that returns a number to minimise; register it to name it in a config.
"""

import deatf_gan
from deatf_gan.fitness import FITNESSES
from deatf_gan.streams import SampleStream


@FITNESSES.register("moment_error")
def moment_error(pair) -> float:
    """|mean error| + |std error| of 10,000 generated samples against the real data."""
    samples = pair.sample(10_000, stream=SampleStream.UNSEEN)
    real = pair.dataset.samples
    return float(abs(samples.mean() - real.mean()) + abs(samples.std() - real.std()))


def main(generations: int = 2, steps: int = 600) -> deatf_gan.EvolutionResult:
    config = deatf_gan.config_from_dict(
        {
            "seed": 1,
            "data": {"name": "gaussian_1d"},
            "training": {"steps": steps, "latent_stddev": 2.0},
            "evaluation": {"fitness": "moment_error"},
            "evolution": {"population": 4, "offspring": 4, "generations": generations},
        }
    )
    result = deatf_gan.evolve(config)
    best = result.hall_of_fame[0]
    print("best fitness:", best.fitness.values[0])
    print("generator:", best.genome.generator.summary())
    print("discriminator:", best.genome.discriminator.summary())
    print(result.logbook)
    return result


if __name__ == "__main__":  # worker processes import this file again (spawn): only the parent runs
    main()
