"""The editor server: time from a change to its diagnostics, beside `check` on the same file.

In one run, through a real LSP client over stdio (pytest-lsp's), on a generated large
module (5,000 lines, two spawns every 10 lines: 1,000 reports) and a small one (40 lines):
the server is started once, each buffer is opened, then changed N times; each change's time
is from sending the change to receiving the diagnostics published for its version
(including the server's debounce, which follows the buffer's last check). `check` runs on
the same text saved to a file: in-process (its own time, the interpreter started and the
tool imported beforehand, as the server is) and as a command, the way a user or an editor
plugin calling it would.

Target: change -> diagnostics on the large module within 1.5x of `check`'s own in-process time.

    python benchmarks/bench_server.py [--changes N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

from unguarded_workers.server.app import DEBOUNCE_SECONDS, DEBOUNCE_SHARE, MIN_DEBOUNCE_SECONDS

BLOCK = """

def worker_{n}(queue):
    while True:
        item = queue.get()
        handle(item, {n})


threading.Thread(target=worker_{n}, args=(q,)).start()
executor.submit(worker_{n}, q)
"""


def module(lines: int) -> str:
    head = "import threading\nfrom concurrent.futures import ThreadPoolExecutor\n\nexecutor = ThreadPoolExecutor()\n"
    blocks, n = [head], 0
    while sum(block.count("\n") for block in blocks) < lines:
        blocks.append(BLOCK.format(n=n))
        n += 1
    return "".join(blocks)


async def time_changes(root: Path, text: str, changes: int) -> list[float]:
    client = await ClientServerConfig(server_command=[sys.executable, "-m", "unguarded_workers", "server"]).start()
    capabilities = client_capabilities("visual-studio-code")
    if capabilities.workspace is not None:
        capabilities.workspace.did_change_watched_files = None  # the test client registers nothing
    await client.initialize_session(types.InitializeParams(capabilities=capabilities, root_uri=root.as_uri()))
    uri = (root / "m.py").as_uri()
    item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
    await wait_for_version(client, uri, 1)
    times = []
    for version in range(2, changes + 2):
        edited = text + f"\n# edit {version}\n"
        start = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=edited)],
            )
        )
        await wait_for_version(client, uri, version)
        times.append(time.perf_counter() - start)
    await client.shutdown_session()
    await client.stop()
    return times


async def wait_for_version(client: object, uri: str, version: int) -> None:
    while True:
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)  # type: ignore[attr-defined]
        if params.uri == uri and params.version == version:
            return


def time_check(path: Path, repeats: int) -> list[float]:
    times = []
    command = [sys.executable, "-m", "unguarded_workers", "check", str(path)]
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return times


_CHILD = "--in-process-child"
_IN_PROCESS = """
import contextlib, io, statistics, sys, time
from unguarded_workers.cli import main

path, repeats = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(repeats + 1):  # the first one warms the caches of the process, as the server's first check does
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["check", "--no-cache", path])
    times.append(time.perf_counter() - start)
print(statistics.median(times[1:]))
"""


def time_check_in_process(path: Path, repeats: int) -> float:
    """`check`'s own time on the file, in a process that has imported the tool already."""
    result = subprocess.run(
        [sys.executable, "-c", _IN_PROCESS, str(path), str(repeats)], capture_output=True, text=True, check=True
    )
    return float(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=10, help="changes timed per module (default 10)")
    args = parser.parse_args()
    print(
        f"server debounce: {DEBOUNCE_SHARE:.0%} of the buffer's last check, {MIN_DEBOUNCE_SECONDS * 1000:.0f} to "
        f"{DEBOUNCE_SECONDS * 1000:.0f} ms (included in the change times)\n"
    )
    header = f"{'module':<22}{'change -> diagnostics':>24}{'check in-process':>19}{'ratio':>7}"
    print(f"{header}{'check (command)':>18}{'ratio':>7}")
    for name, lines in (("small (40 lines)", 40), ("large (5,000 lines)", 5000)):
        with tempfile.TemporaryDirectory() as directory:
            root = Path(directory)
            text = module(lines)
            (root / "m.py").write_text(text)
            server = statistics.median(asyncio.run(time_changes(root, text, args.changes)))
            in_process = time_check_in_process(root / "m.py", max(3, args.changes // 2))
            command = statistics.median(time_check(root / "m.py", max(3, args.changes // 2)))
        row = f"{name:<22}{server * 1000:>21.0f} ms{in_process * 1000:>16.0f} ms{server / in_process:>7.2f}"
        print(f"{row}{command * 1000:>15.0f} ms{server / command:>7.2f}")
    print("\ntarget: change -> diagnostics on the large module within 1.5x of check in-process")


if __name__ == "__main__":
    main()
