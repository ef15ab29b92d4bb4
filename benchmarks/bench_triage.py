"""`unguarded-workers triage` on a large log: throughput and peak memory, against reading it.

A log of service lines with a worker failure every `--every` lines (threads dying, tasks never
retrieved, install() records, a few hundred distinct failures) is written once to a temporary
directory, in each format: plain text; JSON lines (python-json-logger's records, the thread's
traceback as Python printed it, as with a JSON formatter on the logging handler); a container
runtime's per-line prefix (CRI: `TIME stderr F LINE`). Then, interleaved and repeated, a
Python process that only iterates over the log's lines (the floor for any line-by-line reader
in Python, start-up included) and `triage` on it with this checkout's tests/programs as the
root. Prints MB/s, the ratio of wall times, and triage's peak memory for the log and for a log
4x as long (bounded memory: about the same).

    python benchmarks/bench_triage.py [--lines N] [--every N] [--repeats N] [--formats plain,json,cri]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "programs"

THREAD = """Exception in thread Thread-{n} (poll_queue):
Traceback (most recent call last):
  File "/usr/lib/python3.12/threading.py", line 1073, in _bootstrap_inner
    self.run()
  File "/usr/lib/python3.12/threading.py", line 1010, in run
    self._target(*self._args, **self._kwargs)
  File "/srv/app/workers.py", line 30, in poll_queue
    Handler().process("order-{n}")
  File "/srv/app/workers.py", line {line}, in process
    raise KeyError(item)
KeyError: 'order-{n}'
"""
TASK = (
    "2026-11-30 12:00:00,000 ERROR [asyncio] Task exception was never retrieved\n"
    "future: <Task finished name='Task-{n}' coro=<consume() done, defined at /srv/app/workers.py:38> "
    "exception=RuntimeError('lost')>\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app/workers.py", line 40, in consume\n'
    '    raise RuntimeError(f"lost {{queue_name}}")\n'
    "RuntimeError: lost orders-{n}\n"
)
RECORD = (
    "2026-11-30 12:00:00,000 ERROR [unguarded_workers] worker __main__.resize failed in thread 'pool_0' "
    "(spawned at /srv/app/workers.py:90 in future_discarded): OSError: cannot read {n}; its future was "
    "discarded without its result being read\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app/workers.py", line 44, in resize\n'
    '    raise OSError(f"cannot read {{path}}")\n'
    "OSError: cannot read {n}\n"
)


def _plain(text: str) -> str:
    return text


def _json(text: str) -> str:
    """python-json-logger's records: a message and its traceback in `exc_info` (a record's first
    line and the rest); a dead thread's traceback stays text, as threading's hook prints it."""
    if text.startswith("Exception in thread"):
        return text
    lines = text.splitlines()
    first = lines[0].partition("] ")[2] or lines[0]
    split = next((i for i, line in enumerate(lines) if line.startswith("Traceback")), len(lines))
    record = {"asctime": "2026-11-30 12:00:00,000", "levelname": "INFO", "name": "app", "message": first}
    if split < len(lines):
        record["levelname"] = "ERROR"
        record["message"] = "\n".join([first, *lines[1:split]])
        record["exc_info"] = "\n".join(lines[split:])
    return json.dumps(record) + "\n"


def _cri(text: str) -> str:
    return "".join(f"2026-11-30T12:00:00.{n:09d}Z stderr F {line}\n" for n, line in enumerate(text.splitlines()))


FORMATS = {"plain": _plain, "json": _json, "cri": _cri}


def write_log(path: Path, lines: int, every: int, form: str = "plain") -> int:
    wrap = FORMATS[form]
    written = 0
    with path.open("w") as log:
        n = 0
        while written < lines:
            for _ in range(every):
                log.write(wrap(f"2026-11-30 12:00:00,000 INFO [app] request {written} served in 3 ms\n"))
                written += 1
            n += 1
            block = (THREAD, TASK, RECORD)[n % 3].format(n=n, line=20 + n % 300)
            log.write(wrap(block))
            written += block.count("\n")
    return path.stat().st_size


def run(command: list[str]) -> float:
    """Wall time."""
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def peak_rss(command: list[str]) -> int:
    """Peak RSS (KiB) of one run, in a fresh interpreter measuring its own child."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True)
    return int(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=50, help="service lines between two failures")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", default="plain,json,cri", help="of: " + ", ".join(FORMATS))
    args = parser.parse_args()
    print(f"log: {args.lines:,} lines, a failure every {args.every} lines; best of {args.repeats}")
    for form in args.formats.split(","):
        measure(form, args)


def measure(form: str, args: argparse.Namespace) -> None:
    reading = [sys.executable, "-c", "import sys\nfor line in open(sys.argv[1], 'rb'): pass"]
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp, "service.log"), Path(tmp, "service-4x.log")
        size = write_log(small, args.lines, args.every, form)
        write_log(large, 4 * args.lines, args.every, form)
        triage = [sys.executable, "-m", "unguarded_workers", "triage", "--root", str(PROGRAMS)]
        best_triage = best_reading = float("inf")
        for _ in range(args.repeats):
            best_triage = min(best_triage, run([*triage, str(small)]))
            best_reading = min(best_reading, run([*reading, str(small)]))
        rss_small, rss_large = peak_rss([*triage, str(small)]), peak_rss([*triage, str(large)])
    megabytes = size / 1e6
    print(f"{form}: {megabytes:.0f} MB")
    print(f"  triage              {best_triage:7.2f} s   {megabytes / best_triage:7.1f} MB/s")
    print(f"  reading the lines   {best_reading:7.2f} s   {megabytes / best_reading:7.1f} MB/s")
    print(f"  triage / reading: {best_triage / best_reading:.1f}x wall")
    print(
        f"  peak memory: {rss_small / 1024:.0f} MB for the log, {rss_large / 1024:.0f} MB for 4x the log "
        f"({rss_large / rss_small:.2f}x: bounded when about 1x)"
    )


if __name__ == "__main__":
    main()
