"""Remote rasters: what GDAL opens for a URL, and the GDAL options eoxr reads it with.

``http(s)://``, ``s3://``, ``gs://`` and ``az://`` URLs are read through GDAL's virtual file
systems (``/vsicurl/``, ``/vsis3/``, ``/vsigs/``, ``/vsiaz/``), with range requests: a window of a
tiled COG transfers about its share of the file. Credentials and endpoints come only from the
standard places: the ``AWS_*`` / ``GS_*`` / ``AZURE_*`` environment variables GDAL reads, and
``AWS_ENDPOINT_URL`` (turned into GDAL's ``AWS_S3_ENDPOINT``). eoxr adds only the GDAL options that
odc-stac's ``configure_rio`` sets for cloud reads (:data:`GDAL_OPTIONS`); a variable of the same
name in the environment wins.

The options must hold where the pixels are read, which for a lazy cube is a Dask worker at
compute time: :class:`RemoteRaster` enters them (and signs the URL, for ``sign=``) at every read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import PurePath, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from xarray.backends import BackendArray
from xarray.core import indexing

from ..errors import ReadError

__all__ = [
    "SCHEMES",
    "GDAL_OPTIONS",
    "is_url",
    "url_path",
    "gdal_path",
    "gdal_options",
    "open_error",
    "worker_error",
    "RemoteRaster",
]

#: URL schemes read remotely, and GDAL's virtual file system for each.
SCHEMES = {
    "http": "/vsicurl/",
    "https": "/vsicurl/",
    "s3": "/vsis3/",
    "gs": "/vsigs/",
    "az": "/vsiaz/",
}

#: GDAL options for reading remote files (odc-stac's cloud defaults, plus range merging and
#: GDAL's block cache for the header and tiles read again). The environment overrides each.
GDAL_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no listing of the "folder" at every open
    "GDAL_HTTP_MULTIRANGE": "YES",  # the tiles of one read in parallel range requests
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",  # adjacent tiles in one request
    "VSI_CACHE": "TRUE",
    "GDAL_HTTP_MAX_RETRY": "5",  # transient 429/5xx from object stores and CDNs
    "GDAL_HTTP_RETRY_DELAY": "0.5",  # seconds, doubled at each retry by GDAL
}

Signer = Callable[[str], str]


def is_url(path: Any) -> bool:
    """Whether ``path`` is a URL eoxr reads remotely (``http(s)``, ``s3``, ``gs``, ``az``).

    Examples
    --------
    >>> is_url("s3://bucket/x.tif"), is_url("/data/x.tif")
    (True, False)
    """
    return isinstance(path, str) and urlsplit(path).scheme.lower() in SCHEMES


def url_path(url: str) -> PurePath:
    """The path part of a URL, for names: ``https://h/a/T33_B04.tif?sig=..`` -> ``/a/T33_B04.tif``.

    Examples
    --------
    >>> url_path("https://host/a/T33UUU_20170216T102101_B04.tif?token=1").name
    'T33UUU_20170216T102101_B04.tif'
    """
    return PurePosixPath(urlsplit(url).path)


def gdal_path(url: str) -> str:
    """The GDAL virtual file system path of a URL.

    Examples
    --------
    >>> gdal_path("s3://bucket/a/x.tif")
    '/vsis3/bucket/a/x.tif'
    >>> gdal_path("https://host/x.tif?token=1")
    '/vsicurl/https://host/x.tif?token=1'
    """
    parts = urlsplit(url)
    vsi = SCHEMES[parts.scheme.lower()]
    if vsi == "/vsicurl/":
        return vsi + url
    return f"{vsi}{parts.netloc}{parts.path}"


def _s3_endpoint(env: Any) -> dict[str, str]:
    """GDAL's S3 endpoint options from the standard ``AWS_ENDPOINT_URL(_S3)`` variable."""
    url = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if not url or "AWS_S3_ENDPOINT" in env:
        return {}
    parts = urlsplit(url if "://" in url else "https://" + url)
    out = {"AWS_S3_ENDPOINT": parts.netloc + parts.path.rstrip("/")}
    if parts.scheme == "http" and "AWS_HTTPS" not in env:
        out["AWS_HTTPS"] = "NO"
    if "AWS_VIRTUAL_HOSTING" not in env:
        out["AWS_VIRTUAL_HOSTING"] = "FALSE"  # custom endpoints (MinIO, moto...) are path-style
    return out


