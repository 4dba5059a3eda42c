"""Import every domain's models so that Base.metadata knows all tables."""

from amigo.api import models as api_models
from amigo.connectors import models as connector_models
from amigo.connectors.shopify import models as shopify_models
from amigo.consent import models as consent_models
from amigo.core import audit as audit_models
from amigo.core import keycheck as keycheck_models
from amigo.events import models as events_models
from amigo.identity import models as identity_models
from amigo.ingest import models as ingest_models
from amigo.privacy import models as privacy_models
from amigo.profiles import models as profiles_models
from amigo.tracking import models as tracking_models

__all__ = [
    "api_models",
    "audit_models",
    "connector_models",
    "consent_models",
    "events_models",
    "identity_models",
    "ingest_models",
    "keycheck_models",
    "privacy_models",
    "profiles_models",
    "shopify_models",
    "tracking_models",
]
