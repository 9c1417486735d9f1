"""P2's rules for returns and exchanges as data: their deadline kinds, owners, windows, settings."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final

from procedures.kernel import roles
from procedures.kernel.rules import DeadlineRule, deadline_table


class ReturnDeadline(StrEnum):
    CORRECTIVE_ACTION = "corrective_action"
    RETURN_SLIP = "return_slip"


# a company fault found by QC: the responsible department's corrective action; company-internal,
# so the customer's view of the return never shows it
CORRECTIVE_ACTION: Final = DeadlineRule(
    ReturnDeadline.CORRECTIVE_ACTION,
    roles.QUALITY,
    window=dt.timedelta(days=30),
    setting="CORRECTIVE_ACTION_DAYS",
    internal=True,
)
# the return slip (退貨單) reaches the customer by 12:00 the next local day
RETURN_SLIP: Final = DeadlineRule(ReturnDeadline.RETURN_SLIP, roles.WAREHOUSE, window=None)

DEADLINES: Final = deadline_table(CORRECTIVE_ACTION, RETURN_SLIP)
