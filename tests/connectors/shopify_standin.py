"""A stand-in for Shopify's GraphQL Admin API: a real HTTP server on loopback, faults on demand.

It serves ``POST /admin/api/<version>/graphql.json`` as Shopify does: the
``X-Shopify-Access-Token`` header is checked (401 with Shopify's body
otherwise), the query is parsed with graphql-core and answered from an
in-memory shop generated from a seed (customers with 0 to 3 orders each, in
the 2026-01 schema's shapes: ``gid://`` ids, enums in upper case, money as
``MoneyBag``), with opaque base64 cursors and ``pageInfo``. The calculated
query cost is Shopify's (an object 1 point, a connection 2 plus ``first``
times its node), a single query may cost at most 1,000 points
(``MAX_COST_EXCEEDED``), and a leaky bucket answers ``THROTTLED`` when it
holds less than the requested cost, with ``extensions.cost`` on every answer.

Faults are drawn per call from a seeded generator, so a run is reproducible:
HTTP 429 with ``Retry-After``, 500/502/503, answers slower than the client's
timeout, connections closed without an answer; ``die_after`` pages makes
every later call a dropped connection (a shop gone away mid-backfill).

Importable by the tests (``from connectors.shopify_standin import ...``) and
by ``benchmarks/bench_shopify_backfill.py`` (``tests/`` on ``sys.path``);
``python tests/connectors/shopify_standin.py --customers N`` serves one on
its own (the port on the first line of output).
"""

from __future__ import annotations

import argparse
import base64
import bisect
import json
import random
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    value_from_ast_untyped,
)

TOKEN = "shpat_standin_0123456789abcdef0123456789ab"  # noqa: S105 - the stand-in's own token
SHOP = "amigo-standin.myshopify.com"
MAX_QUERY_COST = 1000
_PATH = re.compile(r"^/admin/api/(?P<version>[0-9]{4}-[0-9]{2}|unstable)/graphql\.json$")

# ---------------------------------------------------------------- the shop's data

_FIRST = (  # noqa: SIM905 - a list of words reads best as words
    "Camille Léa Manon Chloé Inès Jade Louise Emma Sarah Zoé Hugo Lucas Louis Gabriel "
    "Arthur Jules Nathan Raphaël Mathis Théo Anna Sofia Mia Noah Liam Elena Marco Giulia "
    "Lena Jonas"
).split()
_LAST = (  # noqa: SIM905 - a list of words reads best as words
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Müller Schmidt Rossi "
    "Bianchi Smith Jones Taylor Brown Dupont Lambert"
).split()
# (country code, country, cities with postal codes, phone prefix)
_PLACES = (
    ("FR", "France", (("Paris", "750{:02d}"), ("Lyon", "6900{:d}"), ("Lille", "5900{:d}")), "+336"),
    ("BE", "Belgium", (("Bruxelles", "10{:02d}"), ("Liège", "40{:02d}")), "+3247"),
    ("DE", "Germany", (("Berlin", "101{:02d}"), ("München", "803{:02d}")), "+49151"),
    ("GB", "United Kingdom", (("London", "SW1A {:d}AA"), ("Leeds", "LS1 {:d}AB")), "+447700"),
    ("IT", "Italy", (("Milano", "201{:02d}"), ("Roma", "001{:02d}")), "+39347"),
)
_STREETS = ("rue de Rivoli", "avenue Foch", "Hauptstraße", "Baker Street", "via Roma", "rue Neuve")
_PRODUCTS = (
    ("AMI-TS-001", "Ami de Coeur T-shirt", Decimal("95.00")),
    ("AMI-SW-014", "Ami de Coeur sweatshirt", Decimal("290.00")),
    ("AMI-SC-003", "Wool scarf", Decimal("150.00")),
    ("AMI-CP-007", "Cap", Decimal("110.00")),
    ("AMI-JK-021", "Wool jacket", Decimal("790.00")),
    ("AMI-SN-002", "Low-top sneakers", Decimal("350.00")),
)
_FINANCIAL = (
    ("PAID", 80),
    ("REFUNDED", 6),
    ("PARTIALLY_REFUNDED", 4),
    ("PENDING", 6),
    ("VOIDED", 4),
)
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def gid(kind: str, number: int) -> str:
    """Return a global id as Shopify writes it."""
    return f"gid://shopify/{kind}/{number}"


