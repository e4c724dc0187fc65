"""Import time of ``import eoxr`` against ``import xarray, dask.array``, measured in one run.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python benchmarks/import_time.py``
(``--repeats 30`` by default; ``--small`` for 6). Each import runs in a fresh interpreter
(``python -c``) and the statements take turns, round after round, so a busy machine slows them
alike. The interpreter's own start-up (``python -c pass``, measured the same way) is subtracted;
the ratio reported is the median over rounds of each round's ratio (robust on a shared machine),
next to the medians of the times. ``--importtime`` also prints the ten
slowest modules that ``import eoxr`` adds, from ``python -X importtime``.

Target: ``import eoxr`` <= 1.25x ``import xarray, dask.array``. Measured twice: in this venv,
and as a user's install has it, without boto3 (installed here only by eoxr's ``test`` extra, for
moto; rasterio imports it when present, ~0.12 s of botocore, urllib3 and s3transfer).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

STATEMENTS = {
    "python": "pass",
    "xarray+dask.array": "import xarray, dask.array",
    "eoxr": "import eoxr",
    # as a user's install has it: boto3 comes only with eoxr's test extra (moto), and rasterio,
    # which rioxarray imports, imports boto3 whenever it is installed (rasterio.session); a
    # None entry in sys.modules makes that import fail as it does when boto3 is absent
    "eoxr without boto3": "import sys; sys.modules['boto3'] = None; import eoxr",
}


def once(statement: str) -> float:
    """Wall seconds of one fresh interpreter running ``statement``."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, env=os.environ.copy())
    return time.perf_counter() - t0


def measure(repeats: int) -> dict[str, list[float]]:
    """Wall seconds per statement and round, the statements interleaved round by round."""
    for statement in STATEMENTS.values():  # warm the file cache once
        once(statement)
    times: dict[str, list[float]] = {k: [] for k in STATEMENTS}
    for _ in range(repeats):
        for key, statement in STATEMENTS.items():
            times[key].append(once(statement))
    return times


def slowest_added(n: int = 10) -> list[tuple[int, str]]:
    """(us, package) of the packages ``import eoxr`` adds to the baseline, by own import time.

    Own ("self") times of the added modules are summed per top-level package: cumulative times
    would charge a package with baseline modules it happens to import first.
    """

    def table(statement: str) -> dict[str, int]:
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", statement],
            check=True,
            capture_output=True,
            text=True,
        ).stderr
        out = {}
        for line in err.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                out[parts[2].strip()] = int(parts[0].split(":")[1])
        return out

    base = table(STATEMENTS["xarray+dask.array"])
    ours = table(STATEMENTS["eoxr"])
    per_package: dict[str, int] = {}
    for mod, us in ours.items():
        if mod not in base:
            top = mod.split(".")[0]
            per_package[top] = per_package.get(top, 0) + us
    return sorted(((us, top) for top, us in per_package.items()), reverse=True)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--small", action="store_true", help="6 repeats")
    parser.add_argument("--importtime", action="store_true", help="list the slowest additions")
    args = parser.parse_args()
    repeats = 6 if args.small else args.repeats
    times = measure(repeats)
    med = {k: statistics.median(v) for k, v in times.items()}
    start = med["python"]

    def ratio(key: str) -> float:
        rounds = zip(times[key], times["xarray+dask.array"], times["python"], strict=True)
        return statistics.median((e - p) / (b - p) for e, b, p in rounds)

    print(f"median of {repeats} fresh interpreters each, interpreter start-up {start:.3f} s:")
    print(f"  import xarray, dask.array  {med['xarray+dask.array'] - start:.3f} s")
    print(f"  import eoxr                {med['eoxr'] - start:.3f} s")
    print(f"  ratio (median per round)   {ratio('eoxr'):.2f}x (target <= 1.25x)")
    print("as installed without eoxr's test extra (no boto3, which rasterio imports if present):")
    print(f"  import eoxr                {med['eoxr without boto3'] - start:.3f} s")
    print(f"  ratio (median per round)   {ratio('eoxr without boto3'):.2f}x (target <= 1.25x)")
    if args.importtime:
        print("packages import eoxr adds, own import time of their modules (us, one run):")
        for us, mod in slowest_added():
            print(f"  {us:>9}  {mod}")


if __name__ == "__main__":
    main()
