"""The settings that change a return's rules: the windows its rules let the deployment change."""

from __future__ import annotations

import datetime as dt

from procedures.kernel.policy import PolicySection, window
from procedures.returns import rules


class ReturnPolicy(PolicySection):
    # days to complete the corrective action a return's company fault opens
    corrective_action_within: dt.timedelta = window(rules.CORRECTIVE_ACTION, most=365)
    # days QC has to inspect the goods once they are delivered to the warehouse
    inspection_within: dt.timedelta = window(rules.INSPECTION, most=30)
