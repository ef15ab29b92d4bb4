"""`unguarded-workers server` as a real process, spoken to in raw bytes: a malformed message
(a bad or missing Content-Length, lines that are not headers, a body that is not JSON or
not JSON-RPC, params that do not fit their method) costs one line on stderr, no traceback,
and the server keeps answering."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SERVER = [sys.executable, "-m", "unguarded_workers", "server"]
BAD = "import threading\n\n\ndef work():\n    while True: step()\n\n\nthreading.Thread(target=work).start()\n"


def frame(message: object) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%b" % (len(body), body)


class RawClient:
    """A client that writes bytes and reads the server's frames and stderr lines."""

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            SERVER, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.errors: list[str] = []
        threading.Thread(target=self._read_messages, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    def _read_messages(self) -> None:
        assert self.process.stdout is not None
        stream = self.process.stdout
        while True:
            length = None
            while (line := stream.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line or length is None:
                return
            self.messages.put(json.loads(stream.read(length)))

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.errors.append(line.decode(errors="replace"))

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def receive(self, matches: Any) -> dict[str, Any]:
        """The next message `matches` accepts (others, notifications say, are passed over)."""
        while True:
            message = self.messages.get(timeout=30)
            if matches(message):
                return message

    def request(self, number: int, method: str, params: object) -> dict[str, Any]:
        self.send(frame({"jsonrpc": "2.0", "id": number, "method": method, "params": params}))
        return self.receive(lambda message: message.get("id") == number)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[RawClient]:
    client = RawClient(tmp_path)
    params = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
    assert "capabilities" in client.request(1, "initialize", params)["result"]
    client.send(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    yield client
    if client.process.poll() is None:
        client.process.kill()
    client.process.wait(timeout=30)


def still_answering(client: RawClient, tmp_path: Path, number: int, before: bytes = b"") -> None:
    """A buffer opened now gets its diagnostics: the server reads and answers."""
    uri = (tmp_path / f"m{number}.py").as_uri()
    document = {"uri": uri, "languageId": "python", "version": 1, "text": BAD}
    opened = {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": document}}
    client.send(before + frame(opened))
    published = client.receive(
        lambda message: message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri
    )
    assert [d["code"] for d in published["params"]["diagnostics"]] == ["UW101"]


def settled_errors(client: RawClient, before: int) -> list[str]:
    """The stderr lines since `before`, once their reader (a thread of its own, beside the
    one reading the answers) has caught up: the first, then nothing new for a moment."""
    deadline = time.monotonic() + 30
    while len(client.errors) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    seen = -1
    while seen != len(client.errors):
        seen = len(client.errors)
        time.sleep(0.3)
    return client.errors[before:]


NOTIFICATION = b'{"jsonrpc": "2.0", "method": "$/unguarded/nothing", "params": {}}'
MALFORMED = {
    "a Content-Length that is not a number": b"Content-Length: abc\r\n\r\n" + NOTIFICATION,
    "a negative Content-Length": b"Content-Length: -5\r\n\r\n" + NOTIFICATION,
    "a Content-Length beyond any message": b"Content-Length: 99999999999999999999\r\n\r\n" + NOTIFICATION,
    "no Content-Length": b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + NOTIFICATION,
    "only a line that is not a header": b"this is not a header\r\n\r\n",
    "two different Content-Lengths": b"Content-Length: 3\r\nContent-Length: 4\r\n\r\n" + NOTIFICATION,
    "a body that is not JSON": b"Content-Length: 12\r\n\r\n{not json!!}",
    "a body that is not UTF-8": b'Content-Length: 4\r\n\r\n"\xff\xfe"',
    "a JSON array": b"Content-Length: 6\r\n\r\n[1, 2]",
    "a JSON string": b'Content-Length: 6\r\n\r\n"text"',
    "an object that is not JSON-RPC": b'Content-Length: 12\r\n\r\n{"hello": 1}',
    "JSON-RPC 1.0": b'Content-Length: 33\r\n\r\n{"jsonrpc": "1.0", "method": "x"}',
    "neither a call nor an answer": b'Content-Length: 27\r\n\r\n{"jsonrpc": "2.0", "id": 3}',
}


@pytest.mark.parametrize("name", MALFORMED)
def test_a_malformed_message_costs_one_line_and_the_server_keeps_answering(
    name: str, client: RawClient, tmp_path: Path
) -> None:
    still_answering(client, tmp_path, 1)
    before = len(client.errors)
    client.send(MALFORMED[name])
    still_answering(client, tmp_path, 2)
    still_answering(client, tmp_path, 3)
    logged = settled_errors(client, before)
    assert len(logged) == 1, logged
    assert logged[0].startswith("unguarded-workers server: WARNING ignored a message: "), logged


def test_every_kind_in_a_row_then_a_clean_shutdown(client: RawClient, tmp_path: Path) -> None:
    """Back to back, what follows a frame of unknown length up to the next Content-Length
    header is that frame's body: a message without one there is dropped with it."""
    for data in MALFORMED.values():
        client.send(data)
    still_answering(client, tmp_path, 1)
    # A header line that is not one, before a good message: said, and the message is read.
    still_answering(client, tmp_path, 9, before=b"X garbage\r\n")
    # Params that do not fit the method: a request gets an error answer.
    answer = client.request(7, "textDocument/codeAction", {"no": "such params"})
    assert answer["error"]["code"] == -32602
    still_answering(client, tmp_path, 2)
    assert client.request(8, "shutdown", None)["result"] is None
    client.send(frame({"jsonrpc": "2.0", "method": "exit"}))
    assert client.process.wait(timeout=30) == 0
    settled_errors(client, 0)
    errors = "".join(client.errors)
    assert "Traceback" not in errors
    swallowed = 2  # "no Content-Length" and "only a line that is not a header", after bad lengths
    assert len(client.errors) == len(MALFORMED) - swallowed + 2, errors
    assert all(line.startswith("unguarded-workers server: WARNING ignored ") for line in client.errors), errors
