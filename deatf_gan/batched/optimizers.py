"""Keras 3's Adam, RMSprop and SGD, one rule and learning rate per individual, on flat parameters.

Each role's trainable weights are one ``[K, P]`` vector while training, so an update and
its per-individual selection are a handful of ops on that vector rather than a handful
per weight tensor. The constants are Keras 3's defaults, which ``deatf_gan.training``'s
Keras optimizers use, so both evaluators take the same steps.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

OPTIMIZER_NAMES = ("adam", "rmsprop", "sgd")
ADAM_BETA_1, ADAM_BETA_2 = 0.9, 0.999
RMSPROP_RHO = 0.9
EPSILON = 1e-7


class Rules(NamedTuple):
    """Each individual's learning rate and optimizer, ``[K, 1]`` each."""

    learning_rate: tf.Tensor
    adam: tf.Tensor  # bool
    rmsprop: tf.Tensor  # bool (neither: SGD)

    @classmethod
    def of(cls, learning_rate, optimizer_onehot) -> Rules:
        """From ``[K]`` learning rates and ``[K, 3]`` one-hot rows in OPTIMIZER_NAMES order."""
        return cls(learning_rate[:, None], optimizer_onehot[:, 0, None] > 0, optimizer_onehot[:, 1, None] > 0)


class Slots(NamedTuple):
    """One role's optimizer state: moments ``[K, P]`` and step counters ``[K]``."""

    first_moment: tf.Tensor
    second_moment: tf.Tensor
    iterations: tf.Tensor


def apply_updates(parameters, slots: Slots, grads, active, rules: Rules) -> tuple[tf.Tensor, Slots]:
    """One optimizer step for each active individual (``active``: ``[K]`` bool):

    - Adam: ``m += (g - m)(1 - β₁)``, ``v += (g² - v)(1 - β₂)``, ``θ -= α m / (√v + ε)`` with
      ``α = lr √(1 - β₂ᵗ) / (1 - β₁ᵗ)`` (Kingma & Ba 2015, in Keras 3's form);
    - RMSprop: ``v = ρ v + (1 - ρ) g²``, ``θ -= lr g / √(v + ε)`` (Hinton's lecture 6e);
    - SGD: ``θ -= lr g``.

    Inactive individuals keep their parameters, moments and step counts exactly.
    """
    m, v, lr = slots.first_moment, slots.second_moment, rules.learning_rate
    t = slots.iterations + 1.0
    alpha = lr * tf.sqrt(1.0 - tf.pow(ADAM_BETA_2, t[:, None])) / (1.0 - tf.pow(ADAM_BETA_1, t[:, None]))
    m_adam = m + (grads - m) * (1.0 - ADAM_BETA_1)
    v_adam = v + (tf.square(grads) - v) * (1.0 - ADAM_BETA_2)
    v_rms = RMSPROP_RHO * v + (1.0 - RMSPROP_RHO) * tf.square(grads)
    step_adam = m_adam * alpha / (tf.sqrt(v_adam) + EPSILON)
    step_rms = lr * grads / tf.sqrt(v_rms + EPSILON)
    step = tf.where(rules.adam, step_adam, tf.where(rules.rmsprop, step_rms, grads * lr))
    on = active[:, None]
    parameters = tf.where(on, parameters - step, parameters)
    return parameters, Slots(
        first_moment=tf.where(tf.logical_and(on, rules.adam), m_adam, m),
        second_moment=tf.where(on, tf.where(rules.adam, v_adam, tf.where(rules.rmsprop, v_rms, v)), v),
        iterations=slots.iterations + tf.cast(active, tf.float32),
    )