def gdal_options(base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The GDAL configuration eoxr reads remote files with, in this process.

    ``base`` (e.g. odc-stac's captured rasterio environment) updated with :data:`GDAL_OPTIONS`,
    less the options set as environment variables (the user's setting wins), plus GDAL's S3
    endpoint options derived from ``AWS_ENDPOINT_URL`` where that is set. Computed where the
    read runs, so a worker's own environment counts.

    Parameters
    ----------
    base : dict, optional
        Options to start from.

    Returns
    -------
    dict
        GDAL configuration options for ``rasterio.Env(**options)``.

    Examples
    --------
    >>> gdal_options()["GDAL_DISABLE_READDIR_ON_OPEN"]
    'EMPTY_DIR'
    """
    env = os.environ
    out = {k: v for k, v in {**(base or {}), **GDAL_OPTIONS}.items() if k not in env}
    out.update(_s3_endpoint(env))
    return out


def _reason(err: BaseException) -> str:
    """GDAL's message with the ones rasterio chains below "Read failed. See previous..."."""
    seen: list[str] = []
    while err is not None and len(seen) < 5:
        text = str(err).strip()
        if text and text not in seen:
            seen.append(text)
        ctx = err.__context__
        err = err.__cause__ or (ctx if type(ctx).__module__.startswith("rasterio") else None)
    return "; ".join(seen)


def _status(reason: str) -> int | None:
    m = re.search(r"HTTP (?:response|error) code:?\s*(\d+)", reason)
    if m:
        return int(m.group(1))
    if "specified key does not exist" in reason or "does not exist in the file system" in reason:
        return 404  # GDAL's /vsis3/ (NoSuchKey) and /vsi*/ wording
    if "Access Denied" in reason or "AccessDenied" in reason:
        return 403
    return None


def _probe(url: str) -> int | None:
    """The HTTP status of a one-byte read of an http(s) URL (GDAL's read errors omit it)."""
    import urllib.error
    import urllib.request

    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    try:
        req = urllib.request.Request(url, headers={"Range": "bytes=0-0"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return None


def open_error(
    url: str, err: Exception, what: str = "open", signed: str | None = None
) -> ReadError:
    """A :class:`ReadError` naming the URL (GDAL's own message does not), with a likely fix.

    ``signed``: the URL actually requested (with its signature), probed for the HTTP status
    when GDAL's message does not tell it; the message names only ``url``.
    """
    reason = _reason(err)
    status = _status(reason) or _probe(signed or url)
    if status == 404:
        return ReadError(
            f"no file at {url!r} (the server answered 404 Not Found): check the URL, e.g. "
            "the asset href of the STAC item."
        )
    if status in (401, 403):
        return ReadError(
            f"access to {url!r} was refused (HTTP {status}): set the credentials in the standard "
            "environment variables (AWS_*, GS_*, AZURE_*), or pass sign= to sign the URL at "
            "read time if it holds an expiring token."
        )
    retries = os.environ.get("GDAL_HTTP_MAX_RETRY", GDAL_OPTIONS["GDAL_HTTP_MAX_RETRY"])
    return ReadError(
        f"cannot {what} {url!r} ({reason}), also after GDAL's retries "
        f"(GDAL_HTTP_MAX_RETRY={retries}); if the server is only slow or busy, raise "
        "GDAL_HTTP_MAX_RETRY / GDAL_HTTP_RETRY_DELAY in the environment and run again."
    )


def worker_error(url: str, err: Exception, signed: str | None = None) -> ReadError:
    """:func:`open_error` for a failed pixel read, to raise outside the ``except`` block.

    Raised there, it carries no chained rasterio error: those do not survive the trip from a
    Dask worker to the client (tblib cannot rebuild them), which would turn the ReadError into
    a bare ``Exception``. GDAL's messages are in its text instead.
    """
    return open_error(url, err, "read pixels of", signed)


class RemoteRaster(BackendArray):
    """The ``(band, y, x)`` pixels of one remote raster, read window by window on demand.

    Every read (on a Dask worker, at compute time) signs the URL with ``sign`` when given,
    enters :func:`gdal_options` and reads the window with rasterio, so the options and fresh
    signatures hold where the pixels are read, not only where the graph was built.

    Parameters
    ----------
    url : str
        The URL as given (unsigned); errors name it.
    shape, dtype
        Shape ``(band, y, x)`` and dtype of the raster, from opening it once.
    sign : callable, optional
        ``sign(url) -> url`` (e.g. ``planetary_computer.sign``), called at each read.
    overview_level : int, optional
        Read this overview of the file (0 is the first overview) instead of full resolution.
    options : dict, optional
        GDAL options over :func:`gdal_options` for this file (e.g. sidecar lookup for ENVI).
    """

    def __init__(
        self,
        url: str,
        shape: tuple[int, ...],
        dtype: Any,
        *,
        sign: Signer | None = None,
        overview_level: int | None = None,
        options: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.options = dict(options or {})
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.sign = sign
        self.overview_level = overview_level

    def __dask_tokenize__(self) -> tuple:
        return ("eoxr.RemoteRaster", self.url, self.shape, str(self.dtype), self.overview_level)

    def __getitem__(self, key: Any) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    def _read(self, key: tuple) -> np.ndarray:
        import rasterio
        from rasterio.windows import Window

        ranges = [range(n)[k] for k, n in zip(key, self.shape)]  # ints stay ints
        spans = [r if isinstance(r, range) else range(r, r + 1) for r in ranges]
        band, ys, xs = spans
        if not len(band) or not len(ys) or not len(xs):
            return np.zeros([len(s) for s in spans], self.dtype)[
                tuple(0 if isinstance(r, int) else slice(None) for r in ranges)
            ]
        y0, y1 = min(ys[0], ys[-1]), max(ys[0], ys[-1]) + 1
        x0, x1 = min(xs[0], xs[-1]), max(xs[0], xs[-1]) + 1
        indexes = [b + 1 for b in range(min(band[0], band[-1]), max(band[0], band[-1]) + 1)]
        kwargs = {"sharing": False}
        if self.overview_level is not None:
            kwargs["overview_level"] = self.overview_level
        url = self.url if self.sign is None else self.sign(self.url)
        failure = None
        try:
            with (
                rasterio.Env(**{**gdal_options(), **self.options}),
                rasterio.open(gdal_path(url), **kwargs) as src,
            ):
                data = src.read(indexes, window=Window(x0, y0, x1 - x0, y1 - y0))
        except rasterio.errors.RasterioError as err:
            failure = worker_error(self.url, err, url)
        if failure is not None:
            raise failure
        # steps (and reversed ranges) and integer keys, on the window read
        sel = tuple(
            slice(s.start - lo, (s.stop - lo) if s.stop >= lo else None, s.step)
            for s, lo in zip((band, ys, xs), (indexes[0] - 1, y0, x0))
        )
        data = data[sel]
        return data[tuple(0 if isinstance(r, int) else slice(None) for r in ranges)]
