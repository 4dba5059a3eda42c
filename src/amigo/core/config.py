"""Settings from ``AMIGO_*`` environment variables, one class per section."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseSettings):
    """Where the operational store lives."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_DATABASE_", extra="ignore")

    url: str = Field(
        default="sqlite:///./amigo.db",
        description="SQLAlchemy URL; the embedded default is a SQLite file in the current "
        "directory, production uses postgresql+psycopg://...",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")


class LoadSettings(BaseSettings):
    """How `amigo load` batches its work."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_LOAD_", extra="ignore")

    batch_size: int = Field(
        default=5000,
        ge=1,
        le=100_000,
        description="Rows per transaction: each batch and its checkpoint commit together.",
    )
    workers: int = Field(
        default_factory=lambda: min(3, os.cpu_count() or 1),
        ge=0,
        le=32,
        description="Processes loading files of different sources side by side within a "
        "phase (0 or 1: one file at a time). Default: one per core, at most 3 (the sources).",
    )


class IdentitySettings(BaseSettings):
    """How identity resolution decides that two records are one person."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_IDENTITY_", extra="ignore")

    auto_merge_threshold: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="Match probability at or above which two profiles merge without a person "
        "(the guards still apply). Chosen by the identity benchmark (docs/BENCHMARKS.md).",
    )
    review_threshold: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Match probability from which a pair goes to the review queue; below it, "
        "no link.",
    )
    backend: str = Field(
        default="duckdb",
        pattern="^(duckdb|spark)$",
        description="Where Splink runs batch resolution: duckdb (embedded, the default) or "
        "spark (pyspark installed, for data that outgrows one machine).",
    )
    seed: int = Field(default=42, description="Seed of the random pair sampling in training.")
    incremental: bool = Field(
        default=True,
        description="Resolve new and changed source customer records against existing "
        "profiles as they are loaded (once a model has been trained).",
    )


class ConsentSettings(BaseSettings):
    """How consent links are signed and how long they stay valid."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_CONSENT_", extra="ignore")

    link_secret: SecretStr | None = Field(
        default=None,
        description="Key signing the unsubscribe, preference and confirmation links. "
        "Unset in embedded mode: a random key is created in link_key_file on first use.",
    )
    link_key_file: Path = Field(
        default=Path("amigo-links.key"),
        description="Where the embedded mode keeps its link signing key (created mode 0600).",
    )
    confirmation_hours: int = Field(
        default=72,
        ge=1,
        le=24 * 30,
        description="How long a double opt-in confirmation link stays valid.",
    )
    link_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="How long an unsubscribe or preference center link stays valid.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address people reach the public pages at, for the links in messages.",
    )


class PrivacySettings(BaseSettings):
    """How data-subject requests are handled."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_PRIVACY_", extra="ignore")

    export_dir: Path = Field(
        default=Path("privacy-exports"),
        description="Where access reports and portability archives are written (personal "
        "data: erasure removes them).",
    )
    recent_order_days: int = Field(
        default=365,
        ge=1,
        description="An erasure of a customer with an order this recent needs a second approver.",
    )
    retention_years: float = Field(
        default=3,
        gt=0,
        le=30,
        description="Years after the last purchase (customers) or the collection (prospects), "
        "or the last contact, after which `amigo privacy retention` anonymizes a profile: the "
        "CNIL's guidance is three.",
    )
    suppression_key: SecretStr | None = Field(
        default=None,
        description="Key of the keyed hashes on the erasure suppression list. Unset in "
        "embedded mode: a random key is created in suppression_key_file on first use. Keep it: "
        "with another key, erased people are no longer recognised when they are imported again.",
    )
    suppression_key_file: Path = Field(
        default=Path("amigo-suppression.key"),
        description="Where the embedded mode keeps its suppression list key (created mode 0600).",
    )


