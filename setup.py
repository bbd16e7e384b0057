"""The one compiled part: the injection classifier's window scoring (see model.py).

Everything else is in pyproject.toml. The extension is optional: without a C compiler the
package installs and scores with the pure-Python path, to the same results, more slowly.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tutela.injection._windows",
            sources=["src/tutela/injection/_windows.c"],
            # Sums must round as Python's do: no fused or reordered floating point.
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        )
    ]
)
