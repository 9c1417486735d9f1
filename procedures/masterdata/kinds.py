"""The kinds of master data: their columns, references and checks, and their names for the chat."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from procedures.equipment.rules import EQUIPMENT_SYSTEMS
from procedures.masterdata.table import (
    KINDS,
    _choice,
    _date,
    _decimal,
    _gtin,
    _integer,
    _KindSpec,
    _Reference,
    _text,
)
from storage.models import (
    Batch,
    ChecklistItem,
    Contract,
    EquipmentAsset,
    Organisation,
    Product,
    Shipment,
    Vendor,
)


def _period_in_order(values: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if starts is not None and ends is not None and ends < starts:
        return [("ends_on", "import.ends_before_start", {})]
    return []


SPECS: dict[str, _KindSpec] = {
    "organisations": _KindSpec(
        model=Organisation,
        natural_key=("code",),
        fields={
            "code": _text(max_length=32),
            "name": _text(),
            "kind": _choice(("customer", "supplier")),
            "locality": _choice(("local", "out_of_town"), required=False),
            "exchange_ratio_limit": _decimal(False, Decimal(0), Decimal(1)),
            "exchange_window_days": _integer(False, positive=True),
            "contact_name": _text(False, 100),
            "contact_phone": _text(False, 50),
            # 片區: the sales territory whose market-sales staff help with its returns
            "territory": _text(False, 50),
        },
    ),
    "vendors": _KindSpec(
        model=Vendor,
        natural_key=("code",),
        fields={
            "code": _text(max_length=32),
            "name": _text(),
            "contact_name": _text(False, 100),
            "contact_phone": _text(False, 50),
        },
    ),
    "products": _KindSpec(
        model=Product,
        natural_key=("code",),
        fields={
            "code": _text(max_length=32),
            "name": _text(),
            "unit": _text(False, 16),
            "specification": _text(False, 200),
            "manufacturer": _text(False, 200),
            "registration_number": _text(False, 100),
            "gtin": _gtin,
        },
        references=(
            _Reference("supplier_code", Organisation, "supplier_id", False, {"kind": "supplier"}),
        ),
        unique=("gtin",),
    ),
    "batches": _KindSpec(
        model=Batch,
        natural_key=("product_id", "lot_number"),
        fields={"lot_number": _text(max_length=64), "expiry_date": _date(required=False)},
        references=(_Reference("product_code", Product, "product_id"),),
    ),
    "shipments": _KindSpec(
        model=Shipment,
        natural_key=("reference",),
        fields={
            "reference": _text(max_length=64),
            "quantity": _integer(positive=True),
            "amount": _decimal(low=Decimal(0)),
            "shipped_on": _date(),
        },
        references=(
            _Reference(
                "customer_code", Organisation, "organisation_id", True, {"kind": "customer"}
            ),
            _Reference("product_code", Product, "_product_id"),
        ),
    ),
    "assets": _KindSpec(
        model=EquipmentAsset,
        natural_key=("code",),
        fields={
            "code": _text(max_length=32),
            "name": _text(),
            "system": _choice(EQUIPMENT_SYSTEMS),
            "location": _text(False),
        },
        references=(_Reference("vendor_code", Vendor, "vendor_id", False),),
    ),
    # a contract with no asset covers every asset of its vendor
    "contracts": _KindSpec(
        model=Contract,
        natural_key=("number",),
        fields={
            "number": _text(max_length=64),
            "kind": _choice(("maintenance", "purchase")),
            "starts_on": _date(),
            "ends_on": _date(),
            "response_hours": _integer(False, positive=True),
            "repair_hours": _integer(False, positive=True),
            "visits_per_month": _integer(False, positive=True),
        },
        references=(
            _Reference("vendor_code", Vendor, "vendor_id"),
            _Reference("asset_code", EquipmentAsset, "asset_id", False),
        ),
        check=_period_in_order,
    ),
    "checklist_items": _KindSpec(
        model=ChecklistItem,
        natural_key=("system", "code"),
        fields={
            "system": _choice(EQUIPMENT_SYSTEMS),
            "code": _text(max_length=32),
            "label": _text(),
            "kind": _choice(("check", "reading")),
            "unit": _text(False, 16),
            "low": _decimal(False),
            "high": _decimal(False),
            "position": _integer(False),
        },
    ),
}


def kind_named(kind: str) -> dict[str, Any]:
    """A kind as the user reads it: its name in their language (a text parameter)."""
    return {"$text": f"import.kind.{kind}"}


def kind_options() -> list[dict[str, Any]]:
    """The kinds a caption may name: each caption as typed, with its name in the user's language."""
    return [
        {"$text": "import.kind_option", "params": {"kind": kind, "name": kind_named(kind)}}
        for kind in KINDS
    ]


def column_named(column: str) -> dict[str, Any]:
    """A column as the user reads it: its name in their language and its header in the file."""
    return {
        "$text": "import.column_named",
        "params": {"name": {"$text": f"import.column.{column}"}, "header": column},
    }


def columns_of(kind: str) -> list[str]:
    spec = SPECS[kind]
    columns = list(spec.fields) + [ref.column for ref in spec.references]
    if kind == "shipments":
        columns.append("lot_number")
    return columns
