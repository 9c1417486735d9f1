"""P3's rules for the vendors' service as data: rectifications, monthly scores, assessments."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final

from procedures.kernel import roles
from procedures.kernel.rules import DeadlineRule, deadline_table


class VendorDeadline(StrEnum):
    RECTIFICATION = "rectification"
    SCORE = "score"
    ASSESSMENT = "assessment"


# the deadline the equipment manager gives the vendor, rung by rung of the ladder
RECTIFICATION: Final = DeadlineRule(
    VendorDeadline.RECTIFICATION, roles.EQUIPMENT_MANAGER, window=None
)
# the month's score sheet, due by the end of the due day of the next month
SCORE: Final = DeadlineRule(
    VendorDeadline.SCORE, roles.EQUIPMENT_MANAGER, window=None, setting="SCORE_DUE_DAY"
)
# the half-year assessment is signed within 30 days of its opening
ASSESSMENT: Final = DeadlineRule(
    VendorDeadline.ASSESSMENT, roles.EQUIPMENT_MANAGER, window=dt.timedelta(days=30)
)

DEADLINES: Final = deadline_table(RECTIFICATION, SCORE, ASSESSMENT)
