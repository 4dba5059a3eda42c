"""The backfill's GraphQL queries, and their nodes in the REST shape that ``mapping.py`` reads.

The GraphQL Admin API names things differently from the REST resources and
the webhooks (``firstName``, ``gid://shopify/Customer/123``, consent states in
upper case, money in ``MoneyBag`` objects, decimals as ``"129.9"``). Rather
than a second mapping, each node is rewritten here into the object a webhook
or a bulk export would have carried (docs/formats.md, "Shopify JSON lines"),
so one mapper, one set of rejects and one record shape serve all three.
Pure functions: no I/O.

The queries ask for what the mapping reads and no more, because Shopify
charges for every object selected: a customer costs 4 points (itself, its
default email address, phone number and address), an order 6 + 5 per line
item asked for (itself, its customer, its total's ``MoneyBag`` and
``MoneyV2``, the line items' connection, and per line its two prices). A
query may cost at most 1,000 points, which sets the most nodes a page can
hold: :func:`page_size` computes it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

MAX_QUERY_COST = 1000  # Shopify's ceiling on a single query's requested cost
MAX_PAGE = 250  # Shopify's ceiling on ``first``
ORDER_LINES = 5  # line items read with their order; the rest of a longer order is read apart
CUSTOMER_NODE_COST = 4
ORDER_NODE_COST = 6 + 5 * ORDER_LINES
MORE_LINES = 100  # line items per continuation page (2 + 100 x 5 = 502 points)

CUSTOMERS_QUERY = """
query AmigoBackfillCustomers($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id firstName lastName createdAt updatedAt state verifiedEmail locale tags
      defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt }
      defaultPhoneNumber {
        phoneNumber marketingState marketingOptInLevel marketingUpdatedAt marketingCollectedFrom
      }
      defaultAddress {
        firstName lastName address1 address2 city province provinceCode country countryCodeV2
        zip phone
      }
    }
  }
}
"""

_LINE_FIELDS = """
        id sku title quantity
        originalUnitPriceSet { shopMoney { amount } }
        totalDiscountSet { shopMoney { amount } }
"""

ORDERS_QUERY = (
    """
query AmigoBackfillOrders($first: Int!, $after: String, $query: String, $lines: Int!) {
  orders(first: $first, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name email createdAt processedAt updatedAt cancelledAt currencyCode
      displayFinancialStatus displayFulfillmentStatus paymentGatewayNames
      customer { id }
      totalPriceSet { shopMoney { amount currencyCode } }
      lineItems(first: $lines) {
        pageInfo { hasNextPage endCursor }
        nodes {"""
    + _LINE_FIELDS
    + """        }
      }
    }
  }
}
"""
)

ORDER_LINES_QUERY = (
    """
query AmigoBackfillOrderLines($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    lineItems(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {"""
    + _LINE_FIELDS
    + """      }
    }
  }
}
"""
)


def page_size(wanted: int, node_cost: int) -> int:
    """Return the most nodes a page may ask for: at most ``wanted``, 250, and 1,000 points."""
    return max(1, min(wanted, MAX_PAGE, (MAX_QUERY_COST - 2) // node_cost))


def legacy_id(global_id: Any) -> int | str | None:
    """Return the number of ``gid://shopify/Customer/123`` (123), as REST ids are numbers."""
    if not isinstance(global_id, str):
        return global_id if isinstance(global_id, int) else None
    tail = global_id.rpartition("/")[2].partition("?")[0].strip()
    return int(tail) if tail.isdigit() else (tail or None)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def money(value: Any) -> str | None:
    """Return a ``MoneyBag``'s or ``MoneyV2``'s shop amount as REST writes it ("129.90")."""
    bag = _object(value)
    amount = (
        _object(bag.get("shopMoney")).get("amount") if "shopMoney" in bag else bag.get("amount")
    )
    if amount is None:
        return None
    try:
        number = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)  # kept as given: the mapping rejects it with its reason
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        number = number.quantize(Decimal("0.01"))
    return format(number, "f")


# --- customers ----------------------------------------------------------------


def _address(node: Any) -> dict[str, Any] | None:
    if not isinstance(node, dict):
        return None
    return {
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "address1": node.get("address1"),
        "address2": node.get("address2"),
        "city": node.get("city"),
        "province": node.get("province"),
        "province_code": node.get("provinceCode"),
        "country": node.get("country"),
        "country_code": node.get("countryCodeV2") or node.get("countryCode"),
        "zip": node.get("zip"),
        "phone": node.get("phone"),
    }


