"""The dask layer: the only package of eoxr that imports dask (besides :mod:`eoxr.testing`).

Topic modules hand a numpy kernel to one of these helpers and get back a result that is lazy
when the input is dask-backed and eager when it is numpy-backed, and that does not depend on the
chunking. Import the module you need (``from eoxr._dask import overlap``, ``from
eoxr._dask.stats import compute``); nothing is re-exported here.

- :mod:`~eoxr._dask.chunking`: is it dask, whole dims, default tiles, matching chunks;
- :mod:`~eoxr._dask.overlap`: neighbourhood kernels with a halo (``map_overlap``), edge padding,
  windows at sampled pixels;
- :mod:`~eoxr._dask.blockwise`: pixel-local kernels, several inputs or outputs in one task;
- :mod:`~eoxr._dask.patches`: stride-aligned chunks, trailing halos and overlap-add;
- :mod:`~eoxr._dask.stats`: one-pass global statistics (``compute``), block sums, histograms;
- :mod:`~eoxr._dask.lazy`: shared graph keys, lazy calls on lazy statistics;
- :mod:`~eoxr._dask.store`: block-by-block writes in bounded memory (statistics first, stripes);
- :mod:`~eoxr._dask.progress`: progress bars and the active ``distributed`` client.
"""
