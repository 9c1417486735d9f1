"""P2's buttons for consumer complaints: intake, judgement, decision, answer."""

from __future__ import annotations

from typing import Literal

from procedures.kernel.actions import CallbackAction

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
