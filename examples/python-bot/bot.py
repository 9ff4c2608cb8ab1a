#!/usr/bin/env python3
"""A market-making bot for mmsoak's `--source fills`, in Python 3 with the standard
library only.

It trades a paper market of its own: the mid is a seeded random walk; the bot
quotes a bid and an ask at mid -/+ half of `base_spread_bps` (shifted against its
inventory by `inventory_skew`); a quote fills when the walk crosses it. Beyond
`max_delta_ratio` of its inventory limit it quotes only the side that reduces the
position (the other side is a `risk` block); at the limit it hedges with a taker
order through the touch. A requote sooner than `min_interval_ms` after the last is
a `min_interval` block.

The contract with mmsoak (README.md beside this file):
  * parameters come from runtime_overrides.json (env MMSOAK_OVERRIDES, or
    --overrides); the bot re-reads it whenever it changes (mtime, size, inode or
    contents) and applies it at once;
  * it appends JSON lines to the fills log (env MMSOAK_FILLS, or --fills): a
    `fill` (with the parameters it traded with), a `block`, a `mid` sample.
"""

import argparse
import json
import math
import os
import random
import sys
import time

# Parameters until runtime_overrides.json exists (mmsoak's steady_safe profile).
DEFAULTS = {
    "base_spread_bps": 8.0,
    "min_interval_ms": 75,
    "impact_cap_ratio": 0.10,
    "max_delta_ratio": 0.30,
    "concurrency_limit": 4,
    "tail_age_ms": 1500,
    "inventory_skew": 0.5,
}
MAKER_FEE_BPS = -0.2  # a rebate: the fee is negative
TAKER_FEE_BPS = 2.0
MARKET_HALF_SPREAD_BPS = 0.5  # the paper market's own touch around the mid
HEDGE_SLIPPAGE_BPS = 0.5  # a hedge pays this beyond the touch


def log(msg):
    print(f"bot: {msg}", file=sys.stderr, flush=True)