def _consent(state: Any, level: Any, updated_at: Any) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "state": _lower(state),
        "opt_in_level": _lower(level),
        "consent_updated_at": updated_at,
    }


def _node_consent(current: dict[str, Any], older: dict[str, Any]) -> dict[str, Any] | None:
    """Return the consent of an email address or phone number, else of the older object."""
    if current:
        return _consent(
            current.get("marketingState"),
            current.get("marketingOptInLevel"),
            current.get("marketingUpdatedAt"),
        )
    return _consent(
        older.get("marketingState"), older.get("marketingOptInLevel"), older.get("consentUpdatedAt")
    )


def customer_payload(node: dict[str, Any]) -> dict[str, Any]:
    """Return a customer node as the REST customer object (the webhook's body)."""
    email_address = _object(node.get("defaultEmailAddress"))
    phone_number = _object(node.get("defaultPhoneNumber"))
    # Versions before 2025-04 had email, phone and the consent objects on the customer.
    old_email = _object(node.get("emailMarketingConsent"))
    old_sms = _object(node.get("smsMarketingConsent"))
    email = email_address.get("emailAddress") or node.get("email")
    phone = phone_number.get("phoneNumber") or node.get("phone")
    email_consent = _node_consent(email_address, old_email)
    sms_consent = _node_consent(phone_number, old_sms)
    if sms_consent is not None:
        sms_consent["consent_collected_from"] = phone_number.get(
            "marketingCollectedFrom", old_sms.get("consentCollectedFrom")
        )
    default_address = _address(node.get("defaultAddress"))
    addresses = node.get("addresses")
    listed = list(map(_address, addresses)) if isinstance(addresses, list) else []
    tags = node.get("tags")
    return {
        "id": legacy_id(node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "email": email,
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "phone": phone,
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "state": _lower(node.get("state")),
        "verified_email": node.get("verifiedEmail"),
        "locale": node.get("locale"),
        "tags": ", ".join(t for t in tags if isinstance(t, str))
        if isinstance(tags, list)
        else tags,
        "default_address": default_address,
        "addresses": [a for a in listed if a is not None]
        or ([default_address] if default_address else []),
        "email_marketing_consent": email_consent,
        "sms_marketing_consent": sms_consent,
    }


# --- orders -------------------------------------------------------------------

# displayFulfillmentStatus to the REST order's fulfillment_status.
_FULFILLMENT = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "UNFULFILLED": None}


def line_nodes(connection: Any) -> list[dict[str, Any]]:
    """Return the nodes of a line items connection (``nodes`` or ``edges { node }``)."""
    data = _object(connection)
    nodes = data.get("nodes")
    if isinstance(nodes, list):
        return [n for n in nodes if isinstance(n, dict)]
    edges = data.get("edges")
    return (
        [e["node"] for e in edges if isinstance(e, dict) and isinstance(e.get("node"), dict)]
        if isinstance(edges, list)
        else []
    )


def _line(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": legacy_id(node.get("id")),
        "sku": node.get("sku"),
        "title": node.get("title"),
        "quantity": node.get("quantity"),
        "price": money(node.get("originalUnitPriceSet")),
        "total_discount": money(node.get("totalDiscountSet")) or "0.00",
    }


def order_payload(
    node: dict[str, Any], lines: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Return an order node as the REST order object; ``lines``: all its line items when paged."""
    customer = node.get("customer")
    total = _object(node.get("totalPriceSet"))
    fulfillment = node.get("displayFulfillmentStatus")
    return {
        "id": legacy_id(node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "email": node.get("email"),
        "created_at": node.get("createdAt"),
        "processed_at": node.get("processedAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "currency": node.get("currencyCode") or _object(total.get("shopMoney")).get("currencyCode"),
        "total_price": money(total),
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _FULFILLMENT.get(fulfillment, _lower(fulfillment))
        if isinstance(fulfillment, str)
        else None,
        "customer": {"id": legacy_id(customer.get("id"))} if isinstance(customer, dict) else None,
        "payment_gateway_names": node.get("paymentGatewayNames"),
        "line_items": [
            _line(line)
            for line in (lines if lines is not None else line_nodes(node.get("lineItems")))
        ],
    }


__all__ = [
    "CUSTOMERS_QUERY",
    "CUSTOMER_NODE_COST",
    "MORE_LINES",
    "ORDERS_QUERY",
    "ORDER_LINES",
    "ORDER_LINES_QUERY",
    "ORDER_NODE_COST",
    "customer_payload",
    "legacy_id",
    "line_nodes",
    "money",
    "order_payload",
    "page_size",
]