class EncryptionSettings(BaseSettings):
    """The keys of field encryption (AES-256-GCM) and of the blind indexes (docs/encryption.md)."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_ENCRYPTION_", extra="ignore")

    key: SecretStr | None = Field(
        default=None,
        description="The encryption key ring: one or more id:base64 entries (32 random bytes "
        "each) separated by commas or spaces; the first encrypts, every one decrypts. Unset in "
        "embedded mode: a key is created in key_file on first use. Rotate by putting a new "
        "entry first, restarting, then `amigo keys rotate`; drop an old entry only after that.",
    )
    key_file: Path = Field(
        default=Path("amigo-encryption.key"),
        description="Where the embedded mode keeps its key ring, one id:base64 entry a line, "
        "the current first (created mode 0600). Lose it and the encrypted fields are lost.",
    )
    index_key: SecretStr | None = Field(
        default=None,
        description="Key of the blind indexes (exact lookups of encrypted fields): base64 of 32 "
        "random bytes, kept apart from the encryption keys and not rotated with them. Set it "
        "whenever `key` is set; unset in embedded mode: created in index_key_file.",
    )
    index_key_file: Path = Field(
        default=Path("amigo-index.key"),
        description="Where the embedded mode keeps its blind index key (created mode 0600).",
    )


class EventSettings(BaseSettings):
    """Where domain events go once the outbox has them, and how webhooks are delivered."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_", extra="ignore")

    bus_url: str = Field(
        default="",
        description="Event bus: empty for the in-process bus (embedded mode: subscribers in the "
        "relay's process), nats://host:4222 for NATS JetStream.",
    )
    events_stream: str = Field(
        default="AMIGO_EVENTS",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="JetStream stream holding the events (created by the relay if missing).",
    )
    events_subject_prefix: str = Field(
        default="amigo.events",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Events are published to <prefix>.<type>, e.g. amigo.events.consent.changed; "
        "the stream captures <prefix>.>.",
    )
    events_duplicate_window: float = Field(
        default=120,
        gt=0,
        le=7 * 24 * 3600,
        description="Seconds during which JetStream drops a message republished with the same "
        "Nats-Msg-Id (the event id), when the relay creates the stream.",
    )
    relay_batch_size: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Outbox rows the relay publishes per transaction.",
    )
    relay_idle_seconds: float = Field(
        default=0.1,
        gt=0,
        le=60,
        description="How long a running relay waits before looking again at an empty outbox "
        "(on PostgreSQL a committed event wakes it at once; SQLite relies on this poll).",
    )
    webhook_attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Delivery attempts per webhook and event before it goes to the dead letters.",
    )
    webhook_backoff_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Base of the exponential backoff between attempts (full jitter: a random "
        "wait between 0 and base * 2^attempt, capped by webhook_backoff_max_seconds).",
    )
    webhook_backoff_max_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Longest wait between two delivery attempts.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="How long one delivery attempt waits for the receiver's answer.",
    )


