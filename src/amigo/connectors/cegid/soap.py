"""A client of Cegid Y2's retail web services (SOAP 1.1 / WCF) on zeep, over httpx.

zeep reads the WSDLs kept in ``wsdl/`` (never Y2's own ``?singleWsdl``: the
sync must not depend on what a tenant publishes) and builds and parses the
envelopes; the HTTP goes through httpx, the connectors' HTTP client, with
HTTP Basic auth and timeouts. zeep itself imports requests (its hard
dependency), but no request of ours goes through it.

Every call goes through :func:`call_with_retries` and one
:class:`CircuitBreaker` for the peer. What is worth trying again becomes a
:class:`TransientError`: a refused or dropped connection, a timeout, an HTTP
5xx or 429 without a SOAP body, an unreadable answer, a fault whose code
says the server failed (``s:Server``, WCF's ``InternalServiceFault``). A
fault that names bad input (``s:Client``, a message WCF could not read) is
:class:`CegidFaultError`, and refused credentials :class:`CegidAuthError`:
trying again would fail the same way. The password is never logged nor
put in a message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from zeep import Client, Settings
from zeep.exceptions import Fault, XMLParseError, XMLSyntaxError
from zeep.exceptions import TransportError as ZeepTransportError
from zeep.helpers import serialize_object
from zeep.transports import Transport

from amigo.connectors.resilience import (
    CircuitBreaker,
    RetryPolicy,
    TransientError,
    call_with_retries,
)
from amigo.core.config import CegidSettings
from amigo.core.errors import AmigoError, InvalidInputError

log = logging.getLogger(__name__)
T = TypeVar("T")

NAMESPACE = "http://www.cegid.fr/Retail/1.0"
WSDL_DIR = Path(__file__).parent / "wsdl"
CUSTOMER_SERVICE = "CustomerWcfService"
SALE_DOCUMENT_SERVICE = "SaleDocumentService"
# Y2's document types the sync reads: sales at the till, orders, returns.
SYNCED_DOCUMENT_TYPES = ("Receipt", "CustomerOrder", "ReturnNotice")
DEFAULT_POLICY = RetryPolicy()
# Fault codes (their local part) that name the caller's input: never retried.
_CLIENT_FAULTS = ("client", "sender", "deserializationfailed", "actionnotsupported")


class CegidFaultError(AmigoError):
    """Y2 refused a call as bad input (a client fault): trying again would fail the same way."""

    code = "cegid_client_fault"
    http_status = 502


class CegidAuthError(AmigoError):
    """Y2 refused the credentials (HTTP 401 or 403)."""

    code = "cegid_unauthorized"
    http_status = 502


@dataclass
class _Reply:
    """What zeep reads of an HTTP answer (the attributes of a requests.Response it uses)."""

    status_code: int
    content: bytes
    headers: httpx.Headers
    encoding: str | None


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("Retry-After")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


class HttpxTransport(Transport):
    """zeep's transport over an httpx client; WSDLs are read from disk only."""

    def __init__(self, client: httpx.Client) -> None:
        # Transport.__init__ would open a requests.Session: everything it sets is set here.
        self.client = client
        self.cache = None
        self.load_timeout = None
        self.operation_timeout = None
        self.logger = log
        self._close_session = False

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> _Reply:
        """POST an envelope; raise TransientError or a clear error when no SOAP answer came."""
        action = headers.get("SOAPAction", "").strip('"').rsplit("/", 1)[-1]
        try:
            response = self.client.post(address, content=message, headers=headers)
        except httpx.TimeoutException as error:
            raise TransientError(f"timed out ({type(error).__name__})") from error
        except httpx.TransportError as error:
            raise TransientError(f"{type(error).__name__}: {error}") from error
        status = response.status_code
        if status in (401, 403):
            raise CegidAuthError(
                f"Y2 refused the credentials (HTTP {status} on {action}): check "
                "AMIGO_CEGID_USERNAME (DOMAIN\\user; cloud: <DatabaseId>\\user) and "
                "AMIGO_CEGID_PASSWORD",
                code="cegid_unauthorized",
            )
        is_xml = "xml" in response.headers.get("Content-Type", "")
        if (status >= 500 and not is_xml) or status == 429:
            raise TransientError(f"HTTP {status}", retry_after=_retry_after(response.headers))
        if status >= 400 and not is_xml:
            raise CegidFaultError(
                f"Y2 {action} answered HTTP {status} at {address}: check AMIGO_CEGID_BASE_URL",
                code="cegid_http_error",
            )
        return _Reply(status, response.content, response.headers, response.encoding)

    def get(self, address: str, params: Any, headers: Any) -> Any:
        """Refuse: the WSDLs are kept in the package, nothing is fetched from Y2."""
        raise AmigoError(f"the Cegid client fetches nothing by GET ({address})")


def _is_client_fault(code: str | None) -> bool:
    local = (code or "").rsplit(":", 1)[-1].lower()
    return local.startswith(_CLIENT_FAULTS)


