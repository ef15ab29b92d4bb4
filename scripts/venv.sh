# Sourced by the other scripts: make sure the virtual environment exists and holds this
# checkout with its development dependencies, then set VENV. Re-running is cheap: pip
# skips what is already there.
UW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${UW_VENV:-$UW_ROOT/.venv}"
if [ -e "$VENV" ] && [ ! -d "$VENV" ]; then
    echo "error: $VENV is a file, not a virtual environment (a PEP 832 redirect written by tox?): remove it" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$VENV"
fi
(cd "$UW_ROOT" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]" 2>&1 \
    | grep -v "^WARNING: Location" || true)
"$VENV/bin/python" -c "import unguarded_workers, flake8, libcst, pytest" || {
    echo "error: setting up $VENV failed (see pip's output above)" >&2
    exit 2
}
