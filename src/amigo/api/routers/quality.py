"""Data quality: completeness per golden field, invalid source values, rejects (counts only)."""

from __future__ import annotations

from fastapi import APIRouter

from amigo.api.deps import SessionDep
from amigo.api.errors import COMMON_ERRORS
from amigo.api.security import requires
from amigo.core.roles import Permission
from amigo.quality.report import quality_report
from amigo.quality.schemas import QualityReportView

router = APIRouter(prefix="/v1/quality", tags=["quality"], responses=COMMON_ERRORS)


@router.get(
    "/report",
    response_model=QualityReportView,
    dependencies=[requires(Permission.READ_QUALITY)],
)
def report(session: SessionDep) -> QualityReportView:
    """Return completeness and validity per field, and rejects by reason."""
    return QualityReportView.model_validate(quality_report(session=session))
