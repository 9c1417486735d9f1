"""Button actions: one typed definition per kind of inline button, used by whoever builds the
button (procedures, handlers) and by the handler that answers it.

An action is a frozen dataclass with a prefix and typed fields, in the manner of aiogram's
`CallbackData`: `TakeComplaint(complaint_id=12).pack() == "qc:take:12"`, and
`TakeComplaint.pattern()` is the anchored regex its `CallbackQueryHandler` is registered with,
so renaming an action renames both sides. The data strings are those the bot has always sent:
buttons already sitting in chats keep working.
"""

from __future__ import annotations

import functools
import re
import typing
from dataclasses import dataclass, fields
from typing import Annotated, Any, ClassVar, Literal, Self

SEPARATOR = ":"
MAX_DATA_BYTES = 64  # Telegram's limit on callback data


class InvalidAction(ValueError):
    """Callback data that no action of the expected kind packs to: garbled or forged."""


@dataclass(frozen=True)
class Matches:
    """Narrows a field to values matching `regex` (written without anchors or groups)."""

    regex: str


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: type  # int or str
    regex: str
    choices: tuple[Any, ...] | None  # a Literal's values


def _spec(name: str, hint: Any) -> FieldSpec:
    narrowed: str | None = None
    if typing.get_origin(hint) is Annotated:
        hint, *extras = typing.get_args(hint)
        narrowed = next((e.regex for e in extras if isinstance(e, Matches)), None)
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        kind = type(choices[0])
        return FieldSpec(name, kind, "|".join(re.escape(str(c)) for c in choices), choices)
    if hint is int:
        return FieldSpec(name, int, narrowed or r"\d+", None)
    if hint is str:
        return FieldSpec(name, str, narrowed or r"[^:]+", None)
    raise TypeError(f"{name}: an action's field is an int, a str or a Literal, not {hint!r}")


