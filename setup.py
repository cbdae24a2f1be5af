"""Build hook for the optional compiled fold (rules/_fold.c); metadata is in pyproject.toml.

``optional=True``: where no C compiler is at hand the install still succeeds, and
rules.normalize folds in pure Python (same results, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("rules._fold", ["rules/_fold.c"], optional=True, extra_compile_args=["-O2"])
    ]
)
