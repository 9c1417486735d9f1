"""The settings that change the equipment's rules: repair hours by severity, how often each
system is inspected, and when technicians hear of assets still unpatrolled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final

from annotated_types import Ge, Le
from pydantic import Field, field_validator

from procedures.equipment import rules
from procedures.equipment.defects import SEVERITIES
from procedures.kernel.policy import PolicySection, whole

# hours the vendor has to repair a defect, by the severity the technician gives it
DEFAULT_REPAIR_HOURS: Final[Mapping[str, int]] = {"urgent": 4, "normal": 48, "low": 168}
# every equipment system inspected every month
DEFAULT_INSPECTION_MONTHS: Final[Mapping[str, int]] = dict.fromkeys(rules.EQUIPMENT_SYSTEMS, 1)


class EquipmentPolicy(PolicySection):
    # hours a vendor has to repair a defect, by severity; one left out keeps its default
    repair_hours: Mapping[str, int] = Field(
        default=DEFAULT_REPAIR_HOURS, validation_alias=rules.REPAIR.setting
    )
    # periodic inspections: equipment system -> every how many months (0: none). Every system is
    # inspected monthly unless the setting says otherwise (seed part 3: each system's staff
    # organise its periodic checks; the manager sums them up monthly).
    inspection_months: Mapping[str, int] = Field(
        default=DEFAULT_INSPECTION_MONTHS, validation_alias=rules.INSPECTION.setting
    )
    # local hour at which technicians hear of assets still unpatrolled today
    patrol_reminder_hour: Annotated[int, Ge(0), Le(23)] = 17

    @field_validator("repair_hours", mode="before")
    @classmethod
    def _repair_hours(cls, raw: Any) -> Any:
        """'urgent:4,normal:48,low:168' -> hours by severity; one left out keeps its default."""
        if not isinstance(raw, str):
            return raw
        hours = dict(DEFAULT_REPAIR_HOURS)
        for severity, count in _pairs(raw, "must look like 'urgent:4,normal:48,low:168'"):
            if severity not in SEVERITIES:
                raise ValueError(
                    f": severity must be one of {', '.join(SEVERITIES)}, got {severity!r}"
                )
            hours[severity] = whole(count, 1, 24 * 365)
        return hours

    @field_validator("inspection_months", mode="before")
    @classmethod
    def _inspection_months(cls, raw: Any) -> Any:
        """'fire_protection:3,lighting:0' -> every system monthly but fire protection every
        three months and lighting never; a system left out keeps its monthly inspection."""
        if not isinstance(raw, str):
            return raw
        months = dict(DEFAULT_INSPECTION_MONTHS)
        for system, count in _pairs(raw, "must look like 'elevator:1,power:6'"):
            if system not in rules.EQUIPMENT_SYSTEMS:
                raise ValueError(
                    f": system must be one of {', '.join(rules.EQUIPMENT_SYSTEMS)}, got {system!r}"
                )
            months[system] = whole(count, 0, 120)
        return months


def _pairs(raw: str, shape: str) -> list[tuple[str, str]]:
    """'a:1, b:2' -> [('a', '1'), ('b', '2')]; `shape` says what is wrong otherwise."""
    pairs = []
    for part in raw.split(","):
        name, _, count = part.strip().partition(":")
        if not name.strip() or not count.strip():
            raise ValueError(f"{shape}, got {raw!r}")
        pairs.append((name.strip(), count.strip()))
    return pairs