class ShopifySettings(BaseSettings):
    """The Shopify connector: inbound webhooks, their signature, and their processing."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_SHOPIFY_", extra="ignore")

    api_secret: SecretStr | None = Field(
        default=None,
        description="The Shopify app's client secret (API secret key): each webhook's "
        "X-Shopify-Hmac-Sha256 is checked against it. Unset: POST "
        "/v1/connectors/shopify/webhooks answers 503 not_configured.",
    )
    shop_domains: str = Field(
        default="",
        description="Comma-separated shops whose webhooks are accepted "
        "(snowdevil.myshopify.com); empty: any shop whose signature verifies. A signed "
        "webhook from another shop answers 403 and is not stored.",
    )
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Largest webhook body accepted; a larger one answers 413 unread.",
    )
    process_in_serve: bool = Field(
        default=True,
        description="`amigo serve` drains the webhook inbox in each API process (a thread), "
        "as `amigo connectors shopify process` does on its own.",
    )
    idle_seconds: float = Field(
        default=0.1,
        gt=0,
        le=60,
        description="How long an idle processor waits before looking at the inbox again "
        "(on PostgreSQL a stored webhook wakes it at once; SQLite relies on this poll).",
    )
    attempts: int = Field(
        default=8,
        ge=1,
        le=50,
        description="Processing attempts per webhook before it goes to the dead letters.",
    )
    backoff_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="Base of the backoff between two processing attempts of a webhook (full "
        "jitter: a random wait up to base * 2^attempt, capped by backoff_max_seconds).",
    )
    backoff_max_seconds: float = Field(
        default=900.0,
        gt=0,
        le=86_400,
        description="Longest wait between two processing attempts of a webhook.",
    )

    # -- the Admin API (connectors/shopify/admin.py): backfill, later outbound pushes --
    shop_domain: str | None = Field(
        default=None,
        description="The shop the backfill reads (ami-paris.myshopify.com); `--shop` overrides it.",
    )
    admin_access_token: SecretStr | None = Field(
        default=None,
        description="The app's Admin API access token (shpat_...), sent as "
        "X-Shopify-Access-Token; scopes read_customers, read_orders (read_all_orders for "
        "orders older than 60 days). Unset: `amigo connectors shopify backfill` refuses.",
    )
    api_version: str = Field(
        default="2026-01",
        pattern=r"^([0-9]{4}-(01|04|07|10)|unstable)$",
        description="The Admin API version called (/admin/api/<version>/graphql.json).",
    )
    admin_url: str | None = Field(
        default=None,
        description="Base URL of the Admin API instead of https://<shop_domain> (a proxy, "
        "or the tests' stand-in); the path /admin/api/<version>/graphql.json is appended.",
    )
    page_size: int = Field(
        default=250,
        ge=1,
        le=250,
        description="Most customers or orders per page of the backfill; each page is also "
        "kept under Shopify's 1,000-point query cost (249 customers, 32 orders).",
    )
    admin_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="How long an Admin API call may take before it is tried again.",
    )
    push: bool = Field(
        default=False,
        description="Send AMIgo's changes to Shopify through the Admin API: consent changes "
        "(customerEmailMarketingConsentUpdate, customerSmsMarketingConsentUpdate), the loyalty "
        "tier as a tag, erasures (customerRequestDataErasure); scopes write_customers and "
        "write_customer_data_erasure. `amigo events relay` pushes from its own process; with "
        "NATS, `amigo connectors shopify push` does.",
    )

    def allowed_shops(self) -> frozenset[str]:
        """Return the shop domains allowed, lower case; empty: every shop."""
        return frozenset(
            shop.strip().lower() for shop in self.shop_domains.split(",") if shop.strip()
        )


class CegidSettings(BaseSettings):
    """The Cegid Y2 connector: its retail web services (SOAP) and its drop folder of exports."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_CEGID_", extra="ignore")

    # -- SOAP web services (connectors/cegid/soap.py, sync.py) --
    base_url: str | None = Field(
        default=None,
        description="Where Y2's services are: https://<tenant>-retail-ondemand.cegid.cloud/Y2 "
        "(cloud) or http://<host>/Y2_<ENV> (on premises); each service is <base_url>/<Service>.svc. "
        "Unset: `amigo connectors cegid sync` refuses to start.",
    )
    database_id: str | None = Field(
        default=None,
        description="Y2's DatabaseId, sent in every call's clientContext.",
    )
    username: str | None = Field(
        default=None, description="HTTP Basic user, as DOMAIN\\user (cloud: <DatabaseId>\\user)."
    )
    password: SecretStr | None = Field(default=None, description="HTTP Basic password.")
    timeout_seconds: float = Field(
        default=30.0, gt=0, description="Seconds one call to Y2 may take before it is retried."
    )
    page_size: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="Sale document headers asked per GetHeaderList page (its Pager.PageSize); "
        "each page is written in one transaction with its checkpoint.",
    )
    concurrency: int = Field(
        default=4,
        ge=1,
        le=32,
        description="Calls to Y2 in flight at once while a page's documents and customers "
        "are read (GetByKey, GetCustomerDetail): each call waits on the network.",
    )
    window_days: int = Field(
        default=1, ge=1, le=31, description="Days of receipts asked per GetHeaderList window."
    )
    overlap_days: int = Field(
        default=2,
        ge=0,
        le=60,
        description="Days before the last synced day that each run reads again, to catch "
        "receipts of tills that synced late (re-read receipts are unchanged, a no-op).",
    )
    initial_days: int = Field(
        default=30,
        ge=1,
        description="Days of receipts the first run reads when no --since is given.",
    )
    reconcile_hours: float = Field(
        default=24.0,
        ge=0,
        description="Hours between reconciliation passes over every customer "
        "(SearchCustomerIds per creation store); 0: only on `sync --reconcile`.",
    )
    search_max: int = Field(
        default=10_000,
        ge=1,
        description="MaxNumberOfCustomers of one SearchCustomerIds (one creation store); "
        "a store that reaches it is reported as truncated.",
    )

    # -- drop folder of Y2 exports (connectors/cegid/dropfolder.py) --
    drop_folder: Path | None = Field(
        default=None,
        description="The folder Y2 writes its exports into; `amigo connectors cegid watch` "
        "loads each new file, then moves it to archive/ (or failed/).",
    )
    drop_settle_seconds: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="A dropped file is taken only once its size and modification time have "
        "not changed for this long (a half-written file is never read).",
    )
    drop_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="How often `amigo connectors cegid watch` looks at the drop folder.",
    )
    drop_require_marker: bool = Field(
        default=False,
        description="Take a file only once Y2 wrote its done-marker beside it "
        "(<name>.ok or <name>.done, see drop_marker_suffixes); the marker is then removed.",
    )
    drop_marker_suffixes: list[str] = Field(
        default_factory=lambda: [".ok", ".done"],
        description="Done-marker names: the export's name (with or without .csv) plus one of "
        "these. JSON list in the environment.",
    )
    drop_partial_suffixes: list[str] = Field(
        default_factory=lambda: [".tmp", ".part", ".partial", ".filepart", ".crdownload", "~"],
        description="Names still being written, never taken (dot-files neither). JSON list.",
    )
    drop_file_names: dict[str, str] = Field(
        default_factory=lambda: {
            "stores": "stores*.csv",
            "sales_associates": "sales_associates*.csv",
            "products": "products*.csv",
            "customers": "customers*.csv",
            "receipts": "receipts*.csv",
            "receipt_lines": "receipt_lines*.csv",
            "receipt_payments": "receipt_payments*.csv",
        },
        description="Which export a file is, by name (case-insensitive glob; * takes the "
        "set's date, customers_20261206_1800.csv); other names are told by their header. JSON.",
    )
    drop_processing_dir: str = Field(
        default="processing",
        description="Subfolder a file is renamed into before it is read (same file system).",
    )
    drop_archive_dir: str = Field(
        default="archive", description="Subfolder of loaded files, by day: archive/YYYY/MM/DD/."
    )
    drop_failed_dir: str = Field(
        default="failed",
        description="Subfolder of files that could not be loaded, each with its .error.txt.",
    )

    # -- outbound (connectors/cegid/outbound.py, docs/cegid-outbound.md) --
    outbound_create: bool = Field(
        default=False,
        description="`amigo connectors cegid push` creates a Y2 customer (AddNewCustomer) for a "
        "profile with a preferred store but no Y2 card, and links the CustomerId Y2 gives; off: "
        "only existing Y2 customers are enriched.",
    )
    outbound_golden_id_slot: int = Field(
        default=2,
        ge=2,
        le=10,
        description="The UserDefinedText (by Id) that holds AMIgo's golden id (AMI-...) in Y2; "
        "UserDefinedText1 holds the tier.",
    )
    push: bool = Field(
        default=False,
        description="`amigo events relay` (the in-process bus) also pushes each profile to Y2 as "
        "its consent, tier, store or merge events pass; with NATS, `amigo connectors cegid "
        "follow` does. Either way `amigo connectors cegid push` catches up on a schedule.",
    )