def _when(moment: datetime) -> str:
    """Format a time as the Admin API does: UTC with a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(amount: Decimal) -> dict[str, Any]:
    """Return a MoneyBag; GraphQL's Decimal drops trailing zeros but keeps one decimal."""
    text = format(amount.normalize(), "f")
    text = text if "." in text else text + ".0"
    money = {"amount": text, "currencyCode": "EUR"}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


@dataclass
class Shop:
    """The shop's customers and orders as GraphQL nodes, in id order."""

    customers: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    rejected_customers: int  # customers nothing identifies (AMIgo must reject them)

    @property
    def records(self) -> int:
        """Return how many customers and orders the shop holds."""
        return len(self.customers) + len(self.orders)


def generate_shop(customers: int, *, seed: int = 7, unidentifiable_every: int = 97) -> Shop:
    """Generate a shop deterministically: the same arguments give the same nodes."""
    rng = random.Random(seed)
    nodes: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    customer_id, order_id = 7_310_000_000_000, 6_120_000_000_000
    line_id = address_id = 0
    order_number = 1000
    rejected = 0
    for index in range(customers):
        customer_id += 1 + rng.randrange(40)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        code, country, cities, prefix = rng.choice(_PLACES)
        city, postal = rng.choice(cities)
        created = _EPOCH + timedelta(seconds=rng.randrange(60 * 86_400 * 10))
        updated = created + timedelta(seconds=rng.randrange(90 * 86_400))
        ascii_name = f"{first}.{last}".lower().translate(str.maketrans("éèëïüöä", "eeeiuoa"))
        email = f"{ascii_name}{index + 1}@example.{code.lower()}"
        phone = f"{prefix}{rng.randrange(10**7, 10**8)}" if rng.random() < 0.7 else None
        bad = unidentifiable_every > 0 and index % unidentifiable_every == unidentifiable_every - 1
        if bad:  # a stub account: no email, no phone, no address
            rejected += 1
            email, phone = "", None
        address = None
        if not bad and rng.random() < 0.85:
            address_id += 1
            address = {
                "id": gid("MailingAddress", 9_100_000_000 + address_id)
                + "?model_name=CustomerAddress",
                "firstName": first,
                "lastName": last,
                "company": None,
                "address1": f"{rng.randrange(1, 180)} {rng.choice(_STREETS)}",
                "address2": "Apt 4" if rng.random() < 0.1 else None,
                "city": city,
                "province": None,
                "provinceCode": None,
                "country": country,
                "countryCodeV2": code,
                "zip": postal.format(rng.randrange(1, 10)),
                "phone": phone,
            }
        consent_at = created + timedelta(minutes=rng.randrange(1, 600))
        subscribed = rng.random() < 0.45
        email_address = None
        if email:
            email_address = {
                "emailAddress": email,
                "marketingState": "SUBSCRIBED"
                if subscribed
                else rng.choice(("NOT_SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED")),
                "marketingOptInLevel": rng.choice(("SINGLE_OPT_IN", "CONFIRMED_OPT_IN")),
                "marketingUpdatedAt": _when(consent_at) if subscribed else None,
            }
        phone_number = None
        if phone:
            sms = rng.random() < 0.25
            phone_number = {
                "phoneNumber": phone,
                "marketingState": "SUBSCRIBED" if sms else "NOT_SUBSCRIBED",
                "marketingOptInLevel": "SINGLE_OPT_IN",
                "marketingUpdatedAt": _when(consent_at) if sms else None,
                "marketingCollectedFrom": "SHOPIFY" if sms else None,
            }
        tags = [tag for tag, p in (("VIP", 0.03), ("newsletter", 0.3)) if rng.random() < p]
        customer: dict[str, Any] = {
            "id": gid("Customer", customer_id),
            "legacyResourceId": str(customer_id),
            "firstName": None if bad else first,
            "lastName": None if bad else last,
            "displayName": f"{first} {last}",
            "createdAt": _when(created),
            "updatedAt": _when(updated),
            "state": rng.choice(("ENABLED", "ENABLED", "DISABLED", "INVITED")),
            "verifiedEmail": bool(email),
            "locale": {"FR": "fr", "BE": "fr", "DE": "de", "GB": "en", "IT": "it"}[code],
            "note": None,
            "tags": tags,
            "defaultEmailAddress": email_address,
            "defaultPhoneNumber": phone_number,
            "defaultAddress": address,
            "addresses": [address] if address else [],
            "numberOfOrders": "0",
            "amountSpent": {"amount": "0.0", "currencyCode": "EUR"},
        }
        nodes.append(customer)
        for _ in range(0 if bad else rng.choice((0, 1, 1, 2, 2, 3))):
            order_id += 1 + rng.randrange(5000)
            order_number += 1
            placed = updated + timedelta(seconds=rng.randrange(1, 200 * 86_400))
            lines = []
            total = discounts = Decimal(0)
            for _line in range(1 + min(int(rng.expovariate(1.2)), 6)):
                line_id += 1
                sku, title, price = rng.choice(_PRODUCTS)
                quantity = 2 if rng.random() < 0.08 else 1
                discount = (
                    (price * quantity / 10).quantize(Decimal("0.01"))
                    if rng.random() < 0.1
                    else Decimal(0)
                )
                total += price * quantity - discount
                discounts += discount
                lines.append(
                    {
                        "id": gid("LineItem", 14_200_000_000_000 + line_id),
                        "sku": sku,
                        "title": title,
                        "name": title,
                        "quantity": quantity,
                        "originalUnitPriceSet": _money(price),
                        "totalDiscountSet": _money(discount),
                    }
                )
            financial = rng.choices([name for name, _w in _FINANCIAL], [w for _n, w in _FINANCIAL])[
                0
            ]
            cancelled = financial == "VOIDED" or rng.random() < 0.02
            orders.append(
                {
                    "id": gid("Order", order_id),
                    "legacyResourceId": str(order_id),
                    "name": f"#{order_number}",
                    "email": email or None,
                    "createdAt": _when(placed),
                    "processedAt": _when(placed),
                    "updatedAt": _when(placed + timedelta(hours=rng.randrange(1, 72))),
                    "cancelledAt": _when(placed + timedelta(hours=2)) if cancelled else None,
                    "cancelReason": "CUSTOMER" if cancelled else None,
                    "currencyCode": "EUR",
                    "totalPriceSet": _money(total),
                    "subtotalPriceSet": _money(total),
                    "totalDiscountsSet": _money(discounts),
                    "displayFinancialStatus": financial,
                    "displayFulfillmentStatus": "UNFULFILLED" if cancelled else "FULFILLED",
                    "paymentGatewayNames": ["shopify_payments"]
                    if rng.random() < 0.8
                    else ["paypal"],
                    "customer": customer,
                    "lineItems": lines,
                }
            )
    orders.sort(key=lambda order: _number(order["id"]))
    return Shop(nodes, orders, rejected)


