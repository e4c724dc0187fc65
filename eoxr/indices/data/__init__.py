"""Vendored Awesome Spectral Indices catalog (see README.md and LICENSE.txt)."""
