# Sourced by the other scripts: make sure the virtual environment exists and holds this
# checkout with its development dependencies, then set VENV. pip runs only when the
# project's metadata (pyproject.toml, hatch_build.py) or the interpreter changed since the last
# install: the checkout is installed in editable mode (its two source folders, src/ and
# runtime/src/, on sys.path), so source changes need no reinstall.
UW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${UW_VENV:-$UW_ROOT/.venv}"
if [ -e "$VENV" ] && [ ! -d "$VENV" ]; then
    echo "error: $VENV is a file, not a virtual environment (a PEP 832 redirect written by tox?): remove it" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "unguarded-workers: first use: creating $VENV and installing the checkout with flake8, libcst," \
        "pytest, ruff, mypy and tox (about a minute)..." >&2
    "${PYTHON:-python3}" -m venv "$VENV"
fi
_uw_stamp="$(cat "$UW_ROOT/pyproject.toml" "$UW_ROOT/hatch_build.py" <("$VENV/bin/python" -VV) | cksum)"
if [ "$(cat "$VENV/.uw-installed" 2>/dev/null)" != "$_uw_stamp" ]; then
    [ -f "$VENV/.uw-installed" ] && echo "unguarded-workers: pyproject.toml or hatch_build.py changed: updating $VENV..." >&2
    rm -f "$VENV/.uw-installed"
    # pip is quiet but for errors: a line every 30 s says it is still at work.
    (
        trap 'kill $_uw_sleep 2>/dev/null; exit 0' TERM
        while :; do
            sleep 30 </dev/null >/dev/null 2>&1 &
            _uw_sleep=$!
            wait $_uw_sleep
            echo "unguarded-workers: still installing into $VENV..." >&2
        done
    ) &
    _uw_ticker=$!
    (cd "$UW_ROOT" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]" 2>&1 \
        | grep -v "^WARNING: Location" || true)
    kill "$_uw_ticker" 2>/dev/null || true
    wait "$_uw_ticker" 2>/dev/null || true
    "$VENV/bin/python" -c "import unguarded_workers, flake8, libcst, pytest" || {
        echo "error: setting up $VENV failed (see pip's output above)" >&2
        exit 2
    }
    printf '%s\n' "$_uw_stamp" > "$VENV/.uw-installed"
fi
unset _uw_stamp _uw_ticker
