"""Command line: ``eoxr demo`` (also ``python -m eoxr demo``), ``eoxr batch`` and ``eoxr info``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``eoxr`` console script."""
    parser = argparse.ArgumentParser(
        prog="eoxr", description="Earth-observation workbench on xarray."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the end-to-end workflow on the built-in data")
    demo.add_argument("--out", default="eoxr-output", help="output folder (default ./eoxr-output)")
    demo.add_argument("--only", nargs="*", help="run only these steps")
    sub.add_parser("info", help="version, built-in data and denoising methods")
    batch = sub.add_parser(
        "batch",
        help="run a parametrised notebook once per parameter set (papermill), on one cluster",
    )
    batch.add_argument("notebook", help="notebook with a cell tagged `parameters`")
    batch.add_argument(
        "--params", required=True, help="YAML: a list of runs or a mapping of run names to runs"
    )
    batch.add_argument(
        "--out",
        required=True,
        help="folder or object-store URL (s3://bucket/prefix) for executed notebooks and summary",
    )
    batch.add_argument(
        "--scheduler", help="scheduler address (default $DASK_SCHEDULER_ADDRESS, else local)"
    )
    batch.add_argument("--workers", type=int, help="workers of the local cluster")
    batch.add_argument("--timeout", type=float, default=3600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    if args.command == "batch":
        return _batch(args)
    if args.command == "demo":
        from .demo import STEPS, require_demo_dependencies, run_demo

        unknown = set(args.only or ()) - {s for s, _ in STEPS}
        if unknown:
            parser.error(f"unknown steps {sorted(unknown)}; available: {[s for s, _ in STEPS]}")
        try:
            require_demo_dependencies()
        except ImportError as err:  # say which extra to install, without a traceback
            print(f"eoxr demo: {err}", file=sys.stderr)
            return 1
        run_demo(args.out, steps=args.only)
    else:
        import eoxr
        from eoxr import datasets

        print(f"eoxr {eoxr.__version__}")
        for k, v in datasets.list_datasets().items():
            print(f"  {k}: {v}")
        print(eoxr.denoise_methods().to_string(index=False))
    return 0


def _batch(args: argparse.Namespace) -> int:
    """``eoxr batch``: 0 when every run succeeded, 1 when one failed, 2 for unusable input."""
    from .batch import batch
    from .errors import ClusterError, ParameterError, WriteError

    try:
        table = batch(
            args.notebook,
            args.params,
            args.out,
            scheduler=args.scheduler,
            n_workers=args.workers,
            timeout=args.timeout,
        )
    except (ParameterError, ClusterError, WriteError, ImportError) as err:
        print(f"eoxr batch: {err}", file=sys.stderr)
        return 2
    return int((table.status != "ok").any())


if __name__ == "__main__":
    sys.exit(main())
