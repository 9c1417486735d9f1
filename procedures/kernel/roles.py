"""The roles of DESIGN.md, who heads whom, and who may invite whom."""

from __future__ import annotations

from typing import Final

from procedures.kernel.errors import NotAllowed

CUSTOMER: Final = "customer"
CONSUMER: Final = "consumer"
SUPPLIER: Final = "supplier"
AFTER_SALES: Final = "after_sales"
AFTER_SALES_HEAD: Final = "after_sales_head"
QUALITY: Final = "quality"
QUALITY_HEAD: Final = "quality_head"
BUSINESS_HEAD: Final = "business_head"
WAREHOUSE: Final = "warehouse"
DRIVER: Final = "driver"
FINANCE: Final = "finance"
# 市場銷售科 of the business department (經營部, P2 4.2.11): helps after-sales with the returns
# of its territory (片區, 3.4, 4.2.10)
MARKET_SALES: Final = "market_sales"
# 經營部營銷人員 (P2 二): the marketing statistician tallies returns booked in (3.6, 4.2.8); the
# marketing clerk reviews the return slip and sends it to the customer (3.7, 4.2.9)
MARKETING_STATISTICIAN: Final = "marketing_statistician"
MARKETING_CLERK: Final = "marketing_clerk"
COMPANY_LEADER: Final = "company_leader"
TECHNICIAN: Final = "technician"
EQUIPMENT_ENGINEER: Final = "equipment_engineer"
EQUIPMENT_SUPERVISOR: Final = "equipment_supervisor"
EQUIPMENT_MANAGER: Final = "equipment_manager"
VENDOR: Final = "vendor"
MANAGEMENT_OFFICE: Final = "management_office"
# 貴方主管部門: the property owner's competent department, outside the company; it receives the
# half-year vendor assessment and the equipment manager's escalations, and heads no one here
CLIENT_AUTHORITY: Final = "client_authority"
ADMIN: Final = "admin"

ALL_ROLES: Final = (
    CUSTOMER,
    CONSUMER,
    SUPPLIER,
    AFTER_SALES,
    AFTER_SALES_HEAD,
    QUALITY,
    QUALITY_HEAD,
    BUSINESS_HEAD,
    WAREHOUSE,
    DRIVER,
    FINANCE,
    MARKET_SALES,
    MARKETING_STATISTICIAN,
    MARKETING_CLERK,
    COMPANY_LEADER,
    TECHNICIAN,
    EQUIPMENT_ENGINEER,
    EQUIPMENT_SUPERVISOR,
    EQUIPMENT_MANAGER,
    VENDOR,
    MANAGEMENT_OFFICE,
    CLIENT_AUTHORITY,
    ADMIN,
)

# Whom an overdue alert escalates to, and whose roles a head may invite. The seed's
# departments: after-sales (售后服務科), quality (質管部/質量管理部), business (經營部, with the
# warehouse), equipment (設備管理部, with its vendors); heads answer to the company leader and
# the equipment manager to the management office (管理處).
HEAD_OF: Final[dict[str, str]] = {
    CUSTOMER: AFTER_SALES_HEAD,
    CONSUMER: AFTER_SALES_HEAD,
    AFTER_SALES: AFTER_SALES_HEAD,
    DRIVER: AFTER_SALES_HEAD,
    QUALITY: QUALITY_HEAD,
    SUPPLIER: QUALITY_HEAD,
    WAREHOUSE: BUSINESS_HEAD,
    MARKET_SALES: BUSINESS_HEAD,
    MARKETING_STATISTICIAN: BUSINESS_HEAD,
    MARKETING_CLERK: BUSINESS_HEAD,
    FINANCE: COMPANY_LEADER,
    AFTER_SALES_HEAD: COMPANY_LEADER,
    QUALITY_HEAD: COMPANY_LEADER,
    BUSINESS_HEAD: COMPANY_LEADER,
    TECHNICIAN: EQUIPMENT_MANAGER,
    EQUIPMENT_ENGINEER: EQUIPMENT_MANAGER,
    EQUIPMENT_SUPERVISOR: EQUIPMENT_MANAGER,
    VENDOR: EQUIPMENT_MANAGER,
    EQUIPMENT_MANAGER: MANAGEMENT_OFFICE,
}

# Roles whose invitation names the organisation or vendor the new user speaks for.
ROLES_WITH_ORGANISATION: Final = frozenset({CUSTOMER, SUPPLIER})
ROLES_WITH_VENDOR: Final = frozenset({VENDOR})
# Roles whose invitation names the sales territory (片區) the new user works in.
ROLES_WITH_TERRITORY: Final = frozenset({MARKET_SALES})


def require_role(actor_roles: frozenset[str], allowed: frozenset[str]) -> None:
    """Refuse (NotAllowed, naming the roles that may) unless the actor holds one of `allowed`."""
    if not actor_roles & allowed:
        raise NotAllowed(
            "error.role_required", roles=[{"$text": f"role.{r}"} for r in sorted(allowed)]
        )


def head_of(role: str) -> str | None:
    return HEAD_OF.get(role)


# Roles that head others: a department's head is appointed by the admin, never by a peer or
# by the leader alone (who could otherwise staff every department with their own accounts).
HEAD_ROLES: Final = frozenset(HEAD_OF.values())
# who may invite anyone at all: the admin, and the heads of a department with staff to invite
INVITERS: Final = frozenset(
    {ADMIN, *(head for role, head in HEAD_OF.items() if role not in HEAD_ROLES)}
)


def invitable_roles(inviter_roles: frozenset[str]) -> frozenset[str]:
    """Roles a user may invite: an admin any, a head the staff of their own department (not
    another head: a role above or beside one's department is the admin's to give)."""
    if ADMIN in inviter_roles:
        return frozenset(ALL_ROLES)
    return frozenset(
        role for role, head in HEAD_OF.items() if head in inviter_roles and role not in HEAD_ROLES
    )
