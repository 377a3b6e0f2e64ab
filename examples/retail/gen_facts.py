"""Example facts for the retail policy (policy.rule here; LANGUAGE.md's "A whole policy").

Each record is one decision's facts, ``{"item": {...}, "customer": {...}, "order": {...}}``,
with exactly the fields the policy's ``facts`` blocks declare:

* item: sku, category (bags, shoes, ready_to_wear, jewelry, beauty), description (a
  realistic product text; about a quarter of ready-to-wear is evening gowns, evening
  dresses and cocktail dresses, for the similarity model), base_price (money, 2 dp,
  by category, up to 100000), cost (money, mostly below base price, above it for about
  5 % so the margin floor acts), stock (int, 0 for about 7 %), new_collection (bool);
* customer: tier (standard, gold, vic), lifetime_value (money; omitted for about 20 %,
  it is optional);
* order: discount (a decimal fraction 0 .. 0.9 such as 0.15, above 0.8 for about 3 %),
  channel (web, store, app).

Money and discounts are written as JSON numbers with exactly two decimals
(``1250.00``), so a reader that parses decimals sees no binary rounding. Stdlib only;
the same seed gives the same files.

Files (``python examples/retail/gen_facts.py`` rewrites the committed ones):

* ``facts.jsonl`` -- 5,000 records, one JSON object a line;
* ``facts.csv`` -- the first 500, flattened to columns ``item.sku``, ``customer.tier``, ...;
  booleans as ``true``/``false``, an empty cell for a missing optional field;
* ``bad_facts.jsonl`` -- 20 lines mixing good records with bad ones (see ``BAD_CASES``)
  for the rejects path.

``--n 100000 --out big.jsonl`` writes only a larger JSONL file, for benchmarks.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import random
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SEED = 20261101
CSV_ROWS = 500
CENT = Decimal("0.01")

# category -> (weight, sku prefix, lowest and highest base price; log-uniform between)
CATEGORIES = {
    "bags": (0.22, "BAG", 450.0, 14000.0),
    "shoes": (0.20, "SHO", 250.0, 2800.0),
    "ready_to_wear": (0.30, "RTW", 150.0, 9000.0),
    "jewelry": (0.10, "JWL", 300.0, 100000.0),
    "beauty": (0.18, "BTY", 18.0, 450.0),
}
EVENING_PRICES = (1800.0, 25000.0)

# Words for product descriptions, by category.
COLORS = (
    "black",
    "ivory",
    "navy",
    "burgundy",
    "camel",
    "emerald green",
    "blush pink",
    "silver",
    "midnight blue",
    "red",
    "taupe",
    "forest green",
)
BAG_MATERIALS = (
    "quilted lambskin",
    "grained calfskin",
    "canvas and leather",
    "crocodile-embossed leather",
    "suede",
    "patent leather",
)
BAG_STYLES = (
    "tote",
    "shoulder bag",
    "crossbody bag",
    "clutch",
    "top-handle bag",
    "bucket bag",
    "saddle bag",
    "mini bag",
)
BAG_DETAILS = (
    "a chain strap",
    "gold-tone hardware",
    "a detachable strap",
    "a turn-lock closure",
    "a magnetic flap",
    "contrast stitching",
)
SHOE_STYLES = (
    "pumps",
    "ankle boots",
    "loafers",
    "sneakers",
    "sandals",
    "ballet flats",
    "slingbacks",
    "mules",
    "knee-high boots",
)
SHOE_MATERIALS = ("calfskin", "suede", "patent leather", "satin", "nappa leather")
HEELS = ("", "", " with a 40 mm heel", " with an 85 mm heel", " with a 105 mm heel")
EVENING = (
    "evening gown",
    "long evening gown",
    "evening dress",
    "cocktail dress",
    "strapless evening gown",
    "beaded cocktail dress",
)
EVENING_MATERIALS = ("silk satin", "silk chiffon", "velvet", "crepe", "sequined tulle")
EVENING_DETAILS = (
    "a draped back",
    "a thigh-high slit",
    "hand embroidery",
    "a corset bodice",
    "a fishtail hem",
    "crystal embellishment",
)
DAYWEAR = (
    "wool tailored blazer",
    "cotton gabardine trench coat",
    "cashmere crew-neck sweater",
    "cotton poplin shirt",
    "wool wide-leg trousers",
    "pleated silk midi skirt",
    "linen shirt dress",
    "jersey wrap dress",
    "tweed cropped jacket",
    "cashmere cardigan",
    "slim denim jeans",
    "cotton knit polo",
    "leather biker jacket",
    "silk blouse",
)
METALS = ("18k yellow gold", "18k white gold", "18k rose gold", "platinum", "sterling silver")
PIECES = (
    "ring",
    "pendant necklace",
    "bracelet",
    "hoop earrings",
    "stud earrings",
    "cuff",
    "tennis bracelet",
    "signet ring",
)
STONES = ("diamonds", "a sapphire", "an emerald", "pearls", "onyx", "a ruby")
BEAUTY = (
    "Eau de parfum 100 ml",
    "Eau de toilette 50 ml",
    "Matte lipstick",
    "Satin lipstick",
    "Hydrating face serum 30 ml",
    "Night cream 50 ml",
    "Eyeshadow palette",
    "Nail lacquer",
    "Foundation SPF 15",
    "Body lotion 200 ml",
    "Mascara",
)
EDITIONS = ("classic", "limited edition", "refillable", "travel size")


def _bag(rng: random.Random) -> str:
    color, material = rng.choice(COLORS).capitalize(), rng.choice(BAG_MATERIALS)
    return f"{color} {material} {rng.choice(BAG_STYLES)} with {rng.choice(BAG_DETAILS)}"


def _shoe(rng: random.Random) -> str:
    color, material = rng.choice(COLORS).capitalize(), rng.choice(SHOE_MATERIALS)
    return f"{color} {material} {rng.choice(SHOE_STYLES)}{rng.choice(HEELS)}"


def _garment(rng: random.Random) -> str:
    """A quarter of ready-to-wear is evening wear (gowns, evening and cocktail dresses)."""
    color = rng.choice(COLORS).capitalize()
    if rng.random() < 0.25:
        material, detail = rng.choice(EVENING_MATERIALS), rng.choice(EVENING_DETAILS)
        return f"{color} {material} {rng.choice(EVENING)} with {detail}"
    return f"{color} {rng.choice(DAYWEAR)}"


def _jewel(rng: random.Random) -> str:
    metal = rng.choice(METALS).capitalize()
    return f"{metal} {rng.choice(PIECES)} set with {rng.choice(STONES)}"


def _beauty(rng: random.Random) -> str:
    return f"{rng.choice(BEAUTY)}, {rng.choice(EDITIONS)}"


DESCRIBERS: dict[str, Callable[[random.Random], str]] = {
    "bags": _bag,
    "shoes": _shoe,
    "ready_to_wear": _garment,
    "jewelry": _jewel,
    "beauty": _beauty,
}


# ---- records -----------------------------------------------------------------------------


def money(value: float) -> Decimal:
    """A float rounded to cents, as an exact Decimal."""
    return Decimal(str(value)).quantize(CENT)


def generate(n: int, seed: int = DEFAULT_SEED) -> Iterator[dict[str, dict[str, Any]]]:
    """Yield ``n`` records; money and discounts are Decimals with two decimals."""
    rng = random.Random(seed)
    names = list(CATEGORIES)
    weights = [spec[0] for spec in CATEGORIES.values()]
    for i in range(n):
        category = rng.choices(names, weights)[0]
        yield {"item": item(rng, category, i), "customer": customer(rng), "order": order(rng)}


def item(rng: random.Random, category: str, index: int) -> dict[str, Any]:
    """The item block: price by category (evening wear dearer), cost, stock, flags."""
    _, prefix, low, high = CATEGORIES[category]
    description = DESCRIBERS[category](rng)
    if any(word in description for word in ("gown", "evening", "cocktail")):
        low, high = EVENING_PRICES
    base = _log_uniform(rng, low, high)
    ratio = rng.uniform(1.0, 1.3) if rng.random() < 0.05 else rng.uniform(0.25, 0.7)
    return {
        "sku": f"{prefix}-{index + 1:06d}",
        "category": category,
        "description": description,
        "base_price": money(base),
        "cost": money(min(base * ratio, 100000.0)),
        "stock": _stock(rng, category),
        "new_collection": rng.random() < 0.2,
    }


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _stock(rng: random.Random, category: str) -> int:
    """0 for about 7 %; beauty is stocked by the thousand, luxury goods by the unit."""
    if rng.random() < 0.07:
        return 0
    if category == "beauty":
        return rng.randint(50, 100000)
    return rng.randint(1, 60) if rng.random() < 0.9 else rng.randint(61, 2000)


def customer(rng: random.Random) -> dict[str, Any]:
    """Tier, and a lifetime value for about 80 % (it is optional)."""
    tier = rng.choices(("standard", "gold", "vic"), (0.7, 0.2, 0.1))[0]
    block: dict[str, Any] = {"tier": tier}
    if rng.random() < 0.8:
        mean = {"standard": 4000.0, "gold": 40000.0, "vic": 400000.0}[tier]
        block["lifetime_value"] = money(min(rng.expovariate(1 / mean), 10_000_000.0))
    return block


def order(rng: random.Random) -> dict[str, Any]:
    """A proposed discount (none for half the orders, over 80 % for about 3 %) and a channel."""
    u = rng.random()
    if u < 0.5:
        discount = 0
    elif u < 0.97:
        discount = rng.choice(range(5, 80, 5))
    else:
        discount = rng.choice((85, 90))
    channel = rng.choices(("web", "store", "app"), (0.5, 0.3, 0.2))[0]
    return {"discount": (Decimal(discount) / 100).quantize(CENT), "channel": channel}


# ---- bad records -------------------------------------------------------------------------


def _set(block: str, field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda record: record[block].__setitem__(field, value)


def _drop(block: str, field: str | None = None) -> Callable[[dict[str, Any]], None]:
    if field is None:
        return lambda record: record.pop(block)
    return lambda record: record[block].pop(field)


def _several(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(record: dict[str, Any]) -> None:
        for change in changes:
            change(record)

    return apply


# (what is wrong, how to break a good record); None: the good record as it is,
# "invalid json": the line is cut short.
BAD_CASES: tuple[tuple[str, Callable[[dict[str, Any]], None] | str | None], ...] = (
    ("good", None),
    ("wrong type: base_price is a string", _set("item", "base_price", "cheap")),
    ("out of range: negative stock", _set("item", "stock", -5)),
    ("outside the enumeration: category hats", _set("item", "category", "hats")),
    ("good", None),
    ("missing required field: item.cost", _drop("item", "cost")),
    ("invalid JSON", "invalid json"),
    ("several at once: tier, discount, channel, stock", _several(
        _set("customer", "tier", "platinum"), _set("order", "discount", Decimal("1.5")),
        _set("order", "channel", "phone"), _set("item", "stock", 2.5))),
    ("good, no lifetime_value (optional)", _drop("customer", "lifetime_value")),
    ("wrong type: new_collection is the string yes", _set("item", "new_collection", "yes")),
    ("missing block: order", _drop("order")),
    ("out of range: base_price above 100000", _set("item", "base_price", Decimal("250000.00"))),
    ("good", None),
    ("out of range: negative discount", _set("order", "discount", Decimal("-0.10"))),
    ("wrong type: stock is fractional", _set("item", "stock", 3.5)),
    ("outside the enumeration: tier in upper case", _set("customer", "tier", "VIC")),
    ("good, discount above 80 %", _set("order", "discount", Decimal("0.85"))),
    ("wrong type: lifetime_value is a string", _set("customer", "lifetime_value", "n/a")),
    ("missing required field: customer.tier", _drop("customer", "tier")),
    ("good", None),
)  # fmt: skip


def bad_lines(good: list[dict[str, Any]]) -> list[str]:
    """One JSONL line per ``BAD_CASES`` entry, each built from the next good record."""
    lines = []
    for (_, change), record in zip(BAD_CASES, good, strict=False):
        record = copy.deepcopy(record)
        if change == "invalid json":
            lines.append(dumps(record)[:-7])
            continue
        if callable(change):
            change(record)
        lines.append(dumps(record))
    return lines


# ---- writers -----------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """Compact JSON in which a Decimal is written as a number with its own digits."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


