"""Distribution ``hypgraph-pyg``: hyperbolic recommender systems for PyTorch Geometric.

The PyPI name ``hypgraph`` is taken, so the distribution is ``hypgraph-pyg``; it
installs the import packages ``hypgraph`` and ``analysis``.
"""
from setuptools import find_packages, setup

install_requires = [
    # Pinned exactly by the Makefile (TORCH_SPEC) *before* this install, so that
    # pip does not pull a multi-GB CUDA build; here any torch >= 2.2 is accepted.
    "torch>=2.2",
    "torch-geometric>=2.5",
    "numpy>=1.24",
    # The text readers parse with pyarrow.csv and validate with pyarrow.compute.
    "pyarrow>=12",
    "scipy>=1.10",
    "scikit-learn>=1.3",
    "matplotlib>=3.7",
    "tqdm>=4.60",
]

extras_require = {
    # networkx and powerlaw are independent references the tests check our
    # graph statistics and power-law fits against; the library needs neither.
    # faiss-cpu (the serve extra) so that make test checks retrieval through an index too.
    "test": ["pytest>=7.4", "hypothesis>=6.80", "pytest-xdist>=3.3",
             "networkx>=3.0", "powerlaw>=1.5", "faiss-cpu>=1.7.3"],
    # Top-k retrieval through a faiss index (hypgraph recommend --index);
    # 1.7.3 brought the per-search HNSW parameters.
    "serve": ["faiss-cpu>=1.7.3"],
    # Optional acceleration only: torch-geometric >= 2.5 scatters natively.
    "scatter": ["torch-scatter"],
    # An alias kept for old install commands: pyarrow is now a core dependency.
    "parquet": ["pyarrow>=12"],
}

setup(
    name="hypgraph-pyg",
    version="0.2.0",
    description="Hyperbolic recommender systems for PyTorch Geometric",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["hypgraph", "hypgraph.*", "analysis", "analysis.*"]),
    install_requires=install_requires,
    extras_require=extras_require,
    entry_points={
        "console_scripts": [
            "hypgraph-stats=analysis.cli:main",
            # train / recommend / evaluate / export / plot; `hypgraph stats` is hypgraph-stats
            "hypgraph=hypgraph.cli.main:main",
        ]
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