@dataclass(frozen=True)
class DocumentKey:
    """A sale document's key: its type, stump (the till's series) and number."""

    type: str
    stump: str
    number: int

    @property
    def text(self) -> str:
        """Return the key as AMIgo writes it: "<Stump>-<Number>"."""
        return f"{self.stump}-{self.number}"


class Y2Client:
    """Y2's customer and sale document services, each call retried and behind one breaker."""

    def __init__(
        self,
        *,
        base_url: str,
        database_id: str,
        username: str,
        password: str,
        timeout: float = 30.0,
        policy: RetryPolicy = DEFAULT_POLICY,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[TransientError, float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.database_id = database_id
        self.policy = policy
        self.breaker = breaker if breaker is not None else CircuitBreaker("Cegid Y2")
        self.sleep = sleep
        self.retries = 0
        self._lock = threading.Lock()
        self._on_retry = on_retry
        self._http = httpx.Client(
            auth=httpx.BasicAuth(username, password),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": "AMIgo-Cegid/1"},
        )
        transport = HttpxTransport(self._http)
        # strict=False: elements Y2 adds beyond the kept WSDL are skipped, not an error.
        settings = Settings(strict=False, xml_huge_tree=False)
        self._customers = self._service(
            CUSTOMER_SERVICE, "ICustomerWcfService", transport, settings
        )
        self._documents = self._service(
            SALE_DOCUMENT_SERVICE, "ISaleDocumentService", transport, settings
        )

    def _service(self, name: str, contract: str, transport: Transport, settings: Settings) -> Any:
        # zeep's functions carry no annotations.
        client = Client(  # type: ignore[no-untyped-call]
            str(WSDL_DIR / f"{name}.wsdl"), transport=transport, settings=settings
        )
        return client.create_service(  # type: ignore[no-untyped-call]
            f"{{{NAMESPACE}}}BasicHttpBinding_{contract}", f"{self.base_url}/{name}.svc"
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Y2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _context(self) -> dict[str, str]:
        return {"DatabaseId": self.database_id}

    def _call(self, what: str, call: Callable[[], T]) -> T:
        def attempt() -> T:
            try:
                return call()
            except Fault as fault:
                if _is_client_fault(fault.code):
                    raise CegidFaultError(
                        f"Y2 refused {what} ({fault.code}): {fault.message}",
                        code="cegid_client_fault",
                    ) from None
                raise TransientError(f"fault {fault.code}: {fault.message}") from None
            except (XMLSyntaxError, XMLParseError) as error:
                raise TransientError(f"unreadable XML: {error}") from None
            except ZeepTransportError as error:
                if error.status_code >= 500 or error.status_code == 0:
                    raise TransientError(f"HTTP {error.status_code}: {error.message}") from None
                raise CegidFaultError(
                    f"Y2 {what}: HTTP {error.status_code}: {error.message}",
                    code="cegid_http_error",
                ) from None

        def retried(error: TransientError, delay: float) -> None:
            with self._lock:  # the sync calls from several threads
                self.retries += 1
            log.info("Y2 %s: %s; trying again in %.1f s", what, error, delay)
            if self._on_retry is not None:
                self._on_retry(error, delay)

        return call_with_retries(
            attempt, what=f"Y2 {what}", policy=self.policy, breaker=self.breaker,
            sleep=self.sleep, on_retry=retried,
        )  # fmt: skip

    # --- customers ---------------------------------------------------------------

    def hello(self, text: str = "AMIgo") -> str:
        """Call CustomerWcfService.HelloWorld: proves the address, credentials and database."""
        result = self._call(
            "HelloWorld",
            lambda: self._customers.HelloWorld(text=text, clientContext=self._context),
        )
        return str(result or "")

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """Return GetCustomerDetail of one customer as plain data, None when Y2 has none."""
        result = self._call(
            f"GetCustomerDetail({customer_id})",
            lambda: self._customers.GetCustomerDetail(
                customerId=customer_id, clientContext=self._context
            ),
        )
        customer: dict[str, Any] | None = _plain(result)
        return customer

    def search_customers(
        self, *, max_results: int, creation_store_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Return SearchCustomerIds' answer: customers (at least their id and dates)."""
        search: dict[str, Any] = {"MaxNumberOfCustomers": max_results}
        if creation_store_id is not None:
            search["CreationStoreId"] = creation_store_id
        result = self._call(
            f"SearchCustomerIds({creation_store_id or 'all'})",
            lambda: self._customers.SearchCustomerIds(
                searchData=search, clientContext=self._context
            ),
        )
        return _items(_plain(result), "CustomerQueryData")

    # --- sale documents ------------------------------------------------------------

    def header_page(
        self,
        *,
        begin: datetime,
        end: datetime,
        page_index: int,
        page_size: int,
        document_types: Sequence[str] = SYNCED_DOCUMENT_TYPES,
    ) -> list[dict[str, Any]]:
        """Return one page (from 1) of GetHeaderList: headers dated begin to end, store-local."""
        request = {
            "BeginDate": begin,
            "EndDate": end,
            "DocumentTypes": {"SaleDocumentType": list(document_types)},
            "Pager": {"PageIndex": page_index, "PageSize": page_size},
        }
        result = self._call(
            f"GetHeaderList({begin:%Y-%m-%d}..{end:%Y-%m-%d} page {page_index})",
            lambda: self._documents.GetHeaderList(
                searchRequest=request, clientContext=self._context
            ),
        )
        reply = _plain(result) or {}
        # zeep unwraps a reply of one element: GetHeaderList_Reply comes as its Headers.
        return _items(reply.get("Headers", reply), "Get_Header")

    def document(self, key: DocumentKey) -> dict[str, Any] | None:
        """Return GetByKey of one document: its Header, Lines and Payments as plain data."""
        request = {"Key": {"Number": key.number, "Stump": key.stump, "Type": key.type}}
        result = self._call(
            f"GetByKey({key.type} {key.text})",
            lambda: self._documents.GetByKey(searchRequest=request, clientContext=self._context),
        )
        reply = _plain(result)
        if reply is None:
            return None
        return {
            "Header": reply.get("Header"),
            "Lines": _items(reply.get("Lines"), "Get_Line"),
            "Payments": _items(reply.get("Payments"), "Get_Payment"),
        }

    # --- outbound: customers written into Y2 (connectors/cegid/outbound.py) -------------

    def update_customer(self, customer_id: str, data: dict[str, Any]) -> None:
        """Call UpdateCustomer: write the elements of ``data`` (a CustomerInputData) into one customer."""
        self._call(
            f"UpdateCustomer({customer_id})",
            lambda: self._customers.UpdateCustomer(
                customerId=customer_id, modifiedData=data, clientContext=self._context
            ),
        )

    def add_customer(self, data: dict[str, Any]) -> dict[str, str]:
        """Call AddNewCustomer; return its CustomerInsertData: CustomerId and CustomerGuid."""
        result = _plain(
            self._call(
                "AddNewCustomer",
                lambda: self._customers.AddNewCustomer(
                    customerData=data, clientContext=self._context
                ),
            )
        )
        customer_id = (result or {}).get("CustomerId")
        if not customer_id:
            raise CegidFaultError(
                "Y2 answered AddNewCustomer without a CustomerId", code="cegid_no_customer_id"
            )
        return {
            "CustomerId": str(customer_id),
            "CustomerGuid": str(result.get("CustomerGuid") or ""),
        }


def client_from_settings(
    settings: CegidSettings,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> Y2Client:
    """Return a client on the configured Y2; name every missing AMIGO_CEGID_* setting."""
    missing = [
        name
        for name, value in (
            ("AMIGO_CEGID_BASE_URL", settings.base_url),
            ("AMIGO_CEGID_DATABASE_ID", settings.database_id),
            ("AMIGO_CEGID_USERNAME", settings.username),
            ("AMIGO_CEGID_PASSWORD", settings.password),
        )
        if not value
    ]
    if missing or settings.password is None:
        raise InvalidInputError(
            f"Cegid Y2's web services are not configured: set {', '.join(missing)}",
            code="cegid_not_configured",
        )
    base_url = settings.base_url or ""
    if not base_url.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"AMIGO_CEGID_BASE_URL must start with http:// or https://, not {base_url!r}",
            code="cegid_not_configured",
        )
    return Y2Client(
        base_url=base_url,
        database_id=settings.database_id or "",
        username=settings.username or "",
        password=settings.password.get_secret_value(),
        timeout=settings.timeout_seconds,
        policy=policy,
        sleep=sleep,
    )


def _plain(value: Any) -> Any:
    """Return zeep's objects as dicts and lists."""
    return serialize_object(value, target_cls=dict)  # type: ignore[no-untyped-call]


def _items(array: Any, name: str) -> list[dict[str, Any]]:
    """Return the items of a WCF ArrayOfX (None when empty) as a list."""
    if array is None:
        return []
    if isinstance(array, list):
        return [item for item in array if item is not None]
    items = array.get(name) if isinstance(array, dict) else None
    return [item for item in (items or []) if item is not None]


def document_key(header: dict[str, Any]) -> DocumentKey | None:
    """Return a header's key, None when it has none."""
    key = header.get("Key") or {}
    stump, number = key.get("Stump"), key.get("Number")
    if not stump or number is None:
        return None
    return DocumentKey(type=str(key.get("Type") or "Receipt"), stump=str(stump), number=int(number))


__all__ = [
    "SYNCED_DOCUMENT_TYPES",
    "CegidAuthError",
    "CegidFaultError",
    "DocumentKey",
    "HttpxTransport",
    "Y2Client",
    "client_from_settings",
    "document_key",
]
