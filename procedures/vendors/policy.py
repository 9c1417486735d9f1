"""The settings that change the vendors' rules: when the monthly scores are due."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from pydantic import Field

from procedures.kernel.policy import PolicySection
from procedures.vendors import rules


class VendorPolicy(PolicySection):
    # day of the month by whose end the manager's monthly vendor scores are due
    score_due_day: Annotated[int, Ge(1), Le(28)] = Field(
        default=5, validation_alias=rules.SCORE.setting
    )
