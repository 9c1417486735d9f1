"""A quantity as people type it (`20`, `２０`, `20盒`), held to the product's unit."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from procedures.kernel.errors import InvalidInput
from procedures.kernel.outbox import as_text
from procedures.kernel.text_input import (
    clean_text,
    number_and_unit,
    same_unit,
)


def quantity_unit(unit: str | None) -> Any:
    """The unit a quantity prompt names: the product's, else a generic one in the user's words."""
    return unit if unit else as_text("complaint.unit_generic")


def as_quantity(quantity: int | None, unit: str | None) -> Any:
    """A parameter showing a quantity in its product's unit (`12盒`, `12 盒`), the generic
    counter when the unit is not on file."""
    if quantity is None:
        return as_text("common.none_shown")
    return as_text("common.quantity", quantity=quantity, unit=quantity_unit(unit))


def as_money(amount: Decimal | int | None) -> Any:
    """A parameter showing an amount of money in the house's format: `216.00元`, `216.00 yuan`."""
    return as_text("common.money", amount=f"{Decimal(amount or 0):.2f}")


# What a quantity may be counted in when the product's unit is not on file
GENERIC_UNITS = frozenset({"件", "個", "个", "pcs", "pc", "piece", "pieces", "unit", "units"})


# complaints.quantity is a 32-bit Integer column
MAX_QUANTITY = 2**31 - 1


def check_quantity(text: str, unit: str | None = None) -> int:
    """A positive whole number the quantity column holds, as people type it (`20`, `２０`,
    `20盒`, `20 盒`); a unit after it must be the product's `unit` (any generic counter when
    the product's unit is unknown), else it is refused naming the expected unit."""
    cleaned, typed_unit = number_and_unit(text)
    if typed_unit:
        if unit is not None and not same_unit(typed_unit, unit):
            raise InvalidInput("complaint.wrong_unit", unit=unit)
        if unit is None and typed_unit.casefold() not in GENERIC_UNITS:
            raise InvalidInput("complaint.wrong_unit", unit=as_text("complaint.unit_generic"))
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput("complaint.bad_quantity") from None
    if not value.is_finite() or value <= 0 or value != value.to_integral_value():
        raise InvalidInput("complaint.bad_quantity")
    if value > MAX_QUANTITY:
        raise InvalidInput("complaint.quantity_too_large", limit=MAX_QUANTITY)
    return int(value)


CENT = Decimal("0.01")
# money columns are Numeric(14, 2): twelve digits before the point
MAX_AMOUNT = Decimal("999999999999.99")


# a currency written before or after an amount: ¥216, 216元, 216.50 元, RMB 216, 216 yuan
_CURRENCY = re.compile(r"^(?:¥|RMB|CNY)\s*|\s*(?:元|圓|yuan|RMB|CNY)$", re.IGNORECASE)


def check_amount(text: str, *, invalid: str) -> Decimal:
    """A positive amount of money with at most two decimals that a money column holds, as people
    type it (`136`, `１３６．００`, `1,360.50`, `216元`, `216.50 元`, `¥216`); anything else
    (`1e999999999`, `NaN`, `0.001`, `216美元`) is refused with text id `invalid`."""
    cleaned = unicodedata.normalize("NFKC", clean_text(text)).strip().replace(",", "")
    cleaned = _CURRENCY.sub("", cleaned).strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput(invalid) from None
    # bounded before it is rounded: a huge exponent would overflow the rounding
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidInput(invalid)
    if amount != amount.quantize(CENT):
        raise InvalidInput(invalid)
    return amount.quantize(CENT)
