"""Greenlets that die: gevent's hub prints each traceback, then `<Greenlet ...> failed with`.

python greenlets.py
"""

from __future__ import annotations

import gevent


def crawl(url: str, depth: int = 1) -> None:
    raise ValueError(f"cannot crawl {url} at depth {depth}")


def main() -> None:
    first = gevent.spawn(crawl, "https://example.org", depth=2)  # SPAWN-crawl
    second = gevent.spawn(crawl, "https://example.com")  # SPAWN-crawl-again
    gevent.joinall([first, second])
    print("crawler still running", flush=True)


if __name__ == "__main__":
    main()
