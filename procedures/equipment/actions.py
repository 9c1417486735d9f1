"""P3's buttons for the equipment: patrols, defects, repairs and inspections."""

from __future__ import annotations

from typing import Literal

from procedures.kernel.actions import CallbackAction

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


class ConfirmVisit(CallbackAction, prefix="mv:ok"):
    """The system's staff confirm the vendor's declared maintenance visit was done."""

    visit_id: int


class DisputeVisit(CallbackAction, prefix="mv:no"):
    """The system's staff dispute it: the visit does not count against the contract."""

    visit_id: int
