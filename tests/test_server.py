"""`unguarded-workers server` end to end, through a real LSP client over stdio (pytest-lsp):
diagnostics with exact ranges in each position encoding, changes, code actions applied to
the buffer and compared byte for byte with `fix`, configuration changes, shutdown."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cli_helpers import run_command

pytest_lsp = pytest.importorskip("pytest_lsp")  # Python 3.10+
from lsprotocol import types  # noqa: E402

pytestmark = pytest.mark.asyncio

SERVER = [sys.executable, "-m", "unguarded_workers", "server"]
PUBLISH = types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS

BUFFER = textwrap.dedent(
    """\
    import asyncio
    import threading


    def work():
        while True: step()


    async def child():
        while True: await step()  # long-lived: reported by default


    def main(pool):
        plain = threading.Thread(target=work)
        s = "héllo"; t = threading.Thread(target=work)
        e = "😀 x"; u = threading.Thread(target=work)
        pool.submit(make_task())
        return plain, t, u


    async def run():
        asyncio.create_task(child())
    """
)


def everything(root: Path, extra: str = "") -> None:
    """A workspace whose configuration reports every confidence (BUFFER has a low one)."""
    (root / "pyproject.toml").write_text(f'[tool.unguarded-workers]\nmin-confidence = "low"\n{extra}')


@asynccontextmanager
async def session(root: Path, encodings: list[str] | None = None) -> AsyncIterator[pytest_lsp.LanguageClient]:
    client = await pytest_lsp.ClientServerConfig(server_command=SERVER).start()
    capabilities = pytest_lsp.client_capabilities("visual-studio-code")
    if encodings is not None:
        capabilities.general = types.GeneralClientCapabilities(position_encodings=encodings)
    result = await client.initialize_session(types.InitializeParams(capabilities=capabilities, root_uri=root.as_uri()))
    client.server_encoding = result.capabilities.position_encoding  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


async def published(client: pytest_lsp.LanguageClient, uri: str, version: int | None = None) -> list[types.Diagnostic]:
    """The next diagnostics published for `uri` (at `version`, when given)."""
    while True:
        params = await asyncio.wait_for(client.wait_for_notification(PUBLISH), timeout=30)
        if params.uri == uri and (version is None or params.version == version):
            return list(params.diagnostics)


def open_buffer(client: pytest_lsp.LanguageClient, uri: str, text: str, version: int = 1) -> None:
    document = types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=document))


def change_buffer(client: pytest_lsp.LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def units(text: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8"))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def offset(text: str, position: types.Position, encoding: str) -> int:
    lines = text.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: position.line])
    line = lines[position.line] if position.line < len(lines) else ""
    for index in range(len(line) + 1):
        if units(line[:index], encoding) >= position.character:
            return start + index
    return start + len(line)


def apply(text: str, edit: types.WorkspaceEdit, encoding: str) -> str:
    """Apply a workspace edit's text edits to the buffer, as an editor does."""
    assert edit.document_changes is not None
    (change,) = edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    located = sorted(
        (
            (offset(text, e.range.start, encoding), offset(text, e.range.end, encoding), n, e.new_text)
            for n, e in enumerate(change.edits)
        ),
        key=lambda item: (item[0], item[2]),
    )
    pieces, done = [], 0
    for start, end, _, new_text in located:
        pieces += [text[done:start], new_text]
        done = end
    return "".join([*pieces, text[done:]])


def expected_range(text: str, line_number: int, needle: str, encoding: str) -> tuple[int, int, int]:
    line = text.splitlines()[line_number]
    start = line.index(needle)
    return line_number, units(line[:start], encoding), units(line[: start + len(needle)], encoding)


