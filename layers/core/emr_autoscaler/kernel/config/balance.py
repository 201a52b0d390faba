"""Balance: one knob from 0 (cheapest) to 100 (least wait) that sets the thresholds trading cost for waiting.

In the spirit of EMR's `UtilizationPerformanceIndex` (1 = cost, 100 = performance) but continuous and explained:
each setting below is interpolated linearly between the anchors at balance 0, 50 and 100. A threshold the
configuration sets explicitly always wins over the one the balance derives. README.md ("One knob") shows the table.
"""

from __future__ import annotations

from typing import Any

# (section, field): values at balance 0, 50 and 100.
BALANCE_TABLE: dict[tuple[str, str], tuple[float, float, float]] = {
    # Scale in once utilization stays under this (%): a cheap cluster sheds capacity sooner.
    ("scale_in", "utilization_threshold_pct"): (70.0, 50.0, 30.0),
    # ... down to this utilization of what remains (%): a fast cluster keeps more room.
    ("scale_in", "target_utilization_pct"): (95.0, 80.0, 65.0),
    # ... after it stayed low this long (s), and at most once per cooldown (s).
    ("scale_in", "stabilization_window_s"): (60.0, 180.0, 900.0),
    ("scale_in", "cooldown_s"): (60.0, 120.0, 600.0),
    # Room for the highest demand of this long ago stays (s); never less than one start delay.
    ("scale_in", "peak_memory_s"): (0.0, 600.0, 3600.0),
    # Nodes added on top of the demand expected when they start (% of it).
    ("scale_out", "headroom_pct"): (0.0, 0.0, 25.0),
    # How much of the backlog's expected drain is believed (%): 0 adds nodes for every pending container.
    ("scale_out", "drain_trust_pct"): (100.0, 50.0, 0.0),
}

DEFAULT_BALANCE = 50


def derived(balance: float) -> dict[str, dict[str, float | int]]:
    """Derived is every threshold the balance sets, by section, for a balance in [0, 100]."""
    out: dict[str, dict[str, float | int]] = {}
    for (section, name), (cheap, middle, fast) in BALANCE_TABLE.items():
        if balance <= 50:
            value = cheap + (middle - cheap) * balance / 50.0
        else:
            value = middle + (fast - middle) * (balance - 50.0) / 50.0
        out.setdefault(section, {})[name] = round(value) if name.endswith("_s") else round(value, 1)
    return out


def fill_from_balance(data: Any) -> Any:
    """Fill_from_balance adds to a raw policy mapping every balance-derived threshold it does not set itself."""
    if not isinstance(data, dict):
        return data
    balance = data.get("balance", DEFAULT_BALANCE)
    if isinstance(balance, bool) or not isinstance(balance, int | float) or not 0 <= balance <= 100:
        return data  # the field's own validation names the problem
    merged = dict(data)
    for section, values in derived(balance).items():
        given = merged.get(section)
        if given is None:
            merged[section] = dict(values)
        elif isinstance(given, dict):
            merged[section] = {**values, **given}
    return merged
