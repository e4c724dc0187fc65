"""Trained-model plumbing that several topics share, below them all.

- :mod:`eoxr.models.encoder`: :class:`~eoxr.models.encoder.Encoder`, a model with the
  preprocessing it was trained with, and the ``.json`` sidecar of an ONNX file;
- :mod:`eoxr.models.pipeline`: an encoder's ordered per-patch preprocessing (padded bands,
  scale, clip, normalization, resize as torch's ``interpolate``, crop), numpy only;
- :mod:`eoxr.models.onnx_runner`: ONNX Runtime sessions (one per model and device, cached);
- :mod:`eoxr.models.torch_runner`: torch models on a device, as batch-in numpy-out runners.

The topics build on it: :mod:`eoxr.ml` runs models in blended patches, :mod:`eoxr.embed` makes
encoders and embeddings, :mod:`eoxr.prep.csmask` runs the ukis-csmask cloud U-Nets. Nothing
heavy is imported here: torch and onnxruntime load with the module that needs them.
"""
