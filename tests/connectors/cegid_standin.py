"""A stand-in Cegid Y2: a real HTTP server on 127.0.0.1 answering SOAP 1.1 as WCF does.

It serves ``/CustomerWcfService.svc`` and ``/SaleDocumentService.svc``:
checks HTTP Basic auth (401 otherwise) and the ``SOAPAction`` header, parses
the envelope with lxml, answers from an in-memory data set (customers,
sale documents with lines and payments, store-local dates) in the element
order of the kept WSDLs, and answers bad requests with WCF-style faults
(``s:Client``; ``s:Server`` for injected ones). At a seeded fraction of
calls it injects HTTP 500 and 503 pages, ``s:Server`` faults, slow answers
and dropped connections.
"""

from __future__ import annotations

import base64
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no stubs
from sqlalchemy import Engine

from amigo.connectors.cegid import soap
from amigo.core.db import unit_of_work
from amigo.ingest.service import FileStats, export_file, prepare_payloads, write_batch

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = soap.NAMESPACE
XS = "http://www.w3.org/2001/XMLSchema"
CONTRACTS = {
    "CustomerWcfService": "ICustomerWcfService",
    "SaleDocumentService": "ISaleDocumentService",
}
USER = "DB01\\amigo"
PASSWORD = "s3cret-Y2"  # noqa: S105 - the stand-in's own test credential
WRONG_PASSWORD = "not-the-password"  # noqa: S105 - refused on purpose
DATABASE = "DB01"
STORES = {"PAR01": "Europe/Paris", "LON01": "Europe/London", "TYO01": "Asia/Tokyo"}
_OPTINS = ("AskCustomer", "BrandOnly", "ForPartners", "DoNotUse")
_TIERS = ("STANDARD", "PREMIUM", "VIP")


def local(*parts: int) -> datetime:
    """Return a store-local wall-clock time, as Y2 keeps them (no offset)."""
    return datetime(*parts)  # type: ignore[arg-type]  # noqa: DTZ001 - Y2's times are naive


_COUNTRIES = {"PAR01": "FRA", "LON01": "GBR", "TYO01": "JPN"}
_REGIONS = {"PAR01": "EUROPE", "LON01": "EUROPE", "TYO01": "ASIA"}


def add_stores(engine: Engine) -> None:
    """Load the stand-in's stores into AMIgo, as stores.csv rows through the load's path."""
    rows = [
        {"StoreId": store, "StoreName": f"AMI {store}", "RegionId": _REGIONS[store],
         "TimeZoneId": zone, "CountryId": _COUNTRIES[store]}
        for store, zone in STORES.items()
    ]  # fmt: skip
    spec = export_file("cegid/stores.csv")
    with unit_of_work(engine) as session:
        connection = session.connection()
        raw, prepared = prepare_payloads(connection, spec=spec, payloads=rows)
        write_batch(connection, spec=spec, chunk=raw, prepared=prepared, stats=FileStats(spec.path))


# --- the kept WSDLs' element order --------------------------------------------------


