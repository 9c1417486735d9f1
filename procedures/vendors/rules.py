"""P3's rules for the vendors' service as data: rectifications, monthly scores, assessments."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final

from procedures.kernel import roles
from procedures.kernel.errors import WrongState
from procedures.kernel.rules import DeadlineRule, Lifecycle, deadline_table
from procedures.vendors.actions import BeginFollowUp, BeginScore, SignAssessment
from storage.models import Assessment, Rectification


class AssessmentStatus(StrEnum):
    OPEN = "open"
    SIGNED = "signed"


class RectificationStatus(StrEnum):
    OPEN = "open"
    CONFORMING = "conforming"
    EVALUATING = "evaluating"
    FORM_SUBMITTED = "form_submitted"
    REVIEWED = "reviewed"
    APPROVED = "approved"


def _rectification_out_of_turn(rectification: Rectification) -> WrongState:
    return WrongState(
        "rectification.wrong_step",
        label=rectification.number or f"#{rectification.id}",
        status={"$text": f"rectification.status.{rectification.status}"},
    )


R = RectificationStatus
# the ladder: conforming at any open rung, or the evaluation form (分承包方服務質量檢查評價表) by
# the engineer, reviewed by the equipment manager, approved by the management office; either of
# them may send it back to the engineer
RECTIFICATION_LIFECYCLE: Final = Lifecycle[RectificationStatus](
    {
        R.OPEN: frozenset({R.CONFORMING, R.EVALUATING}),
        R.EVALUATING: frozenset({R.FORM_SUBMITTED}),
        R.FORM_SUBMITTED: frozenset({R.REVIEWED, R.EVALUATING}),
        R.REVIEWED: frozenset({R.APPROVED, R.EVALUATING}),
        R.CONFORMING: frozenset(),
        R.APPROVED: frozenset(),
    },
    _rectification_out_of_turn,
)


def _assessment_signed(assessment: Assessment) -> WrongState:
    return WrongState("assessment.already_signed", year=assessment.year, half=assessment.half)


ASSESSMENT_LIFECYCLE: Final = Lifecycle[AssessmentStatus](
    {
        AssessmentStatus.OPEN: frozenset({AssessmentStatus.SIGNED}),
        AssessmentStatus.SIGNED: frozenset(),
    },
    _assessment_signed,
)


class VendorDeadline(StrEnum):
    RECTIFICATION = "rectification"
    SCORE = "score"
    ASSESSMENT = "assessment"


# the deadline the equipment manager gives the vendor, rung by rung of the ladder; its
# reminder and alert go to the manager, whose step is the follow-up check (跟蹤檢查) of the
# vendor's work (conforming or the next rung are decided on what it finds)
RECTIFICATION: Final = DeadlineRule(
    VendorDeadline.RECTIFICATION,
    roles.EQUIPMENT_MANAGER,
    window=None,
    step=lambda deadline: BeginFollowUp(rectification_id=deadline.subject_id),
)
# the month's score sheet, due by the end of the due day of the next month
SCORE: Final = DeadlineRule(
    VendorDeadline.SCORE,
    roles.EQUIPMENT_MANAGER,
    window=None,
    setting="SCORE_DUE_DAY",
    # the deadline's label is "<vendor code> <YYYY-MM>"
    step=lambda deadline: BeginScore.for_month(
        deadline.subject_id, deadline.subject_label.split()[-1]
    ),
)
# the half-year assessment is signed within 30 days of its opening
ASSESSMENT: Final = DeadlineRule(
    VendorDeadline.ASSESSMENT,
    roles.EQUIPMENT_MANAGER,
    window=dt.timedelta(days=30),
    step=lambda deadline: SignAssessment(assessment_id=deadline.subject_id),
)

DEADLINES: Final = deadline_table(RECTIFICATION, SCORE, ASSESSMENT)


# --- who may read and act

MANAGERS = frozenset({roles.EQUIPMENT_MANAGER})

ENGINEERS = frozenset({roles.EQUIPMENT_ENGINEER})

OFFICE = frozenset({roles.MANAGEMENT_OFFICE})

FOLLOWERS = frozenset({roles.EQUIPMENT_MANAGER, roles.EQUIPMENT_ENGINEER})

# 有關人員: who adds findings; the manager may too
CONCERNED: Final = (roles.EQUIPMENT_ENGINEER, roles.EQUIPMENT_SUPERVISOR, roles.TECHNICIAN)

FINDERS: Final = frozenset({*CONCERNED, roles.EQUIPMENT_MANAGER})

# 匯總上報貴方主管部門; the management office keeps its copy
REPORTED_TO: Final = (roles.CLIENT_AUTHORITY, roles.MANAGEMENT_OFFICE)

# who reads the rectification notices
RECTIFICATION_READERS = MANAGERS | ENGINEERS | OFFICE
