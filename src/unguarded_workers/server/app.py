"""The language server: pygls wiring around `document` (the reports and actions of a buffer).

Diagnostics are computed on open and, debounced, on change, in a worker thread so that
the server keeps answering; a result is published only if its buffer has not changed
since (the latest text wins, stale ranges are never published), and cleared on close.

The debounce follows the buffer: a tenth of what its last check took, at most 150 ms. It
only has to gather the burst of changes one edit sends (a paste, a format, a rename), not
to wait for typing to pause: one check per buffer runs at a time, a change during a check
waits for it, and the newest text is checked next, so checks never pile up. A buffer
checked in 5 ms is checked after each keystroke; one that takes 200 ms waits 20 ms (a
fixed 150 ms was half the latency of the 5,000-line benchmark module).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO, cast

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from .. import __version__
from ..analysis.discovery import helper_names, helpers_in_text, python_files
from ..config import Settings
from ..memory import collect_less
from .document import FIX_ALL_KIND, Buffer, Checked, Positions, check_buffer, diagnostics
from .frames import Frames
from .settings import CONFIG_FILES, SettingsCache

logger = logging.getLogger(__name__)

# After a change, how long to wait for the next keystroke before checking: this share of the
# buffer's last check, between these bounds (the most until its first check is timed).
DEBOUNCE_SECONDS = 0.15
MIN_DEBOUNCE_SECONDS = 0.005
DEBOUNCE_SHARE = 0.1


# What `_Protocol.structure_message` gives for a message it dropped.
_DROPPED = object()


class _Protocol(LanguageServerProtocol):
    """pygls's protocol, but a message whose params do not fit its method is dropped with
    one line in the log (and an error answer to a request), not a traceback."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" not in data:  # json.loads calls this for every object, inner ones too
            return data
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            method = data.get("method")
            logger.warning("ignored a message: the params of %r do not fit it (%s)", method, error.message)
            if "id" in data and isinstance(method, str):
                message = f"invalid params for {method}"
                self._send_response(data["id"], error=types.ResponseError(code=error.code, message=message))
            return _DROPPED

    def handle_message(self, message: Any) -> None:
        if message is not _DROPPED:
            super().handle_message(message)


def _without_pygls_tracebacks(record: logging.LogRecord) -> bool:
    # pygls logs a traceback for params that do not fit; `_Protocol` says it in one line.
    return not str(record.msg).startswith("Unable to deserialize message")


class UnguardedWorkersServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("unguarded-workers", __version__, protocol_cls=_Protocol)
        self.settings = SettingsCache(None)
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, asyncio.Future[Checked]] = {}  # the check in a worker thread, per buffer
        self._durations: dict[str, float] = {}  # what each buffer's last check took, in seconds
        # The last published check of each buffer, for code actions on the same text.
        self._checked: dict[str, tuple[int | None, Settings, Checked]] = {}
        self._reported_errors: set[str] = set()
        # The spawn helpers each file of the workspace defines (found at start, kept up to
        # date as files are saved): a buffer that calls one is checked for it.
        self._helpers: dict[str, frozenset[str]] = {}
        self.scanned: asyncio.Event | None = None  # set once the workspace's helpers are known

    @property
    def helper_names(self) -> frozenset[str]:
        return frozenset().union(*self._helpers.values())

    def scan_workspace(self, root: Path) -> None:
        """Find the workspace's spawn helpers (in a worker thread: it reads every file once)."""
        settings = self.settings.for_document(root / "__init__.py")
        if not isinstance(settings, Settings):
            return
        for path in python_files(root):
            names = helper_names([path], settings.options)
            if names:
                self._helpers[path] = names

    def note_saved(self, uri: str, text: str) -> None:
        """A saved module may define helpers, or no longer define them."""
        path, settings = self.path_of(uri), self.settings_for(uri)
        if path is None or settings is None:
            return
        names = helpers_in_text(text, settings.options, str(path))
        if names:
            self._helpers[str(path)] = names
        elif self._helpers.pop(str(path), None) is not None:
            self.recheck_all()

    # -- documents ----------------------------------------------------------------------

    def path_of(self, uri: str) -> Path | None:
        path = to_fs_path(uri)
        return Path(path) if path and uri.startswith("file:") else None

    def settings_for(self, uri: str) -> Settings | None:
        found = self.settings.for_document(self.path_of(uri))
        if isinstance(found, Settings):
            self._reported_errors.discard(uri)
            return found
        if uri not in self._reported_errors:  # once per document until it is fixed
            self._reported_errors.add(uri)
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Error, message=f"unguarded-workers: {found}")
            )
        return None

    def positions(self, text: str) -> Positions:
        return Positions(text, self.workspace.position_codec.client_num_units)

    def schedule(self, uri: str, delay: float) -> None:
        """Check the document after `delay`, replacing a check not yet started."""
        previous = self._pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self._pending[uri] = asyncio.get_running_loop().create_task(self._check_later(uri, delay))

    def debounce(self, uri: str) -> float:
        """How long to wait after a change of the buffer before checking it."""
        last = self._durations.get(uri)
        if last is None:
            return DEBOUNCE_SECONDS
        return min(DEBOUNCE_SECONDS, max(MIN_DEBOUNCE_SECONDS, last * DEBOUNCE_SHARE))

    def forget(self, uri: str) -> None:
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self._checked.pop(uri, None)
        self._durations.pop(uri, None)
        self._running.pop(uri, None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def recheck_all(self) -> None:
        self.settings.clear()
        for uri in list(self.workspace.text_documents):
            self.schedule(uri, 0)

    async def _check_later(self, uri: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            if self.scanned is not None:
                await self.scanned.wait()  # the first checks need the workspace's spawn helpers
            document = self.workspace.get_text_document(uri)
            version, text = document.version, document.source
            settings = self.settings_for(uri)
            found: list[types.Diagnostic] = []
            if settings is not None:
                running = self._running.get(uri)
                if running is not None:  # one check per buffer at a time; its result will be stale
                    await asyncio.wait([running])
                    document = self.workspace.get_text_document(uri)
                    version, text = document.version, document.source
                checked = await self._check(uri, text, settings)
                found = diagnostics(checked, self.positions(text), uri)
            if uri not in self.workspace.text_documents or self.workspace.get_text_document(uri).version != version:
                return  # closed or changed meanwhile: a newer check publishes
            if settings is not None:
                self._checked[uri] = (version, settings, checked)
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=version)
            )
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: say so in the log, keep serving
            logger.exception("checking %s failed", uri)
        finally:
            if self._pending.get(uri) is asyncio.current_task():
                del self._pending[uri]

    async def _check(self, uri: str, text: str, settings: Settings) -> Checked:
        """The check of the buffer's text, in a worker thread, timed for the next debounce."""
        started = time.perf_counter()
        future = asyncio.get_running_loop().run_in_executor(
            None, check_buffer, text, self.path_of(uri), settings, self.helper_names
        )
        self._running[uri] = future
        future.add_done_callback(lambda done: self._check_done(uri, done))
        # Shielded: a newer change cancels this task, not the check, which the next one waits for.
        checked = await asyncio.shield(future)
        self._durations[uri] = time.perf_counter() - started
        return checked

    def _check_done(self, uri: str, done: asyncio.Future[Checked]) -> None:
        if self._running.get(uri) is done:
            del self._running[uri]
        if not done.cancelled():
            done.exception()  # retrieved: a check whose waiter was cancelled logs nothing twice

    def checked(self, uri: str, version: int | None, settings: Settings) -> Checked:
        """The buffer as checked: the published check when it is of this text and settings."""
        cached = self._checked.get(uri)
        if cached is not None and cached[0] == version and cached[1] is settings:
            return cached[2]
        return check_buffer(
            self.workspace.get_text_document(uri).source, self.path_of(uri), settings, self.helper_names
        )