def _number(global_id: str) -> int:
    return int(global_id.rpartition("/")[2].partition("?")[0])


# ---------------------------------------------------------------- cost and answers


def _arguments(node: FieldNode, variables: dict[str, Any]) -> dict[str, Any]:
    return {
        argument.name.value: value_from_ast_untyped(argument.value, variables)
        for argument in node.arguments or ()
    }


def _fields(selection: SelectionSetNode | None) -> Iterator[FieldNode]:
    for item in selection.selections if selection is not None else ():
        if isinstance(item, FieldNode):
            yield item


def _node_selection(connection: FieldNode) -> SelectionSetNode | None:
    """Return what a connection selects of each node (through ``nodes`` or ``edges.node``)."""
    for child in _fields(connection.selection_set):
        if child.name.value == "nodes":
            return child.selection_set
        if child.name.value == "edges":
            for grandchild in _fields(child.selection_set):
                if grandchild.name.value == "node":
                    return grandchild.selection_set
    return None


def requested_cost(selection: SelectionSetNode | None, variables: dict[str, Any]) -> int:
    """Return Shopify's calculated cost: objects 1, scalars 0, connections 2 + first x node."""
    total = 0
    for child in _fields(selection):
        if child.selection_set is None or child.name.value == "pageInfo":
            continue
        arguments = _arguments(child, variables)
        if "first" in arguments or "last" in arguments:
            size = int(arguments.get("first") or arguments.get("last") or 0)
            total += 2 + size * (1 + requested_cost(_node_selection(child), variables))
        else:
            total += 1 + requested_cost(child.selection_set, variables)
    return total


