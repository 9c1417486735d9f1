"""P1's buttons: a complaint's intake, verification, handling and the nonconforming steps."""

from __future__ import annotations

from typing import Annotated, Literal

from procedures.kernel.actions import CallbackAction, Matches

# --- complaints (P1) ---------------------------------------------------------------------------


class TakeComplaint(CallbackAction, prefix="qc:take"):
    complaint_id: int


class BeginVerification(CallbackAction, prefix="qc:verify"):
    complaint_id: int


class BeginOpinion(CallbackAction, prefix="qc:opinion"):
    complaint_id: int


class FlagAdverseEvent(CallbackAction, prefix="qc:ae"):
    complaint_id: int


class LiftHold(CallbackAction, prefix="wh:lift"):
    complaint_id: int


class ConfirmOutboundStopped(CallbackAction, prefix="wh:out"):
    complaint_id: int


class ConfirmGoodsLabelled(CallbackAction, prefix="wh:label"):
    complaint_id: int


class ConfirmSalesStopped(CallbackAction, prefix="bh:stop"):
    complaint_id: int


class ConfirmBuyerTold(CallbackAction, prefix="as:told"):
    task_id: int
    how: Literal["phone", "email", "visit"]


class BeginSupplierAnswer(CallbackAction, prefix="sp:answer"):
    complaint_id: int


class BeginHandoff(CallbackAction, prefix="nc:handoff"):
    complaint_id: int


class ChooseHandoffOutcome(CallbackAction, prefix="nc:out"):
    outcome: Literal["quarantined", "returned_to_supplier", "destroyed", "other"]


class ConfirmNonconforming(CallbackAction, prefix="vf:ncok"):
    """Confirms the nonconforming result after its consequences were named."""

    complaint_id: int


class BackToResult(CallbackAction, prefix="vf:ncback"):
    """Cancels the nonconforming confirmation: the result is asked again, nothing recorded."""

    complaint_id: int


class ConfirmLiftHold(CallbackAction, prefix="wh:liftok"):
    complaint_id: int


class KeepHold(CallbackAction, prefix="wh:liftno"):
    complaint_id: int


class BeginReassign(CallbackAction, prefix="qc:reassign"):
    complaint_id: int


class ReassignTo(CallbackAction, prefix="qc:to"):
    complaint_id: int
    user_id: int


class BeginReopen(CallbackAction, prefix="qc:reopen"):
    complaint_id: int


class BeginWaitingOnBuyer(CallbackAction, prefix="qc:wait"):
    complaint_id: int


class ChooseOrganisation(CallbackAction, prefix="cp:org"):
    organisation_id: int


class ChooseChannel(CallbackAction, prefix="cp:ch"):
    channel: Literal["phone", "email", "letter", "visit"]


class ChooseKind(CallbackAction, prefix="cp:kind"):
    """Staff say what they key in: a quality complaint or an inquiry or feedback (P1 4.2)."""

    kind: Literal["complaint", "inquiry"]


class ReceivedNow(CallbackAction, prefix="cp:now"):
    """It was received just now: its clocks start at filing."""


class AnswerInquiry(CallbackAction, prefix="iq:answer"):
    complaint_id: int


class JudgeQualityComplaint(CallbackAction, prefix="iq:judge"):
    """Quality judges an inquiry a quality complaint: it is held and P1's clocks start."""

    complaint_id: int


class ConfirmJudgement(CallbackAction, prefix="iq:judgeok"):
    """Confirms the judgment after its consequences (the hold, the clocks) were named."""

    complaint_id: int


class BackToInquiry(CallbackAction, prefix="iq:judgeno"):
    """Cancels the judgment: the inquiry's notice is back as it was, nothing recorded."""

    complaint_id: int


class ChooseProduct(CallbackAction, prefix="cp:prod"):
    product_id: int


class ChooseBatch(CallbackAction, prefix="cp:lot"):
    batch_id: int


class UseLabel(CallbackAction, prefix="label:use"):
    """Take the product and lot a scanned label named (any intake's product step)."""

    batch_id: int


class ComplaintPhotosDone(CallbackAction, prefix="cp:photos:done"):
    pass


class SubmitComplaint(CallbackAction, prefix="cp:submit"):
    pass


class CancelComplaint(CallbackAction, prefix="cp:cancel"):
    pass


class ChooseVerificationMode(CallbackAction, prefix="vf:mode"):
    mode: Literal["on_site", "waived"]


class VerificationPhotosDone(CallbackAction, prefix="vf:photos:done"):
    pass


class ChooseVerificationResult(CallbackAction, prefix="vf:res"):
    result: Literal["conforming", "nonconforming"]


class SkipCorrectiveAction(CallbackAction, prefix="op:ca:skip"):
    pass


class ApproveQuarterly(CallbackAction, prefix="rp:ok"):
    """The quality head approves a quarter's complaint report with a written conclusion."""

    year: int
    quarter: Literal[1, 2, 3, 4]


class OpenTicket(CallbackAction, prefix="tk:open"):
    """A complaint of the buyer's /mytickets list, shown as /ticket shows it."""

    number: Annotated[str, Matches(r"QC-\d{4}-\d{5,6}")]


class AcknowledgeSuspension(CallbackAction, prefix="bn:ack"):
    """Another buyer of a nonconforming product confirms it has suspended its sales."""

    task_id: int