def flatten(record: dict[str, dict[str, Any]]) -> dict[str, str]:
    """``{"item": {"sku": ...}}`` -> ``{"item.sku": ...}`` as CSV cells."""
    return {f"{block}.{k}": _cell(v) for block, fields in record.items() for k, v in fields.items()}


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def csv_columns() -> list[str]:
    """Every column, in declaration order (lifetime_value included even when missing)."""
    item_fields = ("sku", "category", "description", "base_price", "cost", "stock",
                   "new_collection")  # fmt: skip
    return ([f"item.{f}" for f in item_fields] + ["customer.tier", "customer.lifetime_value"]
            + ["order.discount", "order.channel"])  # fmt: skip


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(dumps(r) + "\n" for r in records), encoding="utf-8")


def write_csv(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, csv_columns(), restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(flatten(r) for r in records)


def main(argv: list[str] | None = None) -> int:
    """CLI: rewrite the example files, or with --out write N records to one JSONL file."""
    parser = argparse.ArgumentParser(description="Generate facts for examples/retail.")
    parser.add_argument("--n", type=int, default=5000, help="records in the JSONL file (5000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, help="write only this JSONL file")
    parser.add_argument("--dir", type=Path, default=HERE, help="where the three files go")
    args = parser.parse_args(argv)
    records = list(generate(args.n, args.seed))
    if args.out:
        write_jsonl(args.out, records)
        return 0
    write_jsonl(args.dir / "facts.jsonl", records)
    write_csv(args.dir / "facts.csv", records[:CSV_ROWS])
    good = list(generate(len(BAD_CASES), args.seed + 1))
    lines = bad_lines(good)
    (args.dir / "bad_facts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
