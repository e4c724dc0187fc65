"""ONNX backend of the models the topics run: a picklable runner, one session per process.

An ``onnxruntime.InferenceSession`` cannot be pickled, so what travels to dask workers is the
model *file* (its path, or the model bytes when the session was built from bytes), as one graph
key; each worker process opens the session on first use and keeps it in a module-level cache
keyed by path + modification time (or by the bytes' hash). onnxruntime is imported lazily.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError, ReadError

_SESSIONS: dict[tuple, Any] = {}
_LOCK = threading.Lock()
_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}


def is_onnx(model: Any) -> bool:
    """True for an ``onnxruntime.InferenceSession`` or a path (str / PathLike) to a model file."""
    if isinstance(model, str | os.PathLike):
        return True
    return any(
        c.__name__ == "InferenceSession" and c.__module__.startswith("onnxruntime")
        for c in type(model).__mro__
    )


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "ONNX models need onnxruntime: `pip install onnxruntime` (or `eoxr[onnx]`)."
        ) from err
    return onnxruntime


def providers_for(device: str | None) -> tuple:
    """Execution providers of onnxruntime for ``device=`` (CUDA first when asked).

    ``None`` picks CUDA when onnxruntime has it, else the CPU.
    """
    available = _ort().get_available_providers()
    cuda = "CUDAExecutionProvider" in available
    if device is None:
        device = "cuda" if cuda else "cpu"
    name, _, index = str(device).partition(":")
    if name == "cpu":
        return ("CPUExecutionProvider",)
    if name == "cuda":
        if not cuda:
            raise ParameterError(
                f"device={device!r}: this onnxruntime has no CUDA provider (it has "
                f"{available}); install onnxruntime-gpu or use device='cpu'."
            )
        return (("CUDAExecutionProvider", {"device_id": int(index or 0)}), "CPUExecutionProvider")
    raise ParameterError(f"device={device!r}: expected None, 'cpu', 'cuda' or 'cuda:N'.")


def _open(key: tuple, source: str | bytes, providers: tuple) -> Any:
    """The process-wide session for ``key``; opened once per process (thread-safe)."""
    cache_key = (key, providers)
    with _LOCK:
        session = _SESSIONS.get(cache_key)
        if session is None:
            try:
                session = _ort().InferenceSession(source, providers=list(providers))
            except Exception as err:
                what = source if isinstance(source, str) else f"{len(source)} model bytes"
                raise ReadError(
                    f"onnxruntime cannot load the ONNX model {what}: {type(err).__name__}: "
                    f"{err}. Check that it is an ONNX model file (.onnx)."
                ) from err
            _SESSIONS[cache_key] = session
    return session


class OnnxRunner:
    """An ONNX model as a runner of :mod:`eoxr.ml._kernels` (NCHW batch in, numpy out).

    Pickles to its source (path or bytes) and providers only; the session is re-opened (once per
    process) where it is unpickled.
    """

    def __init__(self, source: str | bytes, providers: tuple, session: Any = None) -> None:
        self.source = source
        self.providers = tuple(providers)
        if isinstance(source, str):
            st = os.stat(source)
            self.key: tuple = ("path", source, st.st_mtime_ns, st.st_size)
        else:
            self.key = ("bytes", hashlib.sha256(source).hexdigest())
        self._session = session

    @classmethod
    def from_model(cls, model: Any, device: str | None) -> OnnxRunner:
        """A runner from a path or an open session (re-used in this process)."""
        if isinstance(model, str | os.PathLike):
            path = Path(model).expanduser().resolve()
            if not path.is_file():
                raise ReadError(
                    f"ONNX model file {str(model)!r} does not exist (resolved to {path}): pass "
                    "the path of an existing .onnx file or an onnxruntime.InferenceSession."
                )
            return cls(str(path), providers_for(device))
        providers = providers_for(device) if device is not None else tuple(model.get_providers())
        path = getattr(model, "_model_path", None)
        if path and Path(path).is_file():
            source: str | bytes = str(Path(path).resolve())
        else:
            source = getattr(model, "_model_bytes", None)
            if not source:
                raise ParameterError(
                    "cannot tell the file or bytes this InferenceSession was built from, so it "
                    "cannot be sent to dask workers: pass the path of the .onnx file instead."
                )
        runner = cls(source, providers)
        if device is None:  # the caller's own session serves this process
            _SESSIONS.setdefault((runner.key, runner.providers), model)
        return runner

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_session"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _session=None)

    def __dask_tokenize__(self) -> tuple:
        return ("eoxr.ml.OnnxRunner", self.key, self.providers)

    @property
    def session(self) -> Any:
        """The session of this process (opened on first use)."""
        if self._session is None:
            self._session = _open(self.key, self.source, self.providers)
        return self._session

    @property
    def _input(self) -> Any:
        return self.session.get_inputs()[0]

    @property
    def channels(self) -> int | None:
        """Input channels (``None`` when the model's channel dim is dynamic)."""
        shape = self._input.shape
        return shape[1] if len(shape) == 4 and isinstance(shape[1], int) else None

    def fixed_patch(self) -> tuple[int, int] | None:
        """``(H, W)`` when the model's input has fixed spatial dims."""
        shape = self._input.shape
        if len(shape) != 4:
            raise ParameterError(
                f"the ONNX model's input {self._input.name!r} has shape {shape}; expected 4 "
                "dims (N, C, H, W)."
            )
        h, w = shape[2:]
        return (h, w) if isinstance(h, int) and isinstance(w, int) else None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run the model on an ``(N, C, H, W)`` batch; numpy out."""
        inp = self._input
        dtype = _DTYPES.get(inp.type)
        if dtype is None:
            raise ParameterError(
                f"the ONNX model's input {inp.name!r} is {inp.type}; only float inputs are "
                "supported."
            )
        x = np.ascontiguousarray(batch, dtype=dtype)
        step = inp.shape[0] if isinstance(inp.shape[0], int) else len(x)
        outs = []
        for start in range(0, len(x), max(step, 1)):
            part = x[start : start + step]
            n = len(part)
            if n < step:  # a model with a fixed batch size: pad the last batch with zeros
                part = np.concatenate([part, np.zeros((step - n, *part.shape[1:]), dtype)])
            outs.append(self.session.run(None, {inp.name: part})[0][:n])
        out = outs[0] if len(outs) == 1 else np.concatenate(outs)
        out = np.ascontiguousarray(out, dtype=np.float32)
        # the kernels weigh predictions in place: they need an array of their own
        return out if out.flags.writeable else out.copy()
