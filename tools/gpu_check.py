"""The GPU run of the whole book; ``tools/gpu_check.sh`` sets up the Python and calls this.

On a machine with an NVIDIA GPU: runs the CUDA legs of the tests (every test that takes the
``device`` fixture, on ``cuda``), every chapter and solution notebook top to bottom in a fresh
kernel (as a reader runs it; nothing is written back), ``benchmarks/bench_optim.py`` and
``benchmarks/bench_time_to_accuracy.py`` (the case studies, CPU against GPU), then
writes ``benchmarks/results/gpu.json`` (GPU model, torch version, date, the tests' summary,
pass/fail and seconds per notebook) that the Performance appendix renders, and the optimizer
table to ``benchmarks/results/optim-gpu.json``.

    python tools/gpu_check.py                 # needs CUDA
    python tools/gpu_check.py --dry-run --out /tmp/gpu-dry   # rehearsal on a CPU-only machine
"""

import argparse
import json
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def cuda_tests(out: Path, dry_run: bool) -> dict:
    """pytest on the tests that run on a device, CUDA legs only (``-k cuda``)."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")
                   if "def device(" in p.read_text() or "device)" in p.read_text() or ", device" in p.read_text())
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
               "-k", "cpu" if dry_run else "cuda", f"--junitxml={out / 'cuda-tests.xml'}", *files]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in result.stdout.strip().splitlines() if line.strip()]
    (out / "cuda-tests.log").write_text(result.stdout + result.stderr)
    return {"command": " ".join(command[1:]), "returncode": result.returncode,
            "seconds": time.perf_counter() - start,
            "summary": lines[-1].strip("= ") if lines else result.stderr[-300:]}


def notebooks(out: Path) -> list[dict]:
    import bench_notebooks

    rows = []
    for path in bench_notebooks.notebooks():
        name = path.relative_to(ROOT).as_posix()
        print(f"  {name} ...", flush=True)
        start = time.perf_counter()
        try:
            bench_notebooks.run_once(path, static_frames=False, timeout=1800)
            passed, error = True, None
        except Exception as exc:  # a failing cell: record it and go on with the next notebook
            passed, error = False, "".join(traceback.format_exception_only(type(exc), exc))[-2000:]
        rows.append({"notebook": name, "passed": passed, "seconds": time.perf_counter() - start,
                     "error": error})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true",
                        help="run everything on the CPU (CPU legs of the tests), to rehearse the script")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--skip-notebooks", action="store_true")
    args = parser.parse_args(argv)
    import torch

    import report

    if not torch.cuda.is_available() and not args.dry_run:
        print("no CUDA device: this script is for a machine with an NVIDIA GPU (--dry-run rehearses it)")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
              "torch": torch.__version__, "cuda": torch.version.cuda, "date": report.now(),
              "commit": report.commit(), "dry_run": args.dry_run, "machine": report.machine()}
    print("CUDA legs of the tests ..." if not args.dry_run else "CPU legs of the tests (dry run) ...", flush=True)
    record["cuda_tests"] = cuda_tests(args.out, args.dry_run)
    print(f"  {record['cuda_tests']['summary']}")
    if not args.skip_notebooks:
        print("notebooks ...", flush=True)
        record["notebooks"] = notebooks(args.out)
    print("optimizer benchmark ...", flush=True)
    import bench_optim

    optim_dir = args.out / "optim-gpu"
    bench_optim.main(["--device", "cpu" if args.dry_run else "all", "--out", str(optim_dir)]
                     + (["--quick"] if args.dry_run else []))
    record["optim"] = json.loads((optim_dir / "optim.json").read_text())
    print("time to accuracy (the case studies) ...", flush=True)
    import bench_time_to_accuracy

    tta_dir = args.out / "time-to-accuracy-gpu"
    bench_time_to_accuracy.main(["--device", "cpu" if args.dry_run else "all", "--repeat", "1" if args.dry_run else "3",
                                 "--out", str(tta_dir)])
    record["time_to_accuracy"] = json.loads((tta_dir / "time_to_accuracy.json").read_text())
    record["passed"] = record["cuda_tests"]["returncode"] == 0 and all(
        row["passed"] for row in record.get("notebooks", []))
    name = "gpu-dry-run.json" if args.dry_run else "gpu.json"
    (args.out / name).write_text(json.dumps(record, indent=1) + "\n")
    print(f"\nreport: {args.out / name}  ({'PASSED' if record['passed'] else 'FAILED'})")
    return 0 if record["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
