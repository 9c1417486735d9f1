"""The settings that change a consumer complaint's rules: its answer and decision windows, and
the windows of the after-sales head's monthly proposals and hand-over."""

from __future__ import annotations

import datetime as dt

from procedures.consumer_complaints import rules
from procedures.kernel.policy import PolicySection, window


class ConsumerComplaintPolicy(PolicySection):
    # a consumer complaint's first answer by after-sales, and its answer after a decision (one
    # setting: the final answer's rule names the same)
    answer_within: dt.timedelta = window(rules.FIRST_ANSWER, most=24 * 30)
    # the business head's decision on a consumer complaint after-sales could not resolve
    decision_within: dt.timedelta = window(rules.DECISION, most=90)
    # the after-sales head's improvement proposals on the month's summary (4.3.4)
    proposals_within: dt.timedelta = window(rules.PROPOSALS, most=28)
    # the after-sales head passing the month's summary on to the business head (4.4)
    forward_within: dt.timedelta = window(rules.FORWARDED, most=28)
