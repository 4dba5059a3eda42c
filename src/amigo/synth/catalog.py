"""The brand's stores, sales associates and product catalog."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from amigo.synth.geo import COUNTRIES, words
from amigo.synth.names import name_pool


@dataclass(slots=True)
class Associate:
    """A sales associate of a store."""

    salesperson_id: str
    first_name: str
    last_name: str
    store_id: str
    active: bool


@dataclass(slots=True)
class Store:
    """One of the brand's own stores, as Y2 knows it."""

    store_id: str
    name: str
    address1: str
    address2: str
    zip_code: str
    city: str
    country: str  # alpha-2
    phone: str
    email: str
    opening_hours: str
    region: str  # EUROPE, ASIA, AMERICAS
    zone: str
    currency: str
    staff: int
    associates: list[Associate] = field(default_factory=list)

    @property
    def active_associates(self) -> list[Associate]:
        """Return the associates still working there."""
        return [a for a in self.associates if a.active]


# Twelve stores in fashion capitals; invented addresses on real streets.
_STORES = """
PAR01|AMI Paris Saint-Honoré|54 rue Saint-Honoré||75001|Paris|FR|01 42 60 50 01|Mon-Sat 10:00-19:30, Sun 11:00-19:00|EUROPE|15
PAR02|AMI Paris Le Marais|22 rue de Turenne||75003|Paris|FR|01 42 72 30 02|Mon-Sat 11:00-19:30, Sun 12:00-19:00|EUROPE|10
PAR03|AMI Paris Saint-Germain|109 boulevard Saint-Germain||75006|Paris|FR|01 43 26 40 03|Mon-Sat 10:30-19:30|EUROPE|9
LON01|AMI London Covent Garden|14 Floral Street||WC2E 9DH|London|GB|020 7240 1104|Mon-Sat 10:00-20:00, Sun 12:00-18:00|EUROPE|10
MIL01|AMI Milano Brera|Via Solferino, 12||20121|Milano|IT|02 8645 0105|Mon-Sun 10:00-19:30|EUROPE|8
BER01|AMI Berlin Mitte|Alte Schönhauser Straße 18||10119|Berlin|DE|030 2809 0106|Mon-Sat 11:00-20:00|EUROPE|7
NYC01|AMI New York SoHo|121 Greene Street||10012|New York|US|(212) 226-0107|Mon-Sat 11:00-19:00, Sun 12:00-18:00|AMERICAS|10
LAX01|AMI Los Angeles Melrose|8410 Melrose Place||90069|Los Angeles|US|(323) 655-0108|Mon-Sun 11:00-19:00|AMERICAS|8
TYO01|AMI Tokyo Omotesando|神宮前4-12-10|表参道ヒルズ 1F|150-0001|渋谷区|JP|03-5785-0109|Mon-Sun 11:00-20:00|ASIA|10
TYO02|AMI Tokyo Ginza|銀座6-10-1|GINZA SIX 3F|104-0061|中央区|JP|03-6228-0110|Mon-Sun 10:30-20:30|ASIA|8
SEL01|AMI Seoul Cheongdam|압구정로 446||06015|강남구|KR|02-3446-0111|Mon-Sun 10:30-20:00|ASIA|8
SHA01|AMI Shanghai Jing'an|南京西路 1266号|恒隆广场 2F|200040|静安区|CN|021 6288 0112|Mon-Sun 10:00-22:00|ASIA|9
"""


def build_stores(rng: random.Random) -> list[Store]:
    """Return the twelve stores with their associates (the first one manages the store)."""
    stores: list[Store] = []
    for line in _STORES.strip().splitlines():
        sid, name, a1, a2, zip_code, city, country, phone, hours, region, staff = line.split("|")
        spec = COUNTRIES[country]
        store = Store(
            store_id=sid,
            name=name,
            address1=a1,
            address2=a2,
            zip_code=zip_code,
            city=city,
            country=country,
            phone=phone,
            email=f"{sid.lower()}@stores.ami.example",
            opening_hours=hours,
            region=region,
            zone=spec.zone if sid != "LAX01" else "America/Los_Angeles",
            currency=spec.currency,
            staff=int(staff),
        )
        pool = name_pool(country, spec.language)
        for n in range(1, store.staff + 1):
            female = rng.random() < 0.55
            first = (pool.female if female else pool.male).draw(rng)[0]
            last = pool.last.draw(rng)[0]
            # The manager (n == 1) is active; a few others have left the company.
            active = n == 1 or rng.random() < 0.85
            store.associates.append(Associate(f"V{sid}{n:02d}", first, last, sid, active))
        stores.append(store)
    return stores


@dataclass(frozen=True, slots=True)
class Product:
    """One SKU (style, colour and size) of the catalog."""

    item_code: str
    label: str
    family: str
    collection: str
    season: str
    season_index: int
    price_eur: int
    title: str  # Shopify product title (the style)
    variant_title: str  # Shopify variant title ("Black / M")
    product_id: int
    variant_id: int


SEASONS: tuple[str, ...] = ("FW23", "SS24", "FW24", "SS25", "FW25", "SS26")

_SIZES_CLOTHES = words("XS S M L XL")
_SIZES_SHOES = words("39 40 41 42 43 44 45 46")
_ONE_SIZE = ("TU",)

