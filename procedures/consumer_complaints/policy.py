"""The settings that change a consumer complaint's rules: its answer and decision windows."""

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