class ApiSettings(BaseSettings):
    """How `amigo serve` runs the HTTP app."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_API_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port to listen on.")
    workers: int = Field(default=1, ge=1, le=64, description="Uvicorn worker processes.")
    token_key: SecretStr | None = Field(
        default=None,
        description="Key signing the access tokens (HS256); several API processes share it. "
        "Unset: the embedded mode keeps one in token_key_file.",
    )
    token_key_file: Path = Field(
        default=Path("amigo-token.key"),
        description="Where the embedded mode keeps its token signing key (created mode 0600).",
    )
    token_ttl_seconds: int = Field(
        default=900,
        ge=30,
        le=86_400,
        description="Lifetime of an access token from POST /v1/oauth/token.",
    )
    rate_per_second: float = Field(
        default=200.0,
        gt=0,
        description="Requests per second each client may sustain (token bucket refill rate).",
    )
    rate_burst: int = Field(
        default=400,
        ge=1,
        description="Requests a client may make at once before the refill rate applies.",
    )


class Settings(BaseSettings):
    """All settings, grouped by section."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_", extra="ignore")

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    load: LoadSettings = Field(default_factory=LoadSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    consent: ConsentSettings = Field(default_factory=ConsentSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    encryption: EncryptionSettings = Field(default_factory=EncryptionSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    shopify: ShopifySettings = Field(default_factory=ShopifySettings)
    cegid: CegidSettings = Field(default_factory=CegidSettings)
    redis_url: str | None = Field(
        default=None,
        description="redis://... shared by several API processes (rate limits); unset: each "
        "process keeps its own counts in memory (the embedded mode).",
    )


@cache
def get_settings() -> Settings:
    """Build the settings once per process from the environment."""
    return Settings()
