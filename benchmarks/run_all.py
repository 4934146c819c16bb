"""Regenerate every benchmark and the numbers of the book's "Performance" appendix.

    python benchmarks/run_all.py                 # everything (about 15 minutes on 2 quiet cores)
    python benchmarks/run_all.py --quick         # fewer repeats, no test-suite run (a few minutes)
    python benchmarks/run_all.py --only frames optim

Each part writes ``benchmarks/results/<part>.json``; rebuild the book afterwards
(``jupyter-book build .``) and the appendix (``book/performance.md``) shows the new numbers.
Run it on a machine that is otherwise idle: the timings are wall-clock.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_frames  # noqa: E402
import bench_notebooks  # noqa: E402
import bench_optim  # noqa: E402
import bench_site  # noqa: E402
import bench_tests  # noqa: E402
import bench_time_to_accuracy  # noqa: E402

PARTS = {
    # part: (full arguments, --quick arguments)
    "notebooks": (bench_notebooks.main, [], ["--repeat", "1", "--skip-reader"]),
    "frames": (bench_frames.main, [], ["--fresh-sample", "30", "--repeat", "1"]),
    "optim": (bench_optim.main, [], ["--quick"]),
    "site": (bench_site.main, [], ["--moves", "1"]),
    "time_to_accuracy": (bench_time_to_accuracy.main, [], ["--repeat", "1"]),
    "tests": (bench_tests.main, [], None),  # None: left out of --quick
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats; skips the test-suite run")
    parser.add_argument("--only", nargs="+", choices=sorted(PARTS), help="run only these parts")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here instead")
    args = parser.parse_args(argv)
    parts = args.only or list(PARTS)
    for name in parts:
        run, full, quick = PARTS[name]
        if args.quick and quick is None and not args.only:
            print(f"\n=== {name}: skipped by --quick (run it with --only {name})")
            continue
        arguments = list(quick if args.quick and quick is not None else full)
        if args.out:
            arguments += ["--out", str(args.out)]
        print(f"\n=== {name} ===", flush=True)
        run(arguments)
    print("\nNow rebuild the book (jupyter-book build .) to see the numbers in the Performance appendix.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