@pytest.mark.parametrize("encodings", [None, ["utf-8", "utf-16"], ["utf-32"]])
async def test_diagnostics_have_exact_ranges_codes_and_links(tmp_path: Path, encodings: list[str] | None) -> None:
    path = tmp_path / "service.py"
    uri = path.as_uri()
    everything(tmp_path)
    async with session(tmp_path, encodings) as client:
        encoding = client.server_encoding  # type: ignore[attr-defined]
        assert encoding == (encodings[0] if encodings else types.PositionEncodingKind.Utf16)
        open_buffer(client, uri, BUFFER)
        found = await published(client, uri, 1)

    ranges = [(d.range.start.line, d.range.start.character, d.range.end.character) for d in found]
    assert ranges == [
        expected_range(BUFFER, 13, "work", encoding),
        expected_range(BUFFER, 14, "work", encoding),  # after "héllo": 1 more byte in UTF-8
        expected_range(BUFFER, 15, "work", encoding),  # after an astral character: 2 units in UTF-16
        expected_range(BUFFER, 16, "make_task()", encoding),
        expected_range(BUFFER, 21, "child()", encoding),
    ]
    assert all(d.range.start.line == d.range.end.line for d in found)
    report = json.loads(
        run_command(
            "check", "--output-format=json", "--stdin-filename=service.py", "-", stdin=BUFFER, cwd=tmp_path
        ).stdout
    )
    assert [d.message for d in found] == [r["message"] for r in report]
    assert [d.code for d in found] == ["UW101", "UW101", "UW101", "UW201", "UW301"]
    assert all(d.source == "unguarded-workers" for d in found)
    # By confidence: the one that could not be inspected is a hint, the others warnings.
    warning, hint = types.DiagnosticSeverity.Warning, types.DiagnosticSeverity.Hint
    assert [d.severity for d in found] == [warning, warning, warning, hint, warning]
    (uncovered,) = found[0].related_information or []
    assert uncovered.message == "step() runs outside any try"
    assert uncovered.location.uri == uri
    assert (uncovered.location.range.start.line, uncovered.location.range.start.character) == (5, 16)
    assert found[3].related_information is None  # nothing to point at
    assert found[0].code_description is not None
    assert found[0].code_description.href.endswith("/docs/rules/UW101.md")


async def test_changes_publish_the_latest_text_and_syntax_errors_clear(tmp_path: Path) -> None:
    uri = (tmp_path / "m.py").as_uri()
    everything(tmp_path)
    async with session(tmp_path) as client:
        open_buffer(client, uri, BUFFER)
        assert len(await published(client, uri, 1)) == 5
        # Three quick changes: only the last one's diagnostics are published for it.
        change_buffer(client, uri, BUFFER.replace("    asyncio.create_task(child())\n", ""), 2)
        change_buffer(client, uri, BUFFER.replace("        step()\n", "        step(\n"), 3)  # mid-typing
        change_buffer(client, uri, BUFFER.replace("plain = threading.Thread(target=work)", "plain = None"), 4)
        latest = await published(client, uri)
        assert [d.code for d in latest] == ["UW101", "UW101", "UW201", "UW301"]

        change_buffer(client, uri, "def broken(:\n", 5)
        assert await published(client, uri, 5) == []  # no stale ranges, and the server lives on
        change_buffer(client, uri, BUFFER, 6)
        assert len(await published(client, uri, 6)) == 5

        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        assert await published(client, uri) == []


async def actions_at(
    client: pytest_lsp.LanguageClient, uri: str, diagnostic: types.Diagnostic, only: list[str] | None = None
) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic], only=only),
        )
    )
    return [action for action in result or [] if isinstance(action, types.CodeAction)]


async def test_quick_fixes_write_what_fix_writes(tmp_path: Path) -> None:
    single = textwrap.dedent(
        """\
        import threading


        def work():
            e = "😀"
            while True: step(e)


        t = threading.Thread(target=work); s = "é"
        """
    )
    uri = (tmp_path / "one.py").as_uri()
    async with session(tmp_path) as client:
        encoding = client.server_encoding  # type: ignore[attr-defined]
        open_buffer(client, uri, single)
        (diagnostic,) = await published(client, uri, 1)
        guard, ignore, fix_all = await actions_at(client, uri, diagnostic)

    assert guard.title == "Guard 'work' with wrap()"
    assert guard.kind == types.CodeActionKind.QuickFix
    assert guard.is_preferred
    assert guard.edit is not None
    fixed = run_command("fix", "--stdin-filename=one.py", "-", stdin=single, cwd=tmp_path).stdout
    assert apply(single, guard.edit, encoding) == fixed

    assert fix_all.kind == "source.fixAll.unguarded-workers"  # offered too when no kind is asked for

    assert ignore.title == "Ignore UW101 on this line"
    assert ignore.edit is not None
    ignored = apply(single, ignore.edit, encoding)
    assert 't = threading.Thread(target=work); s = "é"  # noqa: UW101\n' in ignored
    assert run_command("check", "--stdin-filename=one.py", "-", stdin=ignored, cwd=tmp_path).returncode == 0


