"""Hypothesis strategies for dask chunkings (needs the ``hypothesis`` test dependency)."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import strategies as st


@st.composite
def chunk_sizes(draw: st.DrawFn, n: int, min_size: int = 1) -> tuple[int, ...]:
    """Irregular chunk sizes that add up to ``n``."""
    sizes = []
    left = n
    while left > 0:
        s = draw(st.integers(min_value=min(min_size, left), max_value=left))
        sizes.append(s)
        left -= s
    return tuple(sizes)


@st.composite
def chunkings(draw: st.DrawFn, sizes: Mapping[str, int], min_size: int = 1) -> dict:
    """A chunking (dim -> tuple of chunk sizes) for a cube of the given ``sizes``."""
    return {d: draw(chunk_sizes(n, min_size)) for d, n in sizes.items()}