def _schema_types(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Return each complex type's elements (bases first) as (name, type local name)."""
    tree = etree.parse(str(path))
    own: dict[str, tuple[str | None, list[tuple[str, str]]]] = {}
    for node in tree.iter(f"{{{XS}}}complexType"):
        name = node.get("name")
        if name is None:
            continue
        extension = node.find(f".//{{{XS}}}extension")
        base = None if extension is None else extension.get("base", "").split(":")[-1]
        elements = [
            (el.get("name", ""), el.get("type", "").split(":")[-1])
            for el in node.iter(f"{{{XS}}}element")
        ]
        own[name] = (base, elements)

    def flatten(name: str) -> list[tuple[str, str]]:
        base, elements = own[name]
        return (flatten(base) if base else []) + elements

    return {name: flatten(name) for name in own}


TYPES = {
    **_schema_types(soap.WSDL_DIR / "CustomerWcfService.wsdl"),
    **_schema_types(soap.WSDL_DIR / "SaleDocumentService.wsdl"),
}


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")  # WCF's unspecified DateTime: no offset
    return str(value)


def _append(parent: etree._Element, name: str, type_name: str, value: Any) -> None:
    """Append value as element name of the WSDL type type_name (arrays and nested types too)."""
    if value is None:
        return
    node = etree.SubElement(parent, f"{{{NS}}}{name}")
    fields = TYPES.get(type_name)
    if fields is None:
        node.text = _value_text(value)
        return
    if type_name.startswith("ArrayOf"):
        (item_name, item_type) = fields[0]
        for item in value:
            _append(node, item_name, item_type, item)
        return
    for field_name, field_type in fields:
        if field_name in value:
            _append(node, field_name, field_type, value[field_name])


# --- the data set ---------------------------------------------------------------------


@dataclass
class Y2Data:
    """What the stand-in Y2 holds: customers by id, documents by (stump, number)."""

    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    def touch(self, customer_id: str, at: datetime, **changes: Any) -> None:
        """Change a customer as a till would: the values, and its LastModificationDate."""
        customer = self.customers[customer_id]
        for name, value in changes.items():
            if name == "Email":
                customer["EmailData"] = {**(customer.get("EmailData") or {}), "Email": value}
            else:
                customer[name] = value
        customer["LastModificationDate"] = at


def seed_data(*, customers: int, receipts: int, start: date, days: int, seed: int = 7) -> Y2Data:
    """Return a reproducible data set: customers of three stores and their receipts."""
    rng = random.Random(seed)
    data = Y2Data()
    stores = list(STORES)
    for n in range(customers):
        store = stores[n % len(stores)]
        customer_id = f"{store}{n:06d}"
        created = datetime.combine(start, datetime.min.time()) - timedelta(
            days=rng.randint(30, 900)
        )
        data.customers[customer_id] = {
            "AddressData": {
                "AddressLine1": f"{rng.randint(1, 99)} rue des Lilas",
                "City": "Paris",
                "CountryId": "FRA",
                "ZipCode": f"750{rng.randint(10, 20)}",
            },
            "EmailData": {"Email": f"client.{n}@example.org", "EmailingAccepted": True},
            "FirstName": rng.choice(["Anne", "Louis", "Chloé", "Hugo", "Emma", "Noah"]),
            "LastModificationDate": created + timedelta(hours=rng.randint(1, 500)),
            "LastName": rng.choice(["Martin", "Bernard", "Dubois", "Thomas", "Robert"]),
            "PhoneData": {"CellularPhoneNumber": f"+33 6 {rng.randint(10, 99)} "
                          f"{rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"},
            "SalesPersonId": None,
            "TitleId": rng.choice(["MR", "MRS", "MS"]),
            "UserDefinedTexts": [{"Id": 1, "Value": rng.choice(_TIERS)}],
            "UsualStoreId": store,
            "BirthDateData": {"BirthDateDay": rng.randint(1, 28), "BirthDateMonth": rng.randint(1, 12),
                              "BirthDateYear": rng.randint(1950, 2004)},
            "LanguageId": "FR",
            "OptinEmail": rng.choice(_OPTINS),
            "OptinMobile": rng.choice(_OPTINS),
            "OptinPostal": rng.choice(_OPTINS),
            "Closed": False,
            "CreationStoreId": store,
            "CustomerId": customer_id,
            "IsProspect": False,
        }  # fmt: skip
    ids = list(data.customers)
    numbers: dict[str, int] = {}
    for _ in range(receipts):
        store = rng.choice(stores)
        stump = f"{store}C1"
        numbers[stump] = numbers.get(stump, 0) + 1
        kind = rng.choices(["Receipt", "CustomerOrder", "ReturnNotice"], [90, 6, 4])[0]
        when = datetime.combine(start + timedelta(days=rng.randrange(days)), datetime.min.time())
        when += timedelta(hours=rng.randint(9, 19), minutes=rng.randint(0, 59))
        sign = -1 if kind == "ReturnNotice" else 1
        lines: list[dict[str, Any]] = []
        for rank in range(1, rng.randint(1, 3) + 1):
            price = Decimal(rng.choice(["49.90", "129.90", "290.00", "35.50"]))
            net = (
                price if rng.random() < 0.8 else (price * Decimal("0.9")).quantize(Decimal("0.01"))
            )
            lines.append({
                "ItemCode": f"SKU{rng.randint(1, 400):05d}", "Label": "Pull col rond",
                "Quantity": Decimal(sign * rng.randint(1, 2)), "Rank": rank,
                "TaxIncludedNetUnitPrice": net, "TaxIncludedUnitPrice": price,
            })  # fmt: skip
        total = sum(
            (line["TaxIncludedNetUnitPrice"] * line["Quantity"] for line in lines), Decimal(0)
        )
        payments = [{"Amount": total, "Code": rng.choice(["CB", "ESP", "AMEX"]), "Currency": "EUR",
                     "DueDate": when, "IsReceivedPayment": True, "Label": "Carte"}]  # fmt: skip
        customer = rng.choice(ids) if ids and rng.random() < 0.85 else None
        header = {
            "Active": True, "CurrencyId": "EUR", "CustomerId": customer, "Date": when,
            "Key": {"Number": numbers[stump], "Stump": stump, "Type": kind},
            "SalesPersonId": None, "Status": "None", "StoreId": store,
            "TaxIncludedTotalAmount": total,
            "TotalQuantity": sum((line["Quantity"] for line in lines), Decimal(0)),
        }  # fmt: skip
        data.documents[stump, numbers[stump]] = {
            "Header": header,
            "Lines": lines,
            "Payments": payments,
        }
    return data


# --- faults ---------------------------------------------------------------------------


@dataclass
class Faults:
    """What goes wrong, at which fraction of calls (drawn from a seeded generator)."""

    rate: float = 0.0
    seed: int = 11
    kinds: tuple[str, ...] = ("http500", "http503", "server_fault", "slow", "drop")
    slow_seconds: float = 1.0
    latency: float = 0.0  # seconds every answer takes (a WAN between AMIgo and Y2)
    down: bool = False  # every call: a dropped connection
    down_after: int | None = None  # calls answered before the server goes down
    client_fault_on: str | None = None  # an operation answered with an s:Client fault

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._served = 0

    def draw(self) -> str | None:
        """Return the fault to inject in this call, or None."""
        if self.down:
            return "drop"
        with self._lock:
            self._served += 1
            if self.down_after is not None and self._served > self.down_after:
                return "drop"
            if self.rate and self._rng.random() < self.rate:
                return self._rng.choice(self.kinds)
        return None


@dataclass
class Calls:
    """How many calls of each operation came in, and how many faults went out."""

    operations: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    unauthorized: int = 0
    # Each sale document asked for by GetByKey, in order (a client's retry asks again).
    documents: list[tuple[str, int]] = field(default_factory=list)


# --- the server -----------------------------------------------------------------------


def _envelope(body: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"s": SOAP_ENV})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(body)
    return bytes(etree.tostring(envelope, xml_declaration=False, encoding="utf-8"))


