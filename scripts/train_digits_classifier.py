"""Train the small digits classifier that ``deatf_gan.metrics`` ships, and write its weights.

Run from the repository root:  python scripts/train_digits_classifier.py

scikit-learn's 1,797 8 × 8 digits (shipped inside scikit-learn, nothing downloaded), pixels
scaled to [-1, 1] as the ``digits`` data source does; a stratified 75/25 split with
``random_state=0``; a NumPy MLP 64 → 128 → 64 → 10 (ReLU, softmax) trained with Adam on
fixed-order mini-batches from a seeded generator, in float64, so every run writes the same
weights. The 64-unit second hidden layer is the feature space of the Fréchet distance.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

OUTPUT = Path(__file__).resolve().parent.parent / "deatf_gan" / "data" / "digits_classifier.npz"
LAYERS = (64, 128, 64, 10)
SEED = 0
EPOCHS = 60
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 1e-4  # L2 on the weights (not the biases): smoother features, better FD behaviour


def scaled_digits() -> tuple[np.ndarray, np.ndarray]:
    """Images as float64 rows in [-1, 1] (pixel / 16 * 2 - 1) and their integer labels."""
    digits = load_digits()
    return digits.data.astype(np.float64) / 16.0 * 2.0 - 1.0, digits.target.astype(np.int64)


def split(images: np.ndarray, labels: np.ndarray):
    """The one split the script and the tests share: stratified, 25 % test, random_state 0."""
    return train_test_split(images, labels, test_size=0.25, random_state=0, stratify=labels)


def initial_parameters(rng: np.random.Generator) -> list[np.ndarray]:
    """He-normal weights and zero biases, [W1, b1, W2, b2, W3, b3]."""
    parameters = []
    for fan_in, fan_out in itertools.pairwise(LAYERS):
        parameters += [rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out)), np.zeros(fan_out)]
    return parameters


def forward(parameters: list[np.ndarray], x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Hidden activations (input first) and softmax probabilities."""
    activations = [x]
    for weight, bias in zip(parameters[0:-2:2], parameters[1:-2:2]):
        activations.append(np.maximum(activations[-1] @ weight + bias, 0.0))
    logits = activations[-1] @ parameters[-2] + parameters[-1]
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    return activations, probabilities / probabilities.sum(axis=1, keepdims=True)


def gradients(parameters: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Back-propagation of the mean cross-entropy plus the L2 penalty."""
    activations, probabilities = forward(parameters, x)
    delta = probabilities
    delta[np.arange(len(y)), y] -= 1.0
    delta /= len(y)
    grads: list[np.ndarray] = [None] * len(parameters)  # type: ignore[list-item]
    for layer in range(len(LAYERS) - 2, -1, -1):
        grads[2 * layer] = activations[layer].T @ delta + WEIGHT_DECAY * parameters[2 * layer]
        grads[2 * layer + 1] = delta.sum(axis=0)
        if layer:
            delta = (delta @ parameters[2 * layer].T) * (activations[layer] > 0)
    return grads


def train(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Adam (β1 0.9, β2 0.999) over seeded per-epoch permutations."""
    rng = np.random.default_rng(SEED)
    parameters = initial_parameters(rng)
    first = [np.zeros_like(p) for p in parameters]
    second = [np.zeros_like(p) for p in parameters]
    step = 0
    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            step += 1
            for p, g, m, v in zip(parameters, gradients(parameters, x[batch], y[batch]), first, second):
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                p -= LEARNING_RATE * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return parameters


def accuracy(parameters: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(forward(parameters, x)[1].argmax(axis=1) == y))


def main() -> None:
    images, labels = scaled_digits()
    x_train, x_test, y_train, y_test = split(images, labels)
    parameters = train(x_train, y_train)
    stored = [p.astype(np.float32) for p in parameters]
    print(
        f"train accuracy {accuracy(stored, x_train, y_train):.4f}, test accuracy {accuracy(stored, x_test, y_test):.4f}"
    )
    class_distribution = np.bincount(labels, minlength=LAYERS[-1]) / len(labels)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUTPUT,
        **{name: p for name, p in zip(("w1", "b1", "w2", "b2", "w3", "b3"), stored)},
        class_distribution=class_distribution.astype(np.float32),
    )
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