async def test_an_existing_noqa_list_is_extended(tmp_path: Path) -> None:
    text = (
        "import threading\n\n\ndef work():\n    while True: step()\n\n\nthreading.Thread(target=work)  # noqa: E501\n"
    )
    uri = (tmp_path / "n.py").as_uri()
    async with session(tmp_path) as client:
        open_buffer(client, uri, text)
        (diagnostic,) = await published(client, uri, 1)
        actions = await actions_at(client, uri, diagnostic)
    ignore = next(a for a in actions if a.title.startswith("Ignore"))
    assert ignore.edit is not None
    assert apply(text, ignore.edit, types.PositionEncodingKind.Utf16).endswith("# noqa: E501,UW101\n")


async def test_fix_all_and_an_unsafe_fix(tmp_path: Path) -> None:
    uri = (tmp_path / "service.py").as_uri()
    everything(tmp_path)
    async with session(tmp_path) as client:
        encoding = client.server_encoding  # type: ignore[attr-defined]
        open_buffer(client, uri, BUFFER)
        found = await published(client, uri, 1)
        fix_all = await actions_at(client, uri, found[0], only=["source.fixAll"])
        uw201 = next(d for d in found if d.code == "UW201")
        unsafe = (await actions_at(client, uri, uw201, only=[types.CodeActionKind.QuickFix]))[0]

    (action,) = fix_all
    assert action.kind == "source.fixAll.unguarded-workers"
    assert action.edit is not None
    fixed = run_command("fix", "--stdin-filename=service.py", "-", stdin=BUFFER, cwd=tmp_path).stdout
    assert apply(BUFFER, action.edit, encoding) == fixed
    assert "pool.submit(make_task())" in fixed  # the unsafe site is not in the fix-all

    assert unsafe.title.startswith("Guard 'make_task()' with wrap() (unsafe: the target could not be inspected")
    assert not unsafe.is_preferred
    assert unsafe.edit is not None
    assert "pool.submit(wrap(make_task()))" in apply(BUFFER, unsafe.edit, encoding)


async def test_a_configuration_change_is_picked_up(tmp_path: Path) -> None:
    uri = (tmp_path / "pkg" / "m.py").as_uri()
    (tmp_path / "pkg").mkdir()
    everything(tmp_path)
    async with session(tmp_path) as client:
        open_buffer(client, uri, BUFFER)
        assert len(await published(client, uri, 1)) == 5
        config = tmp_path / "pyproject.toml"
        everything(tmp_path, 'ignore = ["UW1"]\n')
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Created)]
            )
        )
        assert [d.code for d in await published(client, uri, 1)] == ["UW201", "UW301"]


async def test_confidence_severities_and_spawn_helpers_of_the_workspace(tmp_path: Path) -> None:
    """A buffer that only calls a helper defined elsewhere in the workspace is checked for it;
    a medium-confidence report is information, shown when the setting asks for it."""
    (tmp_path / "background.py").write_text(
        "import threading\n\n\ndef in_background(target):\n    threading.Thread(target=target).start()\n"
    )
    text = "from background import in_background\n\n\ndef once():\n    step()\n\n\nin_background(once)\n"
    uri = (tmp_path / "app.py").as_uri()
    async with session(tmp_path) as client:
        open_buffer(client, uri, text)
        assert await published(client, uri, 1) == []  # one-shot: medium, below the default
    (tmp_path / "pyproject.toml").write_text('[tool.unguarded-workers]\nmin-confidence = "medium"\n')
    async with session(tmp_path) as client:
        open_buffer(client, uri, text)
        (found,) = await published(client, uri, 1)
    assert (found.code, found.range.start.line, found.severity) == ("UW101", 7, types.DiagnosticSeverity.Information)
    assert found.message.startswith("thread target 'once' has no try/except guard: line 5: step()")


async def test_test_code_and_bad_configuration(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    test_uri = (tmp_path / "tests" / "test_m.py").as_uri()
    async with session(tmp_path) as client:
        open_buffer(client, test_uri, BUFFER)
        assert await published(client, test_uri, 1) == []  # tests = "skip", as check does

        (tmp_path / "pyproject.toml").write_text('[tool.unguarded-workers]\nunresolved = "never"\n')
        uri = (tmp_path / "m.py").as_uri()
        open_buffer(client, uri, BUFFER)
        assert await published(client, uri, 1) == []
        (message,) = client.messages  # shown before the (empty) diagnostics were published
        assert message.type == types.MessageType.Error
        assert "pyproject.toml: [tool.unguarded-workers]: unresolved: 'never' is not one of" in message.message


async def test_shutdown_and_exit(tmp_path: Path) -> None:
    client = await pytest_lsp.ClientServerConfig(server_command=SERVER).start()
    await client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=tmp_path.as_uri())
    )
    await client.shutdown_session()
    assert client._server is not None
    assert client._server.returncode == 0
    await client.stop()