def fault_envelope(code: str, message: str) -> bytes:
    """Return a SOAP 1.1 fault as WCF writes it."""
    fault = etree.Element(f"{{{SOAP_ENV}}}Fault", nsmap={"s": SOAP_ENV})
    etree.SubElement(fault, "faultcode").text = code
    reason = etree.SubElement(fault, "faultstring")
    reason.set("{http://www.w3.org/XML/1998/namespace}lang", "fr-FR")
    reason.text = message
    return _envelope(fault)


class ClientFaultError(Exception):
    """A request the stand-in refuses as bad input (s:Client)."""


def _child(node: etree._Element | None, name: str) -> etree._Element | None:
    return None if node is None else node.find(f"{{{NS}}}{name}")


def _text(node: etree._Element | None, name: str) -> str | None:
    found = _child(node, name)
    return None if found is None or found.text is None else found.text.strip()


class StandinY2:
    """The stand-in's state: data, credentials, faults and counts."""

    def __init__(self, data: Y2Data, faults: Faults | None = None) -> None:
        self.data = data
        self.faults = faults or Faults()
        self.calls = Calls()
        self.lock = threading.Lock()
        self.updates: list[tuple[str, dict[str, Any]]] = []  # UpdateCustomer: (id, data sent)
        self.created: list[str] = []  # AddNewCustomer: the ids given

    # -- operations
    def answer(self, service: str, operation: str, request: etree._Element) -> bytes:
        """Return the response envelope of an operation, or raise ClientFaultError."""
        context = _child(request, "clientContext")
        if _text(context, "DatabaseId") != DATABASE:
            raise ClientFaultError(f"La base '{_text(context, 'DatabaseId')}' est inconnue.")
        handler = getattr(self, f"_{service}_{operation}", None)
        if handler is None:
            raise ClientFaultError(f"L'opération {operation} n'est pas prise en charge.")
        type_name, value = handler(request)
        response = etree.Element(f"{{{NS}}}{operation}Response", nsmap={None: NS})
        if type_name is not None:
            _append(response, f"{operation}Result", type_name, value)
        return _envelope(response)

    def _CustomerWcfService_HelloWorld(  # noqa: N802 - named after the operation
        self, request: etree._Element
    ) -> tuple[str, Any]:
        return "string", f"Hello {_text(request, 'text') or ''}"

    def _CustomerWcfService_GetCustomerDetail(  # noqa: N802 - named after the operation
        self, request: etree._Element
    ) -> tuple[str, Any]:
        customer_id = _text(request, "customerId")
        if not customer_id:
            raise ClientFaultError("Le code client est obligatoire.")
        with self.lock:
            customer = self.data.customers.get(customer_id)
            if customer is None:
                raise ClientFaultError(f"Le client {customer_id} n'existe pas.")
            return "CustomerQueryData", dict(customer)

    def _CustomerWcfService_SearchCustomerIds(  # noqa: N802 - named after the operation
        self, request: etree._Element
    ) -> tuple[str, Any]:
        search = _child(request, "searchData")
        limit = _text(search, "MaxNumberOfCustomers")
        if limit is None or int(limit) <= 0:
            raise ClientFaultError("MaxNumberOfCustomers doit être positif.")
        store = _text(search, "CreationStoreId")
        with self.lock:
            found = [
                {"CustomerId": c["CustomerId"], "LastModificationDate": c["LastModificationDate"]}
                for c in self.data.customers.values()
                if store is None or c.get("CreationStoreId") == store
            ]
        return "ArrayOfCustomerQueryData", found[: int(limit)]

    def _SaleDocumentService_HelloWorld(  # noqa: N802 - named after the operation
        self, request: etree._Element
    ) -> tuple[str, Any]:
        return self._CustomerWcfService_HelloWorld(request)

    def _SaleDocumentService_GetHeaderList(  # noqa: N802 - named after the operation
        self, request: etree._Element
    ) -> tuple[str, Any]:
        search = _child(request, "searchRequest")
        begin, end = _text(search, "BeginDate"), _text(search, "EndDate")
        pager = _child(search, "Pager")
        if begin is None or end is None or pager is None:
            raise ClientFaultError("BeginDate, EndDate et Pager sont obligatoires.")
        first, last = datetime.fromisoformat(begin), datetime.fromisoformat(end)
        index, size = int(_text(pager, "PageIndex") or 0), int(_text(pager, "PageSize") or 0)
        if index < 1 or not 1 <= size <= 1000:
            raise ClientFaultError(
                "Pager invalide : PageIndex à partir de 1, PageSize de 1 à 1000."
            )
        types_node = _child(search, "DocumentTypes")
        types = {n.text for n in types_node} if types_node is not None else None
        with self.lock:
            headers = sorted(
                (
                    d["Header"]
                    for d in self.data.documents.values()
                    if first <= d["Header"]["Date"] <= last
                    and (not types or d["Header"]["Key"]["Type"] in types)
                ),
                key=lambda h: (h["Date"], h["Key"]["Stump"], h["Key"]["Number"]),
            )
        page = headers[(index - 1) * size : index * size]
        return "GetHeaderList_Reply", {"Headers": page}

    def _SaleDocumentService_GetByKey(  # noqa: N802 - named after the operation
        self, request: etree._Element
    ) -> tuple[str, Any]:
        key = _child(_child(request, "searchRequest"), "Key")
        stump, number = _text(key, "Stump"), _text(key, "Number")
        if not stump or not number:
            raise ClientFaultError("La clé du document est incomplète.")
        with self.lock:
            self.calls.documents.append((stump, int(number)))
            document = self.data.documents.get((stump, int(number)))
        if document is None:
            raise ClientFaultError(f"Le document {stump}-{number} n'existe pas.")
        return "Get_Reply", document

    # -- outbound: AddNewCustomer and UpdateCustomer (AMIgo writing into Y2)
    @staticmethod
    def _read(node: etree._Element, type_name: str) -> Any:  # noqa: PLR0911 - one per XSD type
        """Return an element of a WSDL type as plain data (the inverse of ``_append``)."""
        fields = TYPES.get(type_name)
        if fields is None:
            raw = (node.text or "").strip()
            if node.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true":
                return None
            if type_name == "boolean":
                return raw == "true"
            if type_name == "int":
                return int(raw)
            if type_name == "decimal":
                return Decimal(raw)
            if type_name == "dateTime":
                return datetime.fromisoformat(raw)
            if type_name == "CustomerInformationType" and raw not in _OPTINS:
                raise ClientFaultError(f"La valeur '{raw}' n'est pas un CustomerInformationType.")
            return raw
        if type_name.startswith("ArrayOf"):
            (item_name, item_type) = fields[0]
            return [StandinY2._read(item, item_type) for item in node.iter(f"{{{NS}}}{item_name}")]
        value: dict[str, Any] = {}
        for field_name, field_type in fields:
            found = node.find(f"{{{NS}}}{field_name}")
            if found is not None:
                value[field_name] = StandinY2._read(found, field_type)
        return value

    @staticmethod
    def _apply(customer: dict[str, Any], data: dict[str, Any]) -> None:
        """Write the elements sent into a customer: user-defined values merge by Id."""
        for name, value in data.items():
            if name.startswith("UserDefined") and isinstance(value, list):
                merged = {item["Id"]: item for item in customer.get(name) or []}
                merged.update({item["Id"]: item for item in value})
                customer[name] = [merged[key] for key in sorted(merged)]
            elif isinstance(value, dict) and isinstance(customer.get(name), dict):
                customer[name] = {**customer[name], **value}
            else:
                customer[name] = value
        # Y2 stamps the change in the store's local time, as a till would.
        zone = STORES.get(customer.get("CreationStoreId") or "", "Europe/Paris")
        customer["LastModificationDate"] = datetime.now(ZoneInfo(zone)).replace(
            tzinfo=None, microsecond=0
        )
        for text in customer.get("UserDefinedTexts") or []:
            if text.get("Id") == 1 and text.get("Value") not in (*_TIERS, None):
                raise ClientFaultError(
                    f"Le niveau '{text.get('Value')}' n'existe pas (UserDefinedText1)."
                )

    def _CustomerWcfService_UpdateCustomer(  # noqa: N802 - named after the operation
        self, request: etree._Element
    ) -> tuple[None, None]:
        customer_id = _text(request, "customerId")
        data_node = _child(request, "modifiedData")
        if not customer_id or data_node is None:
            raise ClientFaultError("Le code client et les données modifiées sont obligatoires.")
        data = self._read(data_node, "CustomerInputData")
        with self.lock:
            customer = self.data.customers.get(customer_id)
            if customer is None:
                raise ClientFaultError(f"Le client {customer_id} n'existe pas.")
            updated = dict(customer)
            self._apply(updated, data)
            self.data.customers[customer_id] = updated
            self.updates.append((customer_id, data))
        return None, None

    def _CustomerWcfService_AddNewCustomer(  # noqa: N802 - named after the operation
        self, request: etree._Element
    ) -> tuple[str, Any]:
        data_node = _child(request, "customerData")
        if data_node is None:
            raise ClientFaultError("Les données du client sont obligatoires.")
        data = self._read(data_node, "CustomerInputData")
        if not data.get("LastName") and not (data.get("EmailData") or {}).get("Email"):
            raise ClientFaultError("Le nom ou l'e-mail du client est obligatoire.")
        store = data.get("UsualStoreId") or "WEB"
        with self.lock:
            customer_id = f"{store}{900000 + len(self.created):06d}"
            customer: dict[str, Any] = {
                "CustomerId": customer_id, "CreationStoreId": store, "Closed": False,
                "IsProspect": True, "OptinEmail": "AskCustomer", "OptinMobile": "AskCustomer",
                "OptinPostal": "AskCustomer",
            }  # fmt: skip
            self._apply(customer, data)
            self.data.customers[customer_id] = customer
            self.created.append(customer_id)
        guid = f"00000000-0000-4000-8000-{len(self.created):012d}"
        return "CustomerInsertData", {"CustomerGuid": guid, "CustomerId": customer_id}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        """Send each answer at once (no Nagle delay between headers and body), as IIS does."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _fault(self, code: str, message: str) -> None:
        self._send(500, fault_envelope(code, message), "text/xml; charset=utf-8")

    def do_POST(self) -> None:  # noqa: PLR0911 - http.server's name; one return per outcome
        """Answer one SOAP call."""
        y2 = self.server.y2
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            y2.calls.unauthorized += 1
            self._send(401, b"401 - Unauthorized", "text/html", WWW_Authenticate='Basic realm="Y2"')
            return
        service = self.path.rsplit("/", 1)[-1].removesuffix(".svc")
        if service not in CONTRACTS:
            self._send(404, b"Not Found", "text/html")
            return
        if y2.faults.latency:
            time.sleep(y2.faults.latency)
        fault = y2.faults.draw()
        if fault is not None:
            y2.calls.faults[fault] = y2.calls.faults.get(fault, 0) + 1
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault == "http500":
                self._send(500, b"<html><body>Runtime Error</body></html>", "text/html")
                return
            if fault == "http503":
                self._send(503, b"Service Unavailable", "text/html", Retry_After="0")
                return
            if fault == "server_fault":
                self._fault("s:Server", "Le serveur a rencontré une erreur interne.")
                return
            time.sleep(y2.faults.slow_seconds)  # "slow": then answer normally
        try:
            request = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False))
            operation_node = request.find(f"{{{SOAP_ENV}}}Body")[0]
        except (etree.XMLSyntaxError, IndexError, TypeError):
            self._fault("s:Client", "Le message n'est pas une enveloppe SOAP 1.1.")
            return
        operation = etree.QName(operation_node).localname
        action = self.headers.get("SOAPAction", "").strip('"')
        if action != f"{NS}/{CONTRACTS[service]}/{operation}":
            self._fault(
                "a:ActionNotSupported",
                f"Le message avec l'action '{action}' ne peut pas être traité au niveau du "
                "destinataire, en raison d'une incompatibilité ContractFilter au niveau du "
                "EndpointDispatcher.",
            )
            return
        with y2.lock:
            y2.calls.operations[operation] = y2.calls.operations.get(operation, 0) + 1
        if y2.faults.client_fault_on == operation:
            self._fault("s:Client", f"Requête {operation} refusée : paramètre invalide.")
            return
        try:
            answer = y2.answer(service, operation, operation_node)
        except ClientFaultError as refused:
            self._fault("s:Client", str(refused))
            return
        self._send(200, answer, "text/xml; charset=utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    y2: StandinY2


@contextmanager
def running(y2: StandinY2) -> Iterator[str]:
    """Serve the stand-in on 127.0.0.1 in a thread; yield its base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.y2 = y2
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="y2-standin", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/Y2"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