class Overrides:
    """Watches runtime_overrides.json; `poll()` returns new parameters when it changed."""

    def __init__(self, path):
        self.path = path
        self.seen = None  # (mtime_ns, size, inode) last read
        self.text = None
        self.params = dict(DEFAULTS)

    def poll(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        if key == self.seen:
            return None
        self.seen = key
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            log(f"cannot read {self.path}: {e}")
            return None
        if text == self.text:
            return None
        self.text = text
        try:
            new = json.loads(text)
        except ValueError as e:
            log(f"ignored {self.path}: not JSON: {e}")
            return None
        if not isinstance(new, dict) or not all(k in new for k in DEFAULTS):
            log(f"ignored {self.path}: not a full parameter set")
            return None
        old, self.params = self.params, new
        return old


def describe(old, new):
    return ", ".join(f"{k} {old.get(k)} -> {new[k]}" for k in new if old.get(k) != new[k]) or "no change"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--overrides", default=os.environ.get("MMSOAK_OVERRIDES", "artifacts/soak/runtime_overrides.json"))
    ap.add_argument("--fills", default=os.environ.get("MMSOAK_FILLS", "fills.jsonl"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tick-ms", type=float, default=10.0, help="wall-clock ms between market steps")
    ap.add_argument("--speed", type=float, default=1.0, help="market time per wall-clock time (stamps in fills)")
    ap.add_argument("--vol-bps", type=float, default=1.5, help="stdev of the mid's move per step, bps")
    ap.add_argument("--size", type=float, default=0.1, help="quote size, base units")
    ap.add_argument("--limit", type=float, default=1.0, help="inventory limit, base units")
    ap.add_argument("--mid-every", type=int, default=5, help="write a mid sample every N steps")
    ap.add_argument("--duration", type=float, default=0.0, help="stop after this many wall seconds (0: never)")
    a = ap.parse_args()
    if not (a.tick_ms > 0 and a.speed > 0 and a.size > 0 and a.limit > 0 and a.mid_every > 0):
        ap.error("--tick-ms, --speed, --size, --limit and --mid-every must be above 0")

    rng = random.Random(a.seed)
    overrides = Overrides(a.overrides)
    overrides.poll()
    p = overrides.params
    out = open(a.fills, "a", encoding="utf-8")
    log(f"trading a paper market (seed {a.seed}); watching {a.overrides}; fills to {a.fills}; params {p}")

    start_wall = time.monotonic()
    start_ms = int(time.time() * 1000)
    mid = 100.0
    inventory = 0.0
    last_quote_ms = -1e18
    bid = ask = None
    step = 0

    def now_ms():
        return start_ms + int((time.monotonic() - start_wall) * 1000 * a.speed)

    def write(obj):
        out.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def touch():
        h = mid * MARKET_HALF_SPREAD_BPS / 1e4
        return mid - h, mid + h

    while a.duration <= 0 or time.monotonic() - start_wall < a.duration:
        old = overrides.poll()
        if old is not None:
            p = overrides.params
            log(f"applied overrides: {describe(old, p)}")
            bid = ask = None  # requote with the new parameters at once
        t = now_ms()
        lines = []
        # Quote (or requote after a fill or a change, or when the quotes are older
        # than tail_age_ms: a one-sided quote the market walked away from would
        # otherwise sit there forever), throttled by min_interval_ms.
        if (bid is None and ask is None) or t - last_quote_ms >= p["tail_age_ms"]:
            if t - last_quote_ms < p["min_interval_ms"]:
                lines.append({"type": "block", "time_ms": t, "reason": "min_interval"})
            else:
                half = mid * p["base_spread_bps"] / 2 / 1e4
                skew = p["inventory_skew"] * (inventory / a.limit) * half
                soft = p["max_delta_ratio"] * a.limit
                bid, ask = mid - half - skew, mid + half - skew
                if inventory >= soft:
                    bid = None
                    lines.append({"type": "block", "time_ms": t, "reason": "risk"})
                if inventory <= -soft:
                    ask = None
                    lines.append({"type": "block", "time_ms": t, "reason": "risk"})
                last_quote_ms = t
        # The market moves; a quote the walk crosses fills at its price.
        before = mid
        mid = mid * math.exp(rng.gauss(0.0, a.vol_bps / 1e4))
        b, k = touch()
        for side, price in (("buy", bid), ("sell", ask)):
            if price is None:
                continue
            crossed = mid < price if side == "buy" else mid > price
            if not crossed:
                continue
            qty = a.size
            inventory += qty if side == "buy" else -qty
            fee = MAKER_FEE_BPS / 1e4 * price * qty
            lines.append({"type": "fill", "time_ms": t, "side": side, "price": round(price, 8), "quantity": qty,
                          "fee": fee, "liquidity": "maker", "mid": round(before, 8), "params": p})
            bid = ask = None  # requote
        # At the limit: hedge back to the soft limit through the touch.
        if abs(inventory) >= a.limit - 1e-12:
            side = "sell" if inventory > 0 else "buy"
            qty = abs(inventory) - p["max_delta_ratio"] * a.limit
            through = 1 + HEDGE_SLIPPAGE_BPS / 1e4
            price = b / through if side == "sell" else k * through
            inventory += qty if side == "buy" else -qty
            lines.append({"type": "fill", "time_ms": t, "side": side, "price": round(price, 8), "quantity": qty,
                          "fee": TAKER_FEE_BPS / 1e4 * price * qty, "liquidity": "taker", "mid": round(mid, 8),
                          "bid": round(b, 8), "ask": round(k, 8), "params": p})
        if step % a.mid_every == 0:
            lines.append({"type": "mid", "time_ms": t, "mid": round(mid, 8), "bid": round(b, 8), "ask": round(k, 8)})
        for line in lines:
            write(line)
        out.flush()
        step += 1
        time.sleep(a.tick_ms / 1000)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