# family: (SKU code, weight, low and high EUR price, sizes, styles)
_FAMILIES: dict[str, tuple[str, float, int, int, tuple[str, ...], tuple[str, ...]]] = {
    "COATS": (
        "CO",
        0.06,
        590,
        1290,
        _SIZES_CLOTHES,
        words("Wool overcoat|Double-breasted coat|Trench coat|Puffer coat|Cashmere coat", "|"),
    ),
    "JACKETS": (
        "JK",
        0.08,
        390,
        890,
        _SIZES_CLOTHES,
        words("Bomber jacket|Harrington jacket|Blazer|Suede jacket|Denim jacket|Field jacket", "|"),
    ),
    "KNITWEAR": (
        "KN",
        0.13,
        250,
        590,
        _SIZES_CLOTHES,
        words("Crewneck sweater|Cardigan|Merino turtleneck|Mohair sweater|Cable-knit sweater", "|"),
    ),
    "SHIRTS": (
        "SH",
        0.1,
        190,
        320,
        _SIZES_CLOTHES,
        words("Oxford shirt|Poplin shirt|Striped shirt|Flannel shirt|Overshirt", "|"),
    ),
    "TSHIRTS": (
        "TS",
        0.13,
        90,
        180,
        _SIZES_CLOTHES,
        words("Heart logo t-shirt|Organic cotton t-shirt|Long-sleeve t-shirt|Polo shirt", "|"),
    ),
    "SWEATSHIRTS": (
        "SW",
        0.08,
        220,
        390,
        _SIZES_CLOTHES,
        words("Heart logo sweatshirt|Hoodie|Zip hoodie", "|"),
    ),
    "TROUSERS": (
        "TR",
        0.09,
        250,
        420,
        _SIZES_CLOTHES,
        words("Pleated trousers|Chino trousers|Wide-leg trousers|Cargo trousers", "|"),
    ),
    "DENIM": (
        "DN",
        0.06,
        220,
        350,
        _SIZES_CLOTHES,
        words("Straight-fit jeans|Tapered jeans|Wide-leg jeans", "|"),
    ),
    "DRESSES": (
        "DR",
        0.05,
        350,
        690,
        _SIZES_CLOTHES,
        words("Midi dress|Shirt dress|Knitted dress|Slip dress", "|"),
    ),
    "SKIRTS": (
        "SK",
        0.04,
        250,
        450,
        _SIZES_CLOTHES,
        words("Pleated skirt|Midi skirt|Denim skirt|Mini skirt", "|"),
    ),
    "SHOES": (
        "SO",
        0.07,
        350,
        690,
        _SIZES_SHOES,
        words("Leather sneakers|Derby shoes|Chelsea boots|Loafers|Running sneakers", "|"),
    ),
    "BAGS": (
        "BG",
        0.05,
        390,
        1100,
        _ONE_SIZE,
        words("Tote bag|Crossbody bag|Backpack|Pouch|Weekender bag", "|"),
    ),
    "ACCESSORIES": (
        "AC",
        0.06,
        60,
        250,
        _ONE_SIZE,
        words("Beanie|Cap|Scarf|Socks|Belt|Card holder|Bucket hat", "|"),
    ),
}
_COLLECTIONS = words("AMI DE COEUR|ESSENTIALS|RUNWAY|CAPSULE|AMI ALEXANDRE MATTIUSSI", "|")
_COLLECTION_WEIGHTS = (0.35, 0.3, 0.15, 0.1, 0.1)
_COLOURS = (
    ("001", "Black"),
    ("410", "Navy"),
    ("150", "Off-white"),
    ("055", "Heather grey"),
    ("250", "Camel"),
    ("600", "Red"),
    ("300", "Green"),
    ("200", "Brown"),
    ("280", "Beige"),
    ("450", "Sky blue"),
    ("610", "Burgundy"),
)


def product_count(customers: int) -> int:
    """Return how many SKUs a catalog has for a customer base (45 K at 1.2 M customers)."""
    return max(200, round(customers * 45_000 / 1_200_000))


def build_products(rng: random.Random, count: int) -> list[Product]:
    """Return `count` SKUs: styles in a few colours and every size, spread over the seasons."""
    families = list(_FAMILIES)
    weights = [_FAMILIES[f][1] for f in families]
    products: list[Product] = []
    style = 0
    product_id = 8_100_000_000_000
    variant_id = 44_000_000_000_000
    while len(products) < count:
        style += 1
        family = rng.choices(families, weights)[0]
        code, _, low, high, sizes, styles = _FAMILIES[family]
        season_index = style % len(SEASONS)
        season = SEASONS[season_index]
        collection = rng.choices(_COLLECTIONS, _COLLECTION_WEIGHTS)[0]
        base = rng.choice(styles)
        title = f"Ami de Coeur {base.lower()}" if collection == "AMI DE COEUR" else base
        price = round(rng.randint(low, high) / 10) * 10
        product_id += rng.randint(1, 5000)
        for colour_code, colour in rng.sample(_COLOURS, rng.randint(1, 3)):
            for size in sizes:
                if len(products) >= count:
                    break
                variant_id += rng.randint(1, 500)
                products.append(
                    Product(
                        item_code=f"{season}{code}{style:05d}-{colour_code}-{size}",
                        label=f"{title} - {colour} - {size}",
                        family=family,
                        collection=collection,
                        season=season,
                        season_index=season_index,
                        price_eur=price,
                        title=title,
                        variant_title=f"{colour} / {size}",
                        product_id=product_id,
                        variant_id=variant_id,
                    )
                )
    return products


def season_index_at(ts_day_iso: str) -> int:
    """Return the index in SEASONS of the season on sale at an ISO date (clamped)."""
    year = int(ts_day_iso[:4])
    month = int(ts_day_iso[5:7])
    # FW23 starts in July 2023; every half year opens the next season.
    halves = (year - 2023) * 2 + (1 if month >= 7 else 0) - 1
    return max(0, min(len(SEASONS) - 1, halves))
