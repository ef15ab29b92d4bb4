"""The shop's catalog: what the service's workers look up, and what the load driver checks the
totals against. An item it does not have makes the worker that looks it up fail."""

from __future__ import annotations

PRICES: dict[str, int] = {"apple": 3, "pear": 5, "fig": 7, "plum": 2, "quince": 11}
UNKNOWN = "durian"  # not in the catalog: the bad input of the incident


def price_of(item: str) -> int:
    """The price of `item` (a real shop would ask a pricing service here, and wait for it)."""
    if item not in PRICES:
        raise LookupError(f"no price for {item!r}")
    return PRICES[item]
