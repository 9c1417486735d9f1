"""P2's rules for consumer complaints as data: the answers' and the decision's deadlines, and
the after-sales head's monthly proposals and hand-over."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final

from procedures.consumer_complaints.actions import (
    AnswerConsumerComplaint,
    DecideConsumerComplaint,
    ForwardSummary,
    JudgeConsumerComplaint,
    ProposeImprovements,
    StartConsumerReturn,
)
from procedures.kernel import roles
from procedures.kernel.errors import WrongState
from procedures.kernel.rules import Audience, DeadlineRule, Lifecycle, deadline_table
from storage.models import ConsumerComplaint


class ConsumerComplaintStatus(StrEnum):
    OPEN = "open"  # waiting for after-sales' judgement
    ESCALATED = "escalated"  # with the business head
    DECIDED = "decided"  # decided; after-sales is to answer
    CLOSED = "closed"  # the answer went back


def _out_of_turn(consumer_complaint: ConsumerComplaint) -> WrongState:
    return WrongState(
        "consumer.wrong_state",
        number=consumer_complaint.number,
        status={"$text": f"consumer.status.{consumer_complaint.status}"},
    )


C = ConsumerComplaintStatus
# 4.3: judged and answered by after-sales (closed), or escalated to the business head, who
# decides; after-sales then answers
LIFECYCLE: Final = Lifecycle[ConsumerComplaintStatus](
    {
        C.OPEN: frozenset({C.CLOSED, C.ESCALATED}),
        C.ESCALATED: frozenset({C.DECIDED}),
        C.DECIDED: frozenset({C.CLOSED}),
        C.CLOSED: frozenset(),
    },
    _out_of_turn,
)


class ConsumerDeadline(StrEnum):
    FIRST_ANSWER = "consumer_first_answer"
    DECISION = "consumer_decision"
    FINAL_ANSWER = "consumer_final_answer"
    RETURN_FILED = "consumer_return_filed"


FIRST_ANSWER: Final = DeadlineRule(
    ConsumerDeadline.FIRST_ANSWER,
    roles.AFTER_SALES,
    window=dt.timedelta(hours=24),
    setting="CONSUMER_ANSWER_HOURS",
    step=lambda deadline: JudgeConsumerComplaint(complaint_id=deadline.subject_id),
)
# unresolved by after-sales: the business department (經營部) decides
DECISION: Final = DeadlineRule(
    ConsumerDeadline.DECISION,
    roles.BUSINESS_HEAD,
    window=dt.timedelta(days=3),
    setting="CONSUMER_DECISION_DAYS",
    step=lambda deadline: DecideConsumerComplaint(complaint_id=deadline.subject_id),
)
# after the decision, after-sales answers the consumer within the first answer's window
FINAL_ANSWER: Final = DeadlineRule(
    ConsumerDeadline.FINAL_ANSWER,
    roles.AFTER_SALES,
    window=dt.timedelta(hours=24),
    setting="CONSUMER_ANSWER_HOURS",
    step=lambda deadline: AnswerConsumerComplaint(complaint_id=deadline.subject_id),
)

# goods coming back: after-sales files the return that takes them, as a quality return when the
# complaint's cause is the product's quality (4.3.3 -> 4.2.6); company-internal
RETURN_FILED: Final = DeadlineRule(
    ConsumerDeadline.RETURN_FILED,
    roles.AFTER_SALES,
    window=dt.timedelta(hours=24),
    internal=True,
    step=lambda deadline: StartConsumerReturn(complaint_id=deadline.subject_id),
)


class MonthlyReviewDeadline(StrEnum):
    PROPOSALS = "consumer_improvement_proposals"
    FORWARDED = "consumer_summary_forwarded"


# the after-sales head's improvement proposals (改善辦法和方案, 4.3.4) on the month's summary: a
# week from the summary, so the analysis is written while the month is fresh and its proposals
# are in hand well before the next summary, which shows them
PROPOSALS: Final = DeadlineRule(
    MonthlyReviewDeadline.PROPOSALS,
    roles.AFTER_SALES_HEAD,
    window=dt.timedelta(days=7),
    setting="CONSUMER_PROPOSALS_DAYS",
    internal=True,
    step=lambda deadline: ProposeImprovements(period=deadline.subject_label),
)
# the month's after-sales information handed to the business head (匯總后交經營部負責人, 4.4):
# the head passes the summary on within days; the business head hears when it is late
FORWARDED: Final = DeadlineRule(
    MonthlyReviewDeadline.FORWARDED,
    roles.AFTER_SALES_HEAD,
    window=dt.timedelta(days=3),
    setting="CONSUMER_SUMMARY_FORWARD_DAYS",
    alerted=Audience(owner_head=True, roles=(roles.BUSINESS_HEAD,)),
    internal=True,
    step=lambda deadline: ForwardSummary(period=deadline.subject_label),
)

DEADLINES: Final = deadline_table(
    FIRST_ANSWER, DECISION, FINAL_ANSWER, RETURN_FILED, PROPOSALS, FORWARDED
)


# --- who may read and act

FILING_STAFF = frozenset({roles.AFTER_SALES, roles.AFTER_SALES_HEAD})

JUDGES = frozenset({roles.AFTER_SALES, roles.AFTER_SALES_HEAD})

# Who reads every consumer complaint (its evidence too): after-sales, who handle it (4.3.1-4.3.2),
# the business head, who decides what after-sales cannot (4.3.2), quality, who take back its
# goods (4.3.3), and the company's leader and the admin. A consumer reads only their own.
STAFF_VIEWERS = frozenset(
    {
        roles.AFTER_SALES,
        roles.AFTER_SALES_HEAD,
        roles.BUSINESS_HEAD,
        roles.QUALITY,
        roles.COMPANY_LEADER,
        roles.ADMIN,
    }
)

DECIDERS = frozenset({roles.BUSINESS_HEAD})

# who is told that goods of a consumer complaint are coming back
GOODS_BACK_READERS = (roles.QUALITY, roles.AFTER_SALES_HEAD)

# the monthly summary goes to the after-sales head, who sums up and proposes improvements
# (4.3.4) and hands the month's after-sales information to the business head (4.4): the seed
# gives the hand-over to the head, so the business head receives it from the head
SUMMARY_HEADS = frozenset({roles.AFTER_SALES_HEAD})
SUMMARY_RECEIVERS = (roles.BUSINESS_HEAD,)
# who may ask /report for a month's summary at any time
SUMMARY_READERS = frozenset({roles.AFTER_SALES_HEAD, roles.BUSINESS_HEAD})
