"""P3's buttons for the vendors: rectifications, monthly scores and the half-year assessment."""

from __future__ import annotations

from typing import Annotated

from procedures.kernel.actions import CallbackAction, Matches

# --- rectifications and vendor scores (P3) ---------------------------------------------------


class RectifyVendor(CallbackAction, prefix="rc:v"):
    vendor_id: int


class RectifyWithin(CallbackAction, prefix="rc:d"):
    days: int


class ConfirmConforming(CallbackAction, prefix="rn:ok"):
    rectification_id: int


class IssueWrittenNotice(CallbackAction, prefix="rn:write"):
    rectification_id: int


class StartEvaluation(CallbackAction, prefix="rn:eval"):
    rectification_id: int


class ForwardEvaluation(CallbackAction, prefix="rn:fwd"):
    rectification_id: int


class SendEvaluationBack(CallbackAction, prefix="rn:back"):
    rectification_id: int


class ApproveEvaluation(CallbackAction, prefix="rn:approve"):
    rectification_id: int


class ReturnEvaluation(CallbackAction, prefix="rn:return"):
    rectification_id: int


class BeginFollowUp(CallbackAction, prefix="rn:follow"):
    rectification_id: int


class BeginEvaluationForm(CallbackAction, prefix="rn:form"):
    rectification_id: int


class BeginScore(CallbackAction, prefix="vs:go"):
    vendor_id: int
    period: Annotated[str, Matches(r"\d{6}")]  # YYYYMM: the month without its dash

    @classmethod
    def for_month(cls, vendor_id: int, month: str) -> BeginScore:
        """The button for `month` as procedures write it, YYYY-MM."""
        return cls(vendor_id=vendor_id, period=month.replace("-", ""))

    @property
    def month(self) -> str:
        return f"{self.period[:4]}-{self.period[4:]}"


class JudgeCriterion(CallbackAction, prefix="vs:c"):
    criterion: Annotated[str, Matches(r"[a-z_]+")]
    value: Annotated[int, Matches(r"[1-5]")]


class AddAssessmentFinding(CallbackAction, prefix="as:find"):
    """One of the people concerned adds a finding about a vendor to the half-year assessment."""

    assessment_id: int
    vendor_id: int


class SignAssessment(CallbackAction, prefix="as:sign"):
    assessment_id: int


class ReportRectified(CallbackAction, prefix="rn:done"):
    """整改完成: the vendor reports the rectification done; the manager checks it."""

    rectification_id: int
