"""The one compiled part: the injection detector's window scoring and word split
(``src/tutela/injection/_speedups.c``, used by model.py and gloss.py).

Everything else is in pyproject.toml. The extension is optional: without a C compiler the
package installs and runs the pure-Python paths, to the same results, more slowly.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tutela.injection._speedups",
            sources=["src/tutela/injection/_speedups.c"],
            # Sums must round as Python's do: no fused or reordered floating point.
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        )
    ]
)