@typing.dataclass_transform(frozen_default=True)
class CallbackAction:
    """Base of every action. A subclass names its prefix and is made a frozen dataclass:

    class TakeComplaint(CallbackAction, prefix="qc:take"):
        complaint_id: int
    """

    prefix: ClassVar[str]
    registry: ClassVar[dict[str, type[CallbackAction]]] = {}

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__ in CallbackAction.registry:
            raise TypeError(f"two actions named {cls.__name__}")
        cls.prefix = prefix
        dataclass(frozen=True)(cls)
        CallbackAction.registry[cls.__name__] = cls

    @classmethod
    @functools.cache
    def fields(cls) -> tuple[FieldSpec, ...]:
        hints = typing.get_type_hints(cls, include_extras=True)
        return tuple(_spec(f.name, hints[f.name]) for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    @functools.cache
    def pattern(cls) -> re.Pattern[str]:
        """The anchored regex that matches exactly this action's data."""
        parts = [re.escape(cls.prefix)] + [f"({f.regex})" for f in cls.fields()]
        # \Z, not $: a $ would also match before a trailing newline of forged data
        return re.compile("^" + SEPARATOR.join(parts) + r"\Z")

    def pack(self) -> str:
        """The callback data: the prefix and the fields, separated by colons."""
        values = []
        for spec in self.fields():
            value = getattr(self, spec.name)
            text = str(value)
            if spec.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise InvalidAction(f"{type(self).__name__}.{spec.name} must be an int: {value!r}")
            if not re.fullmatch(spec.regex, text) or (
                spec.choices is not None and value not in spec.choices
            ):
                raise InvalidAction(f"{type(self).__name__}.{spec.name} cannot be {value!r}")
            values.append(text)
        data = SEPARATOR.join([self.prefix, *values])
        if len(data.encode()) > MAX_DATA_BYTES:
            raise InvalidAction(f"callback data over {MAX_DATA_BYTES} bytes: {data!r}")
        return data

    @classmethod
    def unpack(cls, data: str | None) -> Self:
        """The action `data` packs, or InvalidAction if it is not this kind of action."""
        match = cls.pattern().fullmatch(data or "")
        if match is None:
            raise InvalidAction(f"not {cls.__name__} data: {data!r}")
        values = {
            spec.name: spec.kind(raw)
            for spec, raw in zip(cls.fields(), match.groups(), strict=True)
        }
        return cls(**values)


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


# --- returns and exchanges (P2) --------------------------------------------------------------


class ChooseReturnOrganisation(CallbackAction, prefix="rt:org"):
    organisation_id: int


class ChooseReturnReason(CallbackAction, prefix="rt:why"):
    reason: Literal["unsalable", "quality"]


class ChooseReturnProduct(CallbackAction, prefix="rt:prod"):
    product_id: int


class ChooseReturnBatch(CallbackAction, prefix="rt:lot"):
    batch_id: int


class AddReturnLine(CallbackAction, prefix="rt:more"):
    pass


class FinishReturnLines(CallbackAction, prefix="rt:done"):
    pass


class SubmitReturn(CallbackAction, prefix="rt:submit"):
    pass


class CancelReturn(CallbackAction, prefix="rt:cancel"):
    pass


class SignReturn(CallbackAction, prefix="rt:sign"):
    """After-sales signs the request (the after-sales head, for a quality return)."""

    return_id: int


class ApproveReturn(CallbackAction, prefix="rt:approve"):
    """The business head approves and signs (or countersigns the leader's special case)."""

    return_id: int


class RefuseReturn(CallbackAction, prefix="rt:refuse"):
    """The business head does not approve an unsalable exchange (不批准); the reason is typed."""

    return_id: int


class ForwardToLeader(CallbackAction, prefix="rt:leader"):
    return_id: int


class DecideSpecialCase(CallbackAction, prefix="rt:ld"):
    return_id: int
    decision: Literal["approve", "refuse"]


class GoodsArrived(CallbackAction, prefix="rt:arrived"):
    """貨已到站: the after-sales head issues the transport order."""

    return_id: int


class ConfirmPickUp(CallbackAction, prefix="rt:pick"):
    return_id: int


class ConfirmDelivery(CallbackAction, prefix="rt:deliver"):
    return_id: int


class BeginReturnInspection(CallbackAction, prefix="rt:qc"):
    return_id: int


class ChooseInspectionResult(CallbackAction, prefix="rt:qcres"):
    result: Literal["undamaged", "damaged", "company_fault", "customer_damage"]


class CloseCorrectiveAction(CallbackAction, prefix="rt:ca"):
    return_id: int


class BookIn(CallbackAction, prefix="rt:book"):
    return_id: int


class ChooseSettlement(CallbackAction, prefix="rt:settle"):
    return_id: int
    settlement: Literal["exchange", "refund"]


class ChooseReplacementBatch(CallbackAction, prefix="rt:rlot"):
    batch_id: int


class BeginCredit(CallbackAction, prefix="rt:credit"):
    return_id: int


class SendReturnSlip(CallbackAction, prefix="rt:slip"):
    return_id: int


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


# --- patrols, defects, inspections (P3) ------------------------------------------------------


class ChooseAsset(CallbackAction, prefix="pt:asset"):
    asset_id: int


class AnswerCheck(CallbackAction, prefix="pt"):
    # the item's index is in the data, so a double tap cannot answer the next item too
    answer: Literal["ok", "bad"]
    index: int


class SkipPatrolNote(CallbackAction, prefix="pt:note:skip"):
    pass


class PatrolPhotosDone(CallbackAction, prefix="pt:photos:done"):
    pass


class ChooseSeverity(CallbackAction, prefix="pt:sev"):
    severity: Literal["urgent", "normal", "low"]


class AcknowledgeDefect(CallbackAction, prefix="df:ack"):
    defect_id: int


class BeginRepair(CallbackAction, prefix="df:fix"):
    defect_id: int


class RepairPhotosDone(CallbackAction, prefix="df:photos:done"):
    pass


class AcceptRepair(CallbackAction, prefix="df:accept"):
    defect_id: int


class RejectRepair(CallbackAction, prefix="df:reject"):
    defect_id: int


class RectifyDefect(CallbackAction, prefix="df:rectify"):
    """The equipment manager raises a rectification about the defect's vendor."""

    defect_id: int


class RecordInspection(CallbackAction, prefix="in:done"):
    """Starts recording the inspection's findings (the prefix of the older "done" button)."""

    inspection_id: int


# --- rectifications and vendor scores (P3) ---------------------------------------------------


class RectifyVendor(CallbackAction, prefix="rc:v"):
    vendor_id: int


class RectifyWithin(CallbackAction, prefix="rc:d"):
    days: int


class ConfirmConforming(CallbackAction, prefix="rn:ok"):
    rectification_id: int


class IssueWrittenNotice(CallbackAction, prefix="rn:write"):
    rectification_id: int


class StartEvaluation(CallbackAction, prefix="rn:eval"):
    rectification_id: int


class ForwardEvaluation(CallbackAction, prefix="rn:fwd"):
    rectification_id: int


class SendEvaluationBack(CallbackAction, prefix="rn:back"):
    rectification_id: int


class ApproveEvaluation(CallbackAction, prefix="rn:approve"):
    rectification_id: int


class ReturnEvaluation(CallbackAction, prefix="rn:return"):
    rectification_id: int


class BeginFollowUp(CallbackAction, prefix="rn:follow"):
    rectification_id: int


class BeginEvaluationForm(CallbackAction, prefix="rn:form"):
    rectification_id: int


class BeginScore(CallbackAction, prefix="vs:go"):
    vendor_id: int
    period: Annotated[str, Matches(r"\d{6}")]  # YYYYMM: the month without its dash

    @classmethod
    def for_month(cls, vendor_id: int, month: str) -> BeginScore:
        """The button for `month` as procedures write it, YYYY-MM."""
        return cls(vendor_id=vendor_id, period=month.replace("-", ""))

    @property
    def month(self) -> str:
        return f"{self.period[:4]}-{self.period[4:]}"


class JudgeCriterion(CallbackAction, prefix="vs:c"):
    criterion: Annotated[str, Matches(r"[a-z_]+")]
    value: Annotated[int, Matches(r"[1-5]")]


class AddAssessmentFinding(CallbackAction, prefix="as:find"):
    """One of the people concerned adds a finding about a vendor to the half-year assessment."""

    assessment_id: int
    vendor_id: int


class SignAssessment(CallbackAction, prefix="as:sign"):
    assessment_id: int


# --- reports ---------------------------------------------------------------------------------


class ApproveQuarterly(CallbackAction, prefix="rp:ok"):
    """The quality head approves a quarter's complaint report with a written conclusion."""

    year: int
    quarter: Literal[1, 2, 3, 4]


class ChooseReport(CallbackAction, prefix="rp:k"):
    kind: Annotated[str, Matches(r"[a-z_]+")]


class ChoosePeriod(CallbackAction, prefix="rp:p"):
    kind: Annotated[str, Matches(r"[a-z_]+")]
    period: Annotated[str, Matches(r"\d{4}-[0-9QH]\d")]  # 2026-11, 2026-Q3, 2026-H2


# --- everyone --------------------------------------------------------------------------------


class ChooseLanguage(CallbackAction, prefix="lang"):
    language: Literal["zh-Hant", "zh-Hans", "en"]


# --- invitations -----------------------------------------------------------------------------

# a role's id, checked against the roles the pressing user may invite when pressed
RoleId = Annotated[str, Matches(r"[a-z_]+")]


class InviteRole(CallbackAction, prefix="inv:role"):
    role: RoleId


class InviteParty(CallbackAction, prefix="inv:party"):
    """The organisation (customer, supplier) or vendor the invitation names."""

    role: RoleId
    party_id: int


class InvitePartyPage(CallbackAction, prefix="inv:page"):
    role: RoleId
    page: int


class InviteForSystem(CallbackAction, prefix="inv:sys"):
    """The equipment system an engineer or supervisor is named for ("none": no system)."""

    role: RoleId
    system: Literal[
        "elevator", "water_supply", "hvac", "fire_protection", "power", "lighting", "none"
    ]


# --- search ----------------------------------------------------------------------------------


class OpenFound(CallbackAction, prefix="find:open"):
    """Opens a record /find listed, as /ticket, /return or /defect shows it to the user."""

    number: Annotated[str, Matches(r"(?:QC|RT|DF)-\d{4}-\d{5,6}")]
