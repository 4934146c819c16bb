"""Wall-clock time of the whole test suite (``pytest``, as the README runs it).

Runs ``pytest -q`` from the repository root once (``--repeat`` for more) and records the time,
the exit status and pytest's summary line. The suite builds the book itself (once per session),
so this includes one build. ``.ci/run`` is these two steps plus ``pip install``; ``--ci`` times
``.ci/run`` itself instead (only on a machine of its own: it installs the requirements and
the package into the running Python). Target for ``.ci/run``: under 20 minutes.

    python benchmarks/bench_tests.py
    python benchmarks/bench_tests.py --ci
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

CI_TARGET_S = 20 * 60


def run(command) -> dict:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=report.ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = [line for line in result.stdout.strip().splitlines() if line.strip()]
    return {"command": " ".join(command), "seconds": seconds, "returncode": result.returncode,
            "summary": lines[-1].strip("= ") if lines else result.stderr.strip()[-300:],
            "failed": [line for line in lines if line.startswith(("FAILED", "ERROR"))]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--ci", action="store_true", help="time .ci/run instead of pytest")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    command = ["bash", ".ci/run"] if args.ci else [sys.executable, "-m", "pytest", "-q"]
    runs = []
    for i in range(args.repeat):
        print(f"{' '.join(command)} (run {i + 1}/{args.repeat}) ...", flush=True)
        runs.append(run(command))
        print(f"  {runs[-1]['seconds']:.0f} s, exit status {runs[-1]['returncode']}: {runs[-1]['summary']}")
        for line in runs[-1]["failed"]:
            print(f"  {line}")
    seconds = report.median([r["seconds"] for r in runs])
    data = {"what": ".ci/run" if args.ci else "pytest", "runs": runs, "median_s": seconds,
            "ci_target_s": CI_TARGET_S, "passed": all(r["returncode"] == 0 for r in runs)}
    report.write("tests", data, args.out)
    return data


if __name__ == "__main__":
    main()
