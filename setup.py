from setuptools import find_packages, setup

setup(
    name="deatf_gan",
    version="0.1.0",
    description="Neuroevolution of GAN architectures with DEAP and TensorFlow/Keras 3",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["deatf_gan", "deatf_gan.*"]),
    package_data={"deatf_gan": ["data/*.npz"]},
    python_requires=">=3.10",
    install_requires=[
        "cloudpickle>=2.2",
        "deap>=1.4",
        "matplotlib>=3.7",
        "numpy>=1.24",
        "PyYAML>=6.0",
        "scikit-learn>=1.3",
        "scipy>=1.10",
    ],
    extras_require={
        # The CPU-only wheel: never pulls the multi-GB CUDA build.
        "cpu": ["tensorflow-cpu>=2.16,<2.22"],
        "gpu": ["tensorflow[and-cuda]>=2.16,<2.22"],
        "dask": ["dask[distributed]>=2024.1"],
        # ruff's formatter style may change between minor releases: pin the one the tree is formatted with.
        "test": ["pytest>=7", "hypothesis>=6", "jsonschema>=4.18", "dask[distributed]>=2024.1", "ruff>=0.17,<0.18"],
    },
    entry_points={"console_scripts": ["deatf-gan=deatf_gan.cli:main"]},
)
