"""Run the incident: start the service under uvicorn, send it requests, say what came back.

    python examples/incident/run.py MODE [--requests 400] [--concurrency 32] [--timeout 2]

MODE is bare, wrap, install or deliver (see service.py). The service runs in a uvicorn
subprocess on 127.0.0.1, on a port the system picks, its output going to a log file
(`incident-MODE.log`, or --log). Then REQUESTS requests go to /quote and /basket in turn, one in
BAD_EVERY of each with an item the catalog does not have, CONCURRENCY at a time, each given up
after TIMEOUT seconds; the health check is asked before and after. The server is stopped
(SIGTERM, then SIGKILL) whatever happens: every wait here is bounded.

Each endpoint's line counts the requests `sent`, of which `bad`; `right`: a good request
answered 200 with the right total; `5xx`: a bad request answered with an error, the honest
answer to a failed worker; `wrong`: any other answer (a bad request answered 200, with a total
that leaves the unknown item out); `timeout`: no answer within TIMEOUT (or no connection);
`slowest`: the slowest answer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import catalog

HERE = Path(__file__).resolve().parent
MODES = ("bare", "wrap", "install", "deliver")
ENDPOINTS = ("/quote", "/basket")
RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@dataclass(frozen=True)
class Request:
    path: str
    items: list[str]

    @property
    def bad(self) -> bool:
        return catalog.UNKNOWN in self.items

    @property
    def url(self) -> str:
        return f"{self.path}?items={','.join(self.items)}"

    def expected_total(self) -> int:
        return sum(catalog.PRICES[item] for item in self.items)


@dataclass
class Tally:
    """What came back from one endpoint."""

    sent: int = 0
    bad: int = 0  # of them, with an unknown item
    right: int = 0
    wrong: int = 0  # 200 with a wrong total: a failure turned into a wrong answer
    errors: int = 0  # 5xx: the answer a bad request should get
    timeouts: int = 0
    refused: int = 0  # the connection failed: the server is down
    slowest: float = 0.0  # seconds, of the answered requests
    statuses: dict[str, int] = field(default_factory=dict)  # of the answers: {"200": 48, "503": 16}


def plan(count: int, bad_every: int, seed: int = 18) -> list[Request]:
    """COUNT requests, the two endpoints in turn; one in BAD_EVERY of each endpoint's is bad."""
    rng = random.Random(seed)
    known = sorted(catalog.PRICES)
    requests = []
    for number in range(count):
        items = rng.sample(known, rng.randint(1, 4))
        if bad_every and (number // len(ENDPOINTS)) % bad_every == bad_every - 1:
            items.insert(rng.randint(0, len(items)), catalog.UNKNOWN)
        requests.append(Request(ENDPOINTS[number % len(ENDPOINTS)], items))
    return requests


def get(port: int, url: str, timeout: float) -> tuple[int, dict[str, Any]]:
    """GET url: (status, JSON body); socket timeouts bound the connect and every read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", url)
        response = connection.getresponse()
        body = response.read()
        try:
            return response.status, json.loads(body)
        except ValueError:  # uvicorn's own 500 is text
            return response.status, {"text": body.decode(errors="replace")}
    finally:
        connection.close()


def send(port: int, request: Request, timeout: float) -> tuple[str, float, int | None]:
    """(outcome, seconds, status) of one request; outcome as a Tally counts it."""
    started = time.monotonic()
    try:
        status, body = get(port, request.url, timeout)
    except TimeoutError:  # socket.timeout is TimeoutError since 3.10
        return "timeouts", time.monotonic() - started, None
    except OSError:
        return "refused", time.monotonic() - started, None
    seconds = time.monotonic() - started
    if status >= 500:
        return ("errors" if request.bad else "wrong"), seconds, status
    if status == 200 and not request.bad and body.get("total") == request.expected_total():
        return "right", seconds, status
    return "wrong", seconds, status


def probe(port: int, timeout: float) -> str:
    """The health check's answer: "OK", or what went wrong."""
    try:
        status, _ = get(port, "/health", timeout)
    except TimeoutError:
        return f"NO ANSWER within {timeout:g} s"
    except OSError as error:
        return f"FAILED ({error})"
    return "OK" if status == 200 else f"FAILED (status {status})"


def load(port: int, requests: list[Request], concurrency: int, timeout: float) -> dict[str, Tally]:
    tallies = {path: Tally() for path in ENDPOINTS}
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        # map() reads every result: a request that raised would raise here, not vanish.
        outcomes = pool.map(lambda request: send(port, request, timeout), requests)
        for request, (outcome, seconds, status) in zip(requests, outcomes, strict=True):
            tally = tallies[request.path]
            tally.sent += 1
            tally.bad += request.bad
            setattr(tally, outcome, getattr(tally, outcome) + 1)
            if status is not None:
                tally.slowest = max(tally.slowest, seconds)
                tally.statuses[str(status)] = tally.statuses.get(str(status), 0) + 1
    return tallies


class Server:
    """uvicorn serving service:app in MODE, in a subprocess; its output goes to `log`."""

    def __init__(self, mode: str, threads: int, log: Path) -> None:
        self.log = log
        env = {**os.environ, "INCIDENT_MODE": mode, "INCIDENT_THREADS": str(threads)}
        command = [sys.executable, "-m", "uvicorn", "service:app", "--app-dir", str(HERE)]
        command += ["--host", "127.0.0.1", "--port", "0", "--no-access-log", "--timeout-graceful-shutdown", "2"]
        with log.open("wb") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)

    def port(self, timeout: float = 30) -> int:
        """The port uvicorn says it listens on, once it says it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = RUNNING.search(self.log.read_text(errors="replace"))
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise SystemExit(f"the server did not start; its log ({self.log}):\n{self.log.read_text(errors='replace')}")

    def stop(self, grace: float = 10) -> None:
        """SIGTERM (uvicorn's graceful shutdown, cut short after 2 s), SIGKILL after `grace`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def report(mode: str, args: argparse.Namespace, tallies: dict[str, Tally], health: dict[str, str]) -> str:
    lines = [
        f"mode {mode}: {args.requests} requests, 1 in {args.bad_every} with an unknown item, "
        f"{args.concurrency} at a time, {args.timeout:g} s timeout; {args.threads} threads for sync endpoints",
        f"  {'endpoint':<9}{'sent':>6}{'bad':>6}{'right':>7}{'wrong':>7}{'5xx':>6}{'timeout':>9}{'slowest':>9}",
    ]
    for path, t in tallies.items():
        lines.append(
            f"  {path:<9}{t.sent:>6}{t.bad:>6}{t.right:>7}{t.wrong:>7}{t.errors:>6}{t.timeouts + t.refused:>9}"
            f"{t.slowest:>8.2f}s"
        )
    lines.append(f"  health check: {health['before']} before the load, {health['after']} after it")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds a request may take (default: 2)")
    parser.add_argument("--bad-every", type=int, default=4, help="one request in N is bad (default: 4)")
    parser.add_argument("--threads", type=int, default=8, help="the thread pool of sync endpoints (default: 8)")
    parser.add_argument("--log", type=Path, help="the server's log (default: incident-MODE.log)")
    parser.add_argument("--json", type=Path, help="also write the summary as JSON to this file")
    args = parser.parse_args()
    log = args.log or Path(f"incident-{args.mode}.log")
    started = time.monotonic()
    server = Server(args.mode, args.threads, log)
    try:
        port = server.port()
        health = {"before": probe(port, args.timeout)}
        tallies = load(port, plan(args.requests, args.bad_every), args.concurrency, args.timeout)
        health["after"] = probe(port, args.timeout)
    finally:
        server.stop()
    elapsed = time.monotonic() - started
    print(report(args.mode, args, tallies, health))
    print(f"  took {elapsed:.1f} s; the server's log: {log}", flush=True)
    if args.json:
        summary = {"mode": args.mode, "health": health, "elapsed": elapsed, "log": str(log)}
        summary["endpoints"] = {path: asdict(tally) for path, tally in tallies.items()}
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
