"""Imports every table so Alembic and the metadata see the whole schema."""

from sqlmodel import SQLModel

from app.accounts import models as accounts_models
from app.attendance import models as attendance_models
from app.audit import models as audit_models
from app.certificates import models as certificates_models
from app.claims import models as claims_models
from app.courses import models as courses_models
from app.exchange import models as exchange_models
from app.filing import models as filing_models
from app.idempotency import models as idempotency_models
from app.outcomes import models as outcomes_models
from app.programmes import models as programmes_models
from app.webhooks import models as webhooks_models

metadata = SQLModel.metadata

__all__ = [
    "accounts_models",
    "attendance_models",
    "audit_models",
    "certificates_models",
    "claims_models",
    "courses_models",
    "exchange_models",
    "filing_models",
    "idempotency_models",
    "metadata",
    "outcomes_models",
    "programmes_models",
    "webhooks_models",
]
