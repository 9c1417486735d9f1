"""The settings that change a quality complaint's rules: what an open complaint holds, and the
windows of the deadlines its rules let the deployment change."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from pydantic import field_validator

from procedures.complaints import rules
from procedures.kernel.policy import PolicySection, window

# 暫停發貨 of a complained product: the whole product (the seed's 該產品) or only the lot
HOLD_SCOPES: Final = ("product", "lot")


class ComplaintPolicy(PolicySection):
    hold_scope: str = "product"
    # reporting limit for a possible medical-device adverse event (醫療器械不良事件)
    adverse_event_report_within: dt.timedelta = window(rules.ADVERSE_EVENT_REPORT, most=365)
    # days the supplier has to answer a quality query before quality is chased
    supplier_answer_within: dt.timedelta = window(rules.SUPPLIER_ANSWER, most=365)

    @field_validator("hold_scope", mode="before")
    @classmethod
    def _scope(cls, scope: Any) -> Any:
        if isinstance(scope, str):
            if scope.lower() not in HOLD_SCOPES:
                raise ValueError(f"must be product or lot, got {scope!r}")
            return scope.lower()
        return scope
