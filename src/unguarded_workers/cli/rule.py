"""`unguarded-workers rule CODE`: a rule's page in the terminal, as `ruff rule` prints one.

The pages are docs/rules/*.md. A wheel carries them as package data (`rule_pages/`, added by
hatch_build.py); a checkout or an editable install reads them where they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..codes import ALL_CODES, Code
from ..config import close_match
from .colour import palette_for

_PACKAGE = Path(__file__).resolve().parent.parent
# In a wheel: unguarded_workers/rule_pages; in a checkout: docs/rules, two levels above src/.
_PLACES = (_PACKAGE / "rule_pages", _PACKAGE.parent.parent / "docs" / "rules")


def page(code: Code) -> str:
    """The rule's page, as markdown; OSError when no page can be found."""
    for directory in _PLACES:
        path = directory / f"{code.code}.md"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise FileNotFoundError(f"{code.code}: the rule's page is not installed (see {code.docs_url})")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """`parser` is the `rule` command's own (its usage answers a mistake)."""
    if args.all == (args.code is not None):
        parser.error("give one CODE, or --all")
    codes = list(ALL_CODES)
    if args.code is not None:
        wanted = args.code.strip().upper()
        codes = [code for code in ALL_CODES if code.code == wanted]
        if not codes:
            known = [code.code for code in ALL_CODES]
            print(
                f"error: {args.code}: no such rule{close_match(wanted, known)} (rules: {', '.join(known)})",
                file=sys.stderr,
            )
            return 2
    try:
        pages = [(code, page(code)) for code in codes]
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.output_format == "json":
        records = [_record(code, text) for code, text in pages]
        print(json.dumps(records if args.all else records[0], indent=2))
        return 0
    palette = palette_for(sys.stdout)
    shown = []
    for _, text in pages:
        lines = [palette.heading(line) if line.startswith("#") else line for line in text.rstrip("\n").split("\n")]
        shown.append("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(shown))
    return 0


def _record(code: Code, text: str) -> dict[str, object]:
    return {
        "code": code.code,
        "name": code.name,
        "kind": code.kind.value,
        "summary": f"Unguarded {code.what}: {code.consequence}",
        "fix": "safe" if code.safe_fix else "unsafe",
        "url": code.docs_url,
        "explanation": text,
    }
