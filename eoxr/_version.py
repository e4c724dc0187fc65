"""The version of eoxr, in one place: read by ``eoxr.__version__``, ``_attrs`` and pyproject."""

__version__ = "0.1.0"