def create_server() -> UnguardedWorkersServer:
    server = UnguardedWorkersServer()

    @server.feature(types.INITIALIZED)
    async def initialized(ls: UnguardedWorkersServer, params: types.InitializedParams) -> None:
        root = ls.workspace.root_path
        ls.settings = SettingsCache(Path(root) if root else None)
        if root:
            ls.scanned = asyncio.Event()
            try:
                await asyncio.get_running_loop().run_in_executor(None, ls.scan_workspace, Path(root))
            finally:
                ls.scanned.set()
        watch = ls.client_capabilities.workspace
        if watch and watch.did_change_watched_files and watch.did_change_watched_files.dynamic_registration:
            watchers = [types.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_FILES]
            registration = types.Registration(
                id="unguarded-workers-config",
                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
            )
            ls.client_register_capability(types.RegistrationParams(registrations=[registration]))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: UnguardedWorkersServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: UnguardedWorkersServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.debounce(params.text_document.uri))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: UnguardedWorkersServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri.rpartition("/")[2] in CONFIG_FILES:
            ls.recheck_all()
        elif uri.endswith(".py") and uri in ls.workspace.text_documents:
            before = ls.helper_names
            ls.note_saved(uri, ls.workspace.get_text_document(uri).source)
            if ls.helper_names != before:
                ls.recheck_all()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: UnguardedWorkersServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: UnguardedWorkersServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(change.uri.rpartition("/")[2] in CONFIG_FILES for change in params.changes):
            ls.recheck_all()

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
    )
    def code_action(ls: UnguardedWorkersServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        try:
            settings = ls.settings_for(uri)
            if settings is None:
                return []
            document = ls.workspace.get_text_document(uri)
            text = document.source
            checked = ls.checked(uri, document.version, settings)
            buffer = Buffer(checked, ls.positions(text), uri, document.version, settings)
            return buffer.code_actions(params.range, params.context.only)
        except Exception:  # a bug: no actions, and keep serving
            logger.exception("code actions for %s failed", uri)
            return []

    return server


def serve(**_: Any) -> int:
    """Serve on stdin/stdout until the client says exit. A malformed message is dropped with
    one line on stderr, and the server goes on (see `frames`)."""
    logging.basicConfig(level=logging.WARNING, format="unguarded-workers server: %(levelname)s %(message)s")
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_without_pygls_tracebacks)
    server = create_server()
    collect_less()  # the server's own objects (pygls, lsprotocol's types) are never garbage
    # pygls reads stdin with readline() and read(n) only, which is what Frames provides.
    server.start_io(stdin=cast(BinaryIO, Frames(sys.stdin.buffer)))
    return 0
