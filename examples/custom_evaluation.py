"""A custom evaluation function, named in a config as ``examples.custom_evaluation:moment_matching``.

    deatf-gan run examples/custom_evaluation.yaml

The contract: ``evaluate(genome, context, **kwargs)`` where ``genome`` is a
``deatf_gan.GANGenome`` and ``context`` a ``deatf_gan.EvalContext`` (data in
``context.dataset``, budget in ``context.steps``, the individual's ``context.seed``, and the
helpers ``context.build_pair(genome)`` and ``context.train_pair(genome, generator,
discriminator)``). Return a float, a tuple of floats (one per ``evaluation.weights``) or a
``deatf_gan.EvalResult``; an ``EvalResult`` with ``weights`` also gets the trained models
exported to the hall of fame. Raise ``deatf_gan.IndividualFailed("why")`` to fail one
individual on purpose.
"""

import numpy as np

from deatf_gan import EvalContext, EvalResult, GANGenome, IndividualFailed


def moment_matching(
    genome: GANGenome, context: EvalContext, samples: int = 5000, max_parameters: int = 5000
) -> EvalResult:
    """Train the pair as eval_gan does, then score |mean error| + |std error| of generated samples."""
    generator, discriminator = context.build_pair(genome)
    if generator.count_params() > max_parameters:
        raise IndividualFailed(f"generator has {generator.count_params()} parameters (limit {max_parameters})")
    outcome = context.train_pair(genome, generator, discriminator)
    rng = np.random.default_rng(context.seed)
    latent = context.latent_stddev * rng.standard_normal((samples, genome.hyperparameters.latent_dim))
    fake = np.asarray(generator(latent.astype(np.float32), training=False))
    real = context.dataset.samples
    error = float(np.abs(fake.mean(0) - real.mean(0)).sum() + np.abs(fake.std(0) - real.std(0)).sum())
    return EvalResult(
        fitness=(error,),
        generator_loss=outcome.generator_loss,
        discriminator_loss=outcome.discriminator_loss,
        generator_parameters=generator.count_params(),
        discriminator_parameters=discriminator.count_params(),
        weights=(generator.get_weights(), discriminator.get_weights()),
    )
