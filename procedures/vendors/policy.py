"""The settings that change the vendors' rules: when the monthly scores are due."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from pydantic import Field

from procedures.kernel.policy import PolicySection
from procedures.vendors import rules
from procedures.vendors.scores import DEFAULT_SCORE_DUE_DAY


class VendorPolicy(PolicySection):
    # day of the month by whose end the manager's monthly vendor scores are due
    score_due_day: Annotated[int, Ge(1), Le(28)] = Field(
        default=DEFAULT_SCORE_DUE_DAY, validation_alias=rules.SCORE.setting
    )