def actual_cost(selection: SelectionSetNode | None, value: Any, variables: dict[str, Any]) -> int:
    """Return the cost of what was answered: connections count the nodes they returned."""
    if not isinstance(value, dict):
        return 0
    total = 0
    for child in _fields(selection):
        key = child.alias.value if child.alias else child.name.value
        answered = value.get(key)
        if child.selection_set is None or child.name.value == "pageInfo" or answered is None:
            continue
        arguments = _arguments(child, variables)
        if "first" in arguments or "last" in arguments:
            nodes = _connection_nodes(answered)
            inner = _node_selection(child)
            total += 2 + sum(1 + actual_cost(inner, node, variables) for node in nodes)
        elif isinstance(answered, list):
            total += sum(1 + actual_cost(child.selection_set, item, variables) for item in answered)
        else:
            total += 1 + actual_cost(child.selection_set, answered, variables)
    return total


def _connection_nodes(answered: Any) -> list[Any]:
    if isinstance(answered, list):
        return answered
    if not isinstance(answered, dict):
        return []
    if isinstance(answered.get("nodes"), list):
        return list(answered["nodes"])
    return [edge.get("node") for edge in answered.get("edges") or [] if isinstance(edge, dict)]


def _cursor(node: dict[str, Any]) -> str:
    raw = json.dumps({"last_id": _number(node["id"]), "last_value": _number(node["id"])})
    return base64.b64encode(raw.encode()).decode()


def _after(cursor: Any) -> int:
    if cursor is None:
        return -1
    try:
        return int(json.loads(base64.b64decode(str(cursor)))["last_id"])
    except (ValueError, KeyError, TypeError) as error:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from error


_FILTER = re.compile(r"updated_at:(>=|>|<=|<)\s*'?\"?([0-9T:\-+.Z]+)'?\"?")


def _matches(node: dict[str, Any], query: str | None) -> bool:
    """Apply the search syntax's ``updated_at`` comparisons (the backfill's filter)."""
    if not query:
        return True
    updated = datetime.fromisoformat(node["updatedAt"].replace("Z", "+00:00"))
    for operator, value in _FILTER.findall(query):
        bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
        bound = bound if bound.tzinfo else bound.replace(tzinfo=UTC)
        ok = {
            ">=": updated >= bound,
            ">": updated > bound,
            "<=": updated <= bound,
            "<": updated < bound,
        }[operator]
        if not ok:
            return False
    return True


def _connection(
    items: list[dict[str, Any]], ids: list[int], arguments: dict[str, Any]
) -> dict[str, Any]:
    """Return one page of a connection sorted by id (``ids``): edges, nodes and pageInfo."""
    first = arguments.get("first")
    if first is None or not 0 < int(first) <= 250:
        raise GraphQLError("The first argument must be between 1 and 250 (first cannot exceed 250)")
    after = _after(arguments.get("after"))
    query = arguments.get("query")
    chosen: list[dict[str, Any]] = []
    more = False
    for index in range(bisect.bisect_right(ids, after), len(items)):  # in id order
        node = items[index]
        if not _matches(node, query):
            continue
        if len(chosen) == int(first):
            more = True
            break
        chosen.append(node)
    return {
        # Built only when asked for: most queries take the nodes.
        "edges": lambda: [{"cursor": _cursor(node), "node": node} for node in chosen],
        "nodes": chosen,
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": after >= 0,
            "startCursor": _cursor(chosen[0]) if chosen else None,
            "endCursor": _cursor(chosen[-1]) if chosen else None,
        },
    }


