"""P2's buttons for consumer complaints: intake, judgement, decision, answer; the monthly
summary's proposals and hand-over."""

from __future__ import annotations

from typing import Annotated, Literal

from procedures.kernel.actions import CallbackAction, Matches

# --- consumer complaints (P2) -----------------------------------------------------------------


class ChooseConsumerProduct(CallbackAction, prefix="cc:prod"):
    product_id: int


class ConsumerPhotosDone(CallbackAction, prefix="cc:photos:done"):
    pass


class SubmitConsumerComplaint(CallbackAction, prefix="cc:submit"):
    pass


class CancelConsumerComplaint(CallbackAction, prefix="cc:cancel"):
    pass


class JudgeConsumerComplaint(CallbackAction, prefix="cc:judge"):
    """After-sales judges whether the complaint stands."""

    complaint_id: int


class DecideConsumerComplaint(CallbackAction, prefix="cc:decide"):
    """The business head decides a complaint after-sales could not resolve."""

    complaint_id: int


class AnswerConsumerComplaint(CallbackAction, prefix="cc:answer"):
    """After-sales gives the consumer the business head's decision."""

    complaint_id: int


class StartConsumerReturn(CallbackAction, prefix="cc:return"):
    """After-sales files the return that takes a consumer complaint's goods back."""

    complaint_id: int


class ChooseConsumerVerdict(CallbackAction, prefix="cc:v"):
    verdict: Literal["standing", "not_standing", "unresolved"]


class ChooseConsumerCause(CallbackAction, prefix="cc:cause"):
    cause: Literal["quality", "usage", "expectation", "service", "other"]


class ChooseConsumerRemedy(CallbackAction, prefix="cc:rem"):
    remedy: Literal["return", "exchange", "discount", "mail_back"]


# --- the after-sales head's monthly summary (4.3.4, 4.4) --------------------------------------

Month = Annotated[str, Matches(r"\d{4}-\d{2}")]


class ProposeImprovements(CallbackAction, prefix="cc:prop"):
    """The after-sales head writes the month's improvement proposals (改善辦法和方案)."""

    period: Month


class ForwardSummary(CallbackAction, prefix="cc:fwd"):
    """The after-sales head passes the month's summary on to the business head."""

    period: Month