def _project(selection: SelectionSetNode | None, value: Any, variables: dict[str, Any]) -> Any:
    """Answer a selection from a node: only the fields asked for, under their aliases."""
    if value is None or selection is None:
        return value
    if isinstance(value, list):
        return [_project(selection, item, variables) for item in value]
    out: dict[str, Any] = {}
    for child in _fields(selection):
        name = child.name.value
        key = child.alias.value if child.alias else name
        if name == "__typename":
            out[key] = "Customer" if "/Customer/" in str(value.get("id")) else "Order"
            continue
        if name not in value:
            raise GraphQLError(f"Field '{name}' doesn't exist on this type")
        answered = value[name]
        if callable(answered):
            answered = answered()
        arguments = _arguments(child, variables)
        if "first" in arguments and isinstance(answered, list):
            if name == "addresses":  # a list truncated by first, not a connection
                answered = answered[: int(arguments["first"])]
            else:
                answered = _line_connection(answered, arguments)
        out[key] = _project(child.selection_set, answered, variables)
    return out


def _line_connection(items: list[dict[str, Any]], arguments: dict[str, Any]) -> dict[str, Any]:
    """Page a nested list (an order's line items) by position."""
    first = int(arguments.get("first") or 0)
    if not 0 < first <= 250:
        raise GraphQLError("The first argument must be between 1 and 250")
    cursor = arguments.get("after")
    start = 0 if cursor is None else int(base64.b64decode(str(cursor)).decode()) + 1
    chosen = items[start : start + first]
    cursors = [base64.b64encode(str(start + i).encode()).decode() for i in range(len(chosen))]
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, chosen, strict=True)],
        "nodes": chosen,
        "pageInfo": {
            "hasNextPage": start + first < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


# ---------------------------------------------------------------- faults and the bucket


@dataclass
class Faults:
    """Which calls fail and how; each fraction of calls drawn from the seeded generator."""

    too_many: float = 0.0  # HTTP 429 with Retry-After
    server_error: float = 0.0  # 500, 502 or 503
    slow: float = 0.0  # answered after slow_seconds (past the client's timeout)
    drop: float = 0.0  # connection closed without an answer
    retry_after: str = "0.05"
    slow_seconds: float = 1.0
    seed: int = 11
    die_after: int | None = None  # pages answered before every call is dropped

    @classmethod
    def spread(cls, total: float, **extra: Any) -> Faults:
        """Return faults on ``total`` of the calls, a quarter of each kind."""
        return cls(
            too_many=total / 4, server_error=total / 4, slow=total / 4, drop=total / 4, **extra
        )


@dataclass
class Bucket:
    """Shopify's leaky bucket of query cost points."""

    maximum: float = 2000.0
    restore_rate: float = 100.0
    available: float = field(init=False)
    at: float = field(init=False, default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.available = self.maximum

    def refill(self) -> None:
        """Add what the restore rate gave since the last call."""
        now = time.monotonic()
        self.available = min(self.maximum, self.available + (now - self.at) * self.restore_rate)
        self.at = now

    def status(self) -> dict[str, float]:
        """Return the bucket as ``throttleStatus`` shows it."""
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": round(self.available, 1),
            "restoreRate": self.restore_rate,
        }


@dataclass(frozen=True)
class Answered:
    """A data call the stand-in answered: its root field and the cursor it started after."""

    root: str
    after: str | None
    count: int


# ---------------------------------------------------------------- the server


class StandIn:
    """The shop's Admin API, served on 127.0.0.1 by a thread."""

    def __init__(
        self,
        shop: Shop,
        *,
        token: str = TOKEN,
        faults: Faults | None = None,
        bucket: Bucket | None = None,
    ) -> None:
        self.shop = shop
        self.token = token
        self.faults = faults or Faults()
        self.bucket = bucket or Bucket()
        self.answered: list[Answered] = []
        # The mutations applied, in order: (mutation name, its arguments).
        self.mutations: list[tuple[str, dict[str, Any]]] = []
        # Customer ids whose next mutations Shopify refuses (userErrors), for the dead letters.
        self.refuse: set[int] = set()
        self.calls = 0
        self.fault_counts: dict[str, int] = {}
        self.throttled = 0
        self._lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)
        self._documents: dict[str, DocumentNode] = {}
        self._ids = {
            "customers": [_number(node["id"]) for node in shop.customers],
            "orders": [_number(node["id"]) for node in shop.orders],
        }
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def set_faults(self, faults: Faults) -> None:
        """Change the faults from the next call on."""
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def start(self) -> str:
        """Listen on an ephemeral loopback port; return the base URL."""
        stand_in = self

        class Handler(_Handler):
            owner = stand_in

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        """Stop listening: later calls are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -------------------------------------------------------- one call

    def draw_fault(self) -> str | None:
        """Return the fault this call suffers, if any (under the lock: calls are numbered)."""
        with self._lock:
            self.calls += 1
            faults = self.faults
            if faults.die_after is not None and len(self.answered) >= faults.die_after:
                kind: str | None = "drop"
            else:
                roll = self._rng.random()
                kind = None
                for name, share in (
                    ("429", faults.too_many),
                    ("5xx", faults.server_error),
                    ("slow", faults.slow),
                    ("drop", faults.drop),
                ):
                    if roll < share:
                        kind = name
                        break
                    roll -= share
            if kind is not None:
                self.fault_counts[kind] = self.fault_counts.get(kind, 0) + 1
            return kind

    def server_error(self) -> int:
        """Return which 5xx this call gets."""
        with self._lock:
            return self._rng.choice((500, 502, 503))

    def execute(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911 - one per answer kind
        """Answer a GraphQL request body, cost and bucket included."""
        query = body.get("query")
        variables = body.get("variables") or {}
        if not isinstance(query, str) or not isinstance(variables, dict):
            return {"errors": [{"message": "Parameter Missing or Invalid"}]}
        try:
            document = self._document(query)
        except GraphQLError as error:
            return {"errors": [error.formatted]}
        operation = next(
            (d for d in document.definitions if isinstance(d, OperationDefinitionNode)), None
        )
        if operation is None:
            return {"errors": [{"message": "No operation in the document"}]}
        if operation.operation.value == "mutation":
            try:
                return {"data": self._mutate(operation.selection_set, variables)}
            except GraphQLError as error:
                return {"errors": [error.formatted]}
        if operation.operation.value != "query":
            return {"errors": [{"message": "Only queries and mutations are served"}]}
        requested = requested_cost(operation.selection_set, variables)
        with self._lock:
            self.bucket.refill()
            if requested > MAX_QUERY_COST:
                return {
                    "errors": [
                        {
                            "message": f"Query cost is {requested}, which exceeds the single "
                            f"query max cost limit ({MAX_QUERY_COST}).",
                            "extensions": {
                                "code": "MAX_COST_EXCEEDED",
                                "cost": requested,
                                "maxCost": MAX_QUERY_COST,
                            },
                        }
                    ]
                }
            if self.bucket.available < requested:
                self.throttled += 1
                return {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": {
                        "cost": {
                            "requestedQueryCost": requested,
                            "actualQueryCost": None,
                            "throttleStatus": self.bucket.status(),
                        }
                    },
                }
            self.bucket.available -= requested
        try:
            data = self._data(operation.selection_set, variables)
        except GraphQLError as error:
            with self._lock:
                self.bucket.available += requested
            return {"errors": [error.formatted]}
        actual = actual_cost(operation.selection_set, data, variables)
        with self._lock:
            self.bucket.available = min(
                self.bucket.maximum, self.bucket.available + requested - actual
            )
            status = self.bucket.status()
        return {
            "data": data,
            "extensions": {
                "cost": {
                    "requestedQueryCost": requested,
                    "actualQueryCost": actual,
                    "throttleStatus": status,
                }
            },
        }

    def _document(self, query: str) -> DocumentNode:
        document = self._documents.get(query)
        if document is None:
            document = parse(query, no_location=True)
            self._documents[query] = document
        return document

    def _data(self, selection: SelectionSetNode, variables: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for root in _fields(selection):
            name = root.name.value
            key = root.alias.value if root.alias else name
            arguments = _arguments(root, variables)
            if name in ("customers", "orders"):
                items = self.shop.customers if name == "customers" else self.shop.orders
                page = _connection(items, self._ids[name], arguments)
                out[key] = _project(root.selection_set, page, variables)
                with self._lock:
                    self.answered.append(Answered(name, arguments.get("after"), len(page["nodes"])))
            elif name == "order":
                found = next((o for o in self.shop.orders if o["id"] == arguments.get("id")), None)
                out[key] = _project(root.selection_set, found, variables)
            elif name == "shop":
                out[key] = _project(
                    root.selection_set, {"name": "AMI stand-in", "myshopifyDomain": SHOP}, variables
                )
            else:
                raise GraphQLError(f"Field '{name}' doesn't exist on type 'QueryRoot'")
        return out

    # -------------------------------------------------------- mutations (outbound pushes)

    def _customer(self, global_id: Any) -> dict[str, Any] | None:
        if not isinstance(global_id, str) or not global_id.startswith("gid://shopify/Customer/"):
            raise GraphQLError(f"Invalid global id '{global_id}'")
        return next((c for c in self.shop.customers if c["id"] == global_id), None)

    def _mutate(self, selection: SelectionSetNode, variables: dict[str, Any]) -> dict[str, Any]:
        """Apply the mutations Shopify's outbound sync sends; answer as Shopify does."""
        out: dict[str, Any] = {}
        for root in _fields(selection):
            name = root.name.value
            arguments = _arguments(root, variables)
            with self._lock:
                self.mutations.append((name, arguments))
                result = self._apply(name, arguments)
            out[root.alias.value if root.alias else name] = _project(
                root.selection_set, result, variables
            )
        return out

    def _apply(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911
        if name in ("customerEmailMarketingConsentUpdate", "customerSmsMarketingConsentUpdate"):
            given = arguments.get("input") or {}
            customer = self._customer(given.get("customerId"))
            if customer is None or _number(customer["id"]) in self.refuse:
                return {
                    "customer": None,
                    "userErrors": [
                        {"field": ["input", "customerId"], "message": "Customer not found"}
                    ],
                }
            email = name == "customerEmailMarketingConsentUpdate"
            slot = "defaultEmailAddress" if email else "defaultPhoneNumber"
            if customer.get(slot) is None:
                what = "Email" if email else "Phone"
                return {
                    "customer": None,
                    "userErrors": [{"field": ["input"], "message": f"{what} can't be blank"}],
                }
            consent = given.get("emailMarketingConsent" if email else "smsMarketingConsent") or {}
            state = consent.get("marketingState")
            if state not in ("SUBSCRIBED", "UNSUBSCRIBED", "PENDING"):
                raise GraphQLError(
                    f"Variable $input got invalid value {state!r} for marketingState"
                )
            customer[slot] = {
                **customer[slot],
                "marketingState": state,
                "marketingOptInLevel": consent.get("marketingOptInLevel")
                or customer[slot].get("marketingOptInLevel"),
                "marketingUpdatedAt": consent.get("consentUpdatedAt"),
            }
            return {"customer": customer, "userErrors": []}
        if name in ("tagsAdd", "tagsRemove"):
            customer = self._customer(arguments.get("id"))
            if customer is None or _number(customer["id"]) in self.refuse:
                return {"node": None, "userErrors": [{"field": ["id"], "message": "Not found"}]}
            tags = [str(t) for t in arguments.get("tags") or []]
            kept = [t for t in customer["tags"] if t not in tags]
            customer["tags"] = kept + tags if name == "tagsAdd" else kept
            return {"node": {"id": customer["id"]}, "userErrors": []}
        if name == "customerRequestDataErasure":
            customer = self._customer(arguments.get("customerId"))
            if customer is None:
                return {
                    "customerId": None,
                    "userErrors": [
                        {
                            "field": ["customerId"],
                            "message": "Customer does not exist",
                            "code": "DOES_NOT_EXIST",
                        }
                    ],
                }
            self.shop.customers.remove(customer)
            return {"customerId": customer["id"], "userErrors": []}
        raise GraphQLError(f"Field '{name}' doesn't exist on type 'Mutation'")


class _Handler(BaseHTTPRequestHandler):
    owner: StandIn
    protocol_version = "HTTP/1.1"  # keep-alive, as Shopify's front ends

    def setup(self) -> None:
        """Send each answer at once: http.server writes headers and body apart (Nagle)."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the tests' output quiet."""

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)
        except OSError:
            self.close_connection = True  # the client gave up waiting

    def do_POST(self) -> None:
        """Serve one GraphQL call."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not _PATH.match(self.path.partition("?")[0]):
            self._answer(404, {"errors": "Not Found"})
            return
        if self.headers.get("X-Shopify-Access-Token") != self.owner.token:
            self._answer(
                401,
                {
                    "errors": "[API] Invalid API key or access token (unrecognized login or "
                    "wrong password)"
                },
            )
            return
        fault = self.owner.draw_fault()
        if fault == "drop":
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "429":
            self._answer(
                429,
                {
                    "errors": "Exceeded 2 calls per second for api client. Reduce request rates "
                    "to resume uninterrupted service."
                },
                {"Retry-After": self.owner.faults.retry_after},
            )
            return
        if fault == "5xx":
            status = self.owner.server_error()
            self._answer(status, {"errors": "Internal Server Error"})
            return
        if fault == "slow":
            time.sleep(self.owner.faults.slow_seconds)
        try:
            body = json.loads(raw)
        except ValueError:
            self._answer(400, {"errors": {"query": "Required parameter missing or invalid"}})
            return
        answer = self.owner.execute(body if isinstance(body, dict) else {})
        self._answer(200, answer)


@contextmanager
def serving(
    shop: Shop,
    *,
    faults: Faults | None = None,
    bucket: Bucket | None = None,
    token: str = TOKEN,
) -> Iterator[StandIn]:
    """Run a stand-in for the block."""
    stand_in = StandIn(shop, token=token, faults=faults, bucket=bucket)
    stand_in.start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


def main(argv: list[str] | None = None, *, ready: Callable[[str], None] = print) -> None:
    """Serve a generated shop until interrupted (for the benchmark's separate process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--faults", type=float, default=0.0, help="fraction of calls failing")
    parser.add_argument("--fault-seed", type=int, default=11)
    parser.add_argument("--slow-seconds", type=float, default=1.0)
    parser.add_argument("--retry-after", default="0.05")
    parser.add_argument("--bucket", type=float, default=20_000.0)
    parser.add_argument("--restore-rate", type=float, default=10_000.0)
    args = parser.parse_args(argv)
    shop = generate_shop(args.customers, seed=args.seed)
    faults = Faults.spread(
        args.faults,
        seed=args.fault_seed,
        slow_seconds=args.slow_seconds,
        retry_after=args.retry_after,
    )
    stand_in = StandIn(shop, faults=faults, bucket=Bucket(args.bucket, args.restore_rate))
    url = stand_in.start()
    ready(
        json.dumps(
            {
                "url": url,
                "customers": len(shop.customers),
                "orders": len(shop.orders),
                "rejected_customers": shop.rejected_customers,
            }
        )
    )
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stand_in.stop()


if __name__ == "__main__":
    main()
