"""SQLAlchemy models of every record the procedures keep."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Constraint names are fixed so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC, also on SQLite which stores no zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UtcDateTime(), dict[str, Any]: JSON()}


# --- master data ---------------------------------------------------------------------------


class Organisation(Base):
    """A customer company (本埠 local or 外埠 out-of-town buyer) or a product supplier."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # customer | supplier
    locality: Mapped[str | None] = mapped_column(String(16))  # local | out_of_town
    exchange_ratio_limit: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    exchange_window_days: Mapped[int | None] = mapped_column(Integer)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    # the sales territory (片區) whose market-sales staff help with its returns (P2 4.2.10)
    territory: Mapped[str | None] = mapped_column(String(50), index=True)


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    unit: Mapped[str | None] = mapped_column(String(16))
    # what the complaint ledger (顧客質量投訴臺帳) names a medical device by: 規格型號,
    # 生產企業 and 註冊證號
    specification: Mapped[str | None] = mapped_column(String(200))
    manufacturer: Mapped[str | None] = mapped_column(String(200))
    registration_number: Mapped[str | None] = mapped_column(String(100))
    # the GS1 GTIN-14 on the device's UDI label, by which a scanned label finds the product
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)

    supplier: Mapped[Organisation | None] = relationship()


class Batch(Base):
    """A lot of a product; complaints and holds refer to it."""

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("product_id", "lot_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    lot_number: Mapped[str] = mapped_column(String(64))
    expiry_date: Mapped[dt.date | None] = mapped_column(Date)
    # set when a complaint verifies the batch nonconforming (不合格品)
    nonconforming_since: Mapped[dt.datetime | None]

    product: Mapped[Product] = relationship()


class Shipment(Base):
    """A delivery of a batch to a customer: who bought what, which the P1 fan-out reads."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    shipped_on: Mapped[dt.date] = mapped_column(Date)

    organisation: Mapped[Organisation] = relationship()
    batch: Mapped[Batch] = relationship()


class Vendor(Base):
    """A maintenance subcontractor (分包方維保單位)."""

    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(50))


class EquipmentAsset(Base):
    __tablename__ = "equipment_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    system: Mapped[str] = mapped_column(String(32))
    location: Mapped[str | None] = mapped_column(String(200))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"))

    vendor: Mapped[Vendor | None] = relationship()


# --- people --------------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"))
    # the sales territory (片區) a market-sales person works in (P2 4.2.10)
    territory: Mapped[str | None] = mapped_column(String(50))
    # their own hours of the day for routine reminders ("09:00-17:30"); None: the deployment's
    working_hours: Mapped[str | None] = mapped_column(String(11))
    # their list of what waits on them (/todo) as the first message of each working day
    daily_list: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.role for r in self.roles)


class UserSystem(Base):
    """An equipment system a user is named for (各系統設備管理人員): that system's defects,
    inspections and their deadlines reach them."""

    __tablename__ = "user_systems"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    system: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)

    user: Mapped[User] = relationship(back_populates="roles")


class Invitation(Base):
    """A single-use, expiring code that gives its redeemer a role (`/start CODE`)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the code, hex: the code itself is shown once to the inviter and never stored
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"))
    # the equipment system the new user is named for (an engineer's or supervisor's)
    system: Mapped[str | None] = mapped_column(String(32))
    # the sales territory (片區) a market-sales person is named for
    territory: Mapped[str | None] = mapped_column(String(50))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    redeemed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    redeemed_at: Mapped[dt.datetime | None]


class FailedRedemption(Base):
    """A `/start CODE` whose code matched no invitation: counted to slow down guessing."""

    __tablename__ = "failed_redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    at: Mapped[dt.datetime]


# --- cross-cutting records -----------------------------------------------------------------


class TimelineEvent(Base):
    """Append-only history of every record: who did what, when, and what it was before."""

    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_events_subject", "subject_type", "subject_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime]
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


class OutboxMessage(Base):
    """A notification written with the change that caused it; the sender delivers it later.

    Text is rendered at delivery in the recipient's language from `text_key` and `params`.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        # the sender's claim: a chat's oldest pending row (per-chat order)
        Index("ix_outbox_chat_order", "chat_id", "status", "id"),
        # several senders' shared per-chat pace: what reached a chat in the last seconds
        Index("ix_outbox_chat_handed", "chat_id", "handed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    text_key: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # rows of buttons: [[{"text_key": ..., "params": {...}, "data": "qc:take:12"}]]
    buttons: Mapped[list[list[dict[str, Any]]] | None] = mapped_column(JSON)
    # a document to attach, described as {"kind": ..., "params": {...}} and rendered at delivery
    # in the recipient's language, like the text
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # unique when set, so that re-running the code that enqueues cannot duplicate a message
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    # pending|sent|parked, and gathering|held|overtaken (procedures.kernel.outbox)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # higher goes first: urgent notices (stop-sales, overdue alerts) before routine ones
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]
    next_attempt_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    # when Telegram accepted it by the database server's own clock (PostgreSQL), which every
    # sender process shares; `sent_at` follows the application's clock
    handed_at: Mapped[dt.datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)


class Deadline(Base):
    """A time limit a procedure sets on a record, swept every minute for reminders and alerts."""

    __tablename__ = "deadlines"
    __table_args__ = (
        # The sweep's only read: open deadlines whose next action is due.
        Index(
            "ix_deadlines_open_next_check",
            "next_check_at",
            sqlite_where=text("met_at IS NULL"),
            postgresql_where=text("met_at IS NULL"),
        ),
        Index("ix_deadlines_subject", "subject_type", "subject_id"),
        # the overview's late records of a type: its open deadlines already past
        Index(
            "ix_deadlines_open_subject_due",
            "subject_type",
            "due_at",
            sqlite_where=text("met_at IS NULL"),
            postgresql_where=text("met_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    subject_label: Mapped[str] = mapped_column(String(64))  # e.g. QC-2026-00001, for messages
    kind: Mapped[str] = mapped_column(String(48))
    responsible_role: Mapped[str] = mapped_column(String(32))
    # a deadline about one equipment system reaches that system's staff
    # (procedures.equipment.queries)
    system: Mapped[str | None] = mapped_column(String(32))
    opened_at: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime]
    remind_at: Mapped[dt.datetime]
    next_check_at: Mapped[dt.datetime]
    # when it was closed, and how: "met" (done, `met_late` says whether in time) or "waived" (a
    # recorded decision that the step is not needed: neither on time nor late)
    met_at: Mapped[dt.datetime | None]
    closed_as: Mapped[str | None] = mapped_column(String(16))
    met_late: Mapped[bool | None] = mapped_column(Boolean)
    # who closed it, where the step was one person's act (None: the system, or older rows):
    # each person's monthly record reads it
    met_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reminded_at: Mapped[dt.datetime | None]
    alerted_at: Mapped[dt.datetime | None]
    alert_count: Mapped[int] = mapped_column(Integer, default=0)


class NumberSequence(Base):
    """Last number issued per prefix and year, so QC-2026-00001 is never reused."""

    __tablename__ = "number_sequences"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class ProcessedUpdate(Base):
    """Telegram update ids whose effect is committed; a redelivered update is ignored."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[dt.datetime]


class ConversationState(Base):
    """python-telegram-bot conversation states, so a dialogue survives a restart."""

    __tablename__ = "conversation_states"

    handler_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[Any] = mapped_column(JSON)


class ChatScratchpad(Base):
    """Per-user or per-chat dialogue scratch data (a draft being filled in), as JSON."""

    __tablename__ = "chat_scratchpads"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # user | chat
    owner_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


# --- P1: quality complaints ----------------------------------------------------------------


class Complaint(Base):
    """顧客質量投訴及處理記錄: one quality complaint and everything done about it."""

    __tablename__ = "complaints"
    # the overview lists them newest first, a page at a time
    __table_args__ = (Index("ix_complaints_received_at_id", "received_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # Every complaint is recorded (所有顧客的投訴), also one about goods the master or shipment
    # data does not know: then the product or lot is kept as typed, and shipment_on_file says
    # that no shipment to the buyer backs it.
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    product_text: Mapped[str | None] = mapped_column(String(200))
    lot_text: Mapped[str | None] = mapped_column(String(64))
    shipment_on_file: Mapped[bool] = mapped_column(Boolean, server_default=true())
    quantity: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))  # chat | phone | email | letter | visit
    locality: Mapped[str] = mapped_column(String(16))  # the buyer's, when received
    complainant_name: Mapped[str] = mapped_column(String(200))
    complainant_contact: Mapped[str | None] = mapped_column(String(200))
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # when the company received it (staff give it for a phone call, letter or visit keyed in
    # later): P1's clocks run from here, not from the keying in
    received_at: Mapped[dt.datetime]
    # complaint | inquiry: a 查詢 or 情況反映 (P1 4.2) is recorded and answered without a hold
    # until quality judges it a quality complaint (judged_at), whose clocks start then
    received_as: Mapped[str] = mapped_column(String(16), server_default="complaint")
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    judged_at: Mapped[dt.datetime | None]
    judged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    taken_at: Mapped[dt.datetime | None]
    on_site: Mapped[bool | None] = mapped_column(Boolean)  # False: decided no visit was needed
    verification_notes: Mapped[str | None] = mapped_column(Text)
    verification_result: Mapped[str | None] = mapped_column(String(16))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[dt.datetime | None]
    disposition: Mapped[str | None] = mapped_column(Text)
    disposition_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disposition_at: Mapped[dt.datetime | None]
    corrective_action: Mapped[str | None] = mapped_column(Text)
    adverse_event_at: Mapped[dt.datetime | None]
    adverse_event_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supplier_query_at: Mapped[dt.datetime | None]  # set only when a supplier contact got it
    supplier_answer: Mapped[str | None] = mapped_column(Text)
    supplier_answer_at: Mapped[dt.datetime | None]
    supplier_answer_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the hand-off of nonconforming goods to the nonconforming-goods procedure (不合格品管理)
    handoff_at: Mapped[dt.datetime | None]
    handoff_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handoff_outcome: Mapped[str | None] = mapped_column(String(24))
    handoff_notes: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None]

    organisation: Mapped[Organisation] = relationship()
    product: Mapped[Product | None] = relationship()
    batch: Mapped[Batch | None] = relationship()

    @property
    def product_label(self) -> str:
        """The product's name from the master data, or as typed when it is not known there."""
        return self.product.name if self.product is not None else self.product_text or ""

    @property
    def lot_label(self) -> str:
        return self.batch.lot_number if self.batch is not None else self.lot_text or ""

    @property
    def unit(self) -> str | None:
        """What the product is counted in (盒, 箱), when the master data has it."""
        return self.product.unit if self.product is not None else None


class BatchHold(Base):
    """暫停發貨: a shipment hold placed by a complaint, on the whole product (scope "product",
    the seed's 該產品) or on one lot (scope "lot", where a deployment narrows it); lifted by the
    warehouse. A nonconforming finding's stop of outbound, clear label (明顯標志) and stop of
    sales are each confirmed here."""

    __tablename__ = "batch_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    scope: Mapped[str] = mapped_column(String(8))  # product | lot
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), unique=True)
    placed_at: Mapped[dt.datetime]
    nonconforming: Mapped[bool] = mapped_column(Boolean, default=False)
    outbound_stopped_at: Mapped[dt.datetime | None]
    outbound_stopped_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    labelled_at: Mapped[dt.datetime | None]
    labelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sales_stopped_at: Mapped[dt.datetime | None]
    sales_stopped_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[dt.datetime | None]
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class BuyerNoticeTask(Base):
    """Another buyer of a nonconforming product who has no chat contact: after-sales tells them
    to suspend sales another way (phone, e-mail, visit) within a deadline, and records how."""

    __tablename__ = "buyer_notice_tasks"
    __table_args__ = (UniqueConstraint("complaint_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"))
    created_at: Mapped[dt.datetime]
    told_at: Mapped[dt.datetime | None]
    told_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    told_how: Mapped[str | None] = mapped_column(String(16))  # phone | email | visit

    organisation: Mapped[Organisation] = relationship()


class ReturnRequest(Base):
    """A return or exchange (調退貨明細表): its lines, the exchange-ratio check of an unsalable
    one, the goods' way back (transport order, pick-up, delivery), QC's inspection, the booking
    in and the exchange or refund, and the return slip (退貨單). Each step is set once."""

    __tablename__ = "returns"
    # the overview lists them newest first, a page at a time
    __table_args__ = (Index("ix_returns_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # quality | unsalable
    status: Mapped[str] = mapped_column(String(24))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    created_at: Mapped[dt.datetime]
    # chat (the customer), fax | phone | in_person (keyed in by staff for the customer),
    # complaint (a nonconforming one)
    channel: Mapped[str | None] = mapped_column(String(16))
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # when the request reached the company (staff give it for a keyed one): its clocks start here
    received_at: Mapped[dt.datetime | None]
    # 確認簽收 (4.2.2): after-sales staff confirm receipt of a keyed request
    receipt_confirmed_at: Mapped[dt.datetime | None]
    receipt_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # finance's review of an unsalable exchange (協調財務部評審, 4.2.3): agreed | disagreed
    finance_review: Mapped[str | None] = mapped_column(String(16))
    finance_review_note: Mapped[str | None] = mapped_column(Text)
    finance_reviewed_at: Mapped[dt.datetime | None]
    finance_reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    goods_on_hold: Mapped[bool | None] = mapped_column(Boolean)
    total_quantity: Mapped[int | None] = mapped_column(Integer)
    total_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # the exchange-ratio check of an unsalable request, as computed at submission
    exchanged_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    purchased_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    ratio_limit: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    window_days: Mapped[int | None] = mapped_column(Integer)
    ratio_inside: Mapped[bool | None] = mapped_column(Boolean)
    refused_at: Mapped[dt.datetime | None]
    refusal: Mapped[str | None] = mapped_column(String(24))
    # the business head's refusal of an unsalable exchange inside the ratio (不批准), final
    business_refusal: Mapped[str | None] = mapped_column(Text)
    business_refused_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    business_refused_at: Mapped[dt.datetime | None]
    # the company leader's decision on a special case (特殊情況), final
    leader_decision: Mapped[str | None] = mapped_column(String(16))
    leader_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    leader_at: Mapped[dt.datetime | None]
    # 貨已到站: the after-sales head issues the transport order (退貨運輸單)
    order_issued_at: Mapped[dt.datetime | None]
    order_issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    picked_up_at: Mapped[dt.datetime | None]
    picked_up_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delivered_at: Mapped[dt.datetime | None]
    delivered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    inspection_result: Mapped[str | None] = mapped_column(String(24))
    inspection_notes: Mapped[str | None] = mapped_column(Text)
    responsible_department: Mapped[str | None] = mapped_column(String(100))
    responsible_person: Mapped[str | None] = mapped_column(String(100))
    inspected_at: Mapped[dt.datetime | None]
    inspected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    corrective_done_at: Mapped[dt.datetime | None]
    corrective_done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    booked_in_at: Mapped[dt.datetime | None]
    booked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    settlement: Mapped[str | None] = mapped_column(String(16))  # exchange | refund
    settled_at: Mapped[dt.datetime | None]
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    credit_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    slip_sent_at: Mapped[dt.datetime | None]
    slip_sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the slip chain (4.2.5, 4.2.8, 4.2.9): the freight station's arrival notice, the station the
    # transport order names, the marketing statistician's tally, how the clerk sent the slip
    station_notice_at: Mapped[dt.datetime | None]
    station_notice_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    transport_station: Mapped[str | None] = mapped_column(String(100))
    tallied_at: Mapped[dt.datetime | None]
    tallied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tallied_quantity: Mapped[int | None] = mapped_column(Integer)
    tallied_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    slip_channel: Mapped[str | None] = mapped_column(String(16))  # chat | fax | email

    lines: Mapped[list[ReturnLine]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ReturnLine.id"
    )
    signatures: Mapped[list[ReturnSignature]] = relationship(
        lazy="selectin", order_by="ReturnSignature.id"
    )
    organisation: Mapped[Organisation] = relationship(lazy="selectin")
    actions: Mapped[list[ReturnAction]] = relationship(
        lazy="selectin", order_by="ReturnAction.id", back_populates="request"
    )


class ReturnAction(Base):
    """A corrective or preventive action (糾正措施, 預防措施) that QC's finding of a company
    fault opens (P2 4.2.6): the responsible department and its person who owns it, what is to
    be done and by when, and what the owner did."""

    __tablename__ = "return_actions"
    __table_args__ = (UniqueConstraint("return_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # corrective | preventive
    # the responsible department, named by the role its people hold
    department: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    measure: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[dt.datetime]
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[dt.datetime]
    done_at: Mapped[dt.datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_note: Mapped[str | None] = mapped_column(Text)

    request: Mapped[ReturnRequest] = relationship(lazy="selectin", back_populates="actions")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="selectin")

    @property
    def number(self) -> str:
        """The return's number, by which messages name the action."""
        return self.request.number


class ReturnLine(Base):
    __tablename__ = "return_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    # the exchange like for like: the lot and quantity given in its place
    replacement_batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    replacement_quantity: Mapped[int | None] = mapped_column(Integer)

    product: Mapped[Product] = relationship(lazy="selectin")
    batch: Mapped[Batch | None] = relationship(foreign_keys=[batch_id], lazy="selectin")
    replacement_batch: Mapped[Batch | None] = relationship(
        foreign_keys=[replacement_batch_id], lazy="selectin"
    )


class ReturnSignature(Base):
    """One of the three signatures the warehouse books goods in against (4.2.7): after-sales,
    the business head, QC."""

    __tablename__ = "return_signatures"
    __table_args__ = (UniqueConstraint("return_id", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), index=True)
    slot: Mapped[str] = mapped_column(String(16))  # after_sales | business | quality
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[dt.datetime]


class ConsumerComplaint(Base):
    """顧客投訴記錄表: a consumer's complaint (CC-YYYY-NNNNN), judged by after-sales; one that
    after-sales cannot resolve is decided by the business head and answered by after-sales."""

    __tablename__ = "consumer_complaints"
    # the overview lists them newest first, a page at a time
    __table_args__ = (Index("ix_consumer_complaints_received_at_id", "received_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    # open | escalated | decided | closed
    status: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # chat | phone
    # the consumer's account when they filed in the chat; None for a call taken by after-sales
    consumer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    consumer_name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    product_text: Mapped[str | None] = mapped_column(String(200))  # a product not on file
    # the lot, when a photo of the device's label named one of the master data
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    description: Mapped[str] = mapped_column(Text)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[dt.datetime]
    # after-sales' judgement: standing | not_standing | unresolved, with the cause found
    verdict: Mapped[str | None] = mapped_column(String(16))
    cause: Mapped[str | None] = mapped_column(String(16))
    judgement_note: Mapped[str | None] = mapped_column(Text)
    judged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    judged_at: Mapped[dt.datetime | None]
    # the business head's decision on an unresolved one: standing | not_standing
    decision_verdict: Mapped[str | None] = mapped_column(String(16))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    # return | exchange | discount | mail_back, when it stands
    remedy: Mapped[str | None] = mapped_column(String(16))
    # the answer that went back to the consumer, by after-sales
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[dt.datetime | None]
    # goods coming back (return, exchange, mail back) go through QC (4.3.3 -> 4.2.6): the
    # return RT-… that takes them is named here when the returns procedure starts it
    return_number: Mapped[str | None] = mapped_column(String(16))

    product: Mapped[Product | None] = relationship()
    batch: Mapped[Batch | None] = relationship()

    @property
    def product_label(self) -> str:
        return self.product.name if self.product is not None else self.product_text or ""

    @property
    def final_verdict(self) -> str | None:
        """Whether it stood in the end: the business head's decision, else the judgement."""
        if self.decision_verdict is not None:
            return self.decision_verdict
        return None if self.verdict == "unresolved" else self.verdict


# --- P3: equipment patrols, defects, vendors ------------------------------------------------


class ChecklistItem(Base):
    """One line of the patrol checklist of an equipment system (設備巡視記錄)."""

    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("system", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(32), index=True)
    code: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # check | reading
    unit: Mapped[str | None] = mapped_column(String(16))
    low: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    high: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    position: Mapped[int | None] = mapped_column(Integer)


class Patrol(Base):
    """A technician's check-in at one asset on one day."""

    __tablename__ = "patrols"
    __table_args__ = (Index("ix_patrols_day_asset", "patrol_date", "asset_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("equipment_assets.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    patrol_date: Mapped[dt.date] = mapped_column(Date)  # in the configured time zone
    recorded_at: Mapped[dt.datetime]
    abnormal: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    checks: Mapped[list[PatrolCheck]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class PatrolCheck(Base):
    __tablename__ = "patrol_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"))
    ok: Mapped[bool] = mapped_column(Boolean)
    reading: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))


class Defect(Base):
    """A fault found on patrol (DF-YYYY-NNNNN), repaired by the vendor, verified on site."""

    __tablename__ = "defects"
    # the overview lists them newest first, a page at a time
    __table_args__ = (Index("ix_defects_reported_at_id", "reported_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open|acknowledged|repaired|closed
    asset_id: Mapped[int] = mapped_column(ForeignKey("equipment_assets.id"))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), index=True)
    patrol_id: Mapped[int | None] = mapped_column(ForeignKey("patrols.id"))
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"))
    description: Mapped[str] = mapped_column(Text)
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[dt.datetime]
    acknowledged_at: Mapped[dt.datetime | None]
    repaired_at: Mapped[dt.datetime | None]
    repair_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None]
    rejections: Mapped[int] = mapped_column(Integer, default=0)
    # urgent | normal | low, as the technician judged it; none on defects older than severities
    severity: Mapped[str | None] = mapped_column(String(16))

    asset: Mapped[EquipmentAsset] = relationship()


class Contract(Base):
    """What a vendor promised for an asset (or, with no asset, for all it serves): the maintenance
    contract (設備維修保養合同) or the original purchase contract (設備采購合同)."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # maintenance | purchase
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("equipment_assets.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    response_hours: Mapped[int | None] = mapped_column(Integer)
    repair_hours: Mapped[int | None] = mapped_column(Integer)
    visits_per_month: Mapped[int | None] = mapped_column(Integer)


class MaintenanceVisit(Base):
    """A maintenance visit to an asset, declared by the vendor's staff (/visit) and verified by
    the staff of the asset's system."""

    __tablename__ = "maintenance_visits"
    __table_args__ = (Index("ix_maintenance_visits_vendor_at", "vendor_id", "visited_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("equipment_assets.id"))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    visited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    visited_at: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(Text)
    # declared by the vendor, then confirmed or disputed by the system's staff: only a confirmed
    # visit counts against the contract's visits a month
    status: Mapped[str] = mapped_column(String(16), default="declared", server_default="declared")
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[dt.datetime | None]

    asset: Mapped[EquipmentAsset] = relationship()


class Photo(Base):
    """A photo or document kept as evidence on a record: its Telegram file id (a cache for
    re-sending) and, once downloaded, the file in the file store by its SHA-256."""

    __tablename__ = "photos"
    __table_args__ = (
        Index("ix_photos_subject", "subject_type", "subject_id"),
        # The download job's only read: files not yet stored whose next attempt is due.
        Index(
            "ix_photos_pending_download",
            "next_download_at",
            sqlite_where=text("sha256 IS NULL"),
            postgresql_where=text("sha256 IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    stage: Mapped[str] = mapped_column(String(16))
    telegram_file_id: Mapped[str] = mapped_column(String(200))
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime]
    kind: Mapped[str | None] = mapped_column(String(16))  # photo | document
    # set once, when the file is in the store (sha256 NULL: not yet downloaded)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    mime_type: Mapped[str | None] = mapped_column(String(100))
    stored_at: Mapped[dt.datetime | None]
    download_attempts: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    next_download_at: Mapped[dt.datetime | None]
    download_error: Mapped[str | None] = mapped_column(Text)


class Rectification(Base):
    """不合格項整改: a vendor's nonconforming service, up the ladder from a verbal request to a
    written notice (RN-YYYY-NNNNN) to the service quality evaluation form."""

    __tablename__ = "rectifications"
    # the overview lists them newest first, a page at a time
    __table_args__ = (Index("ix_rectifications_raised_at_id", "raised_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(16), unique=True)  # from the written notice
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    defect_id: Mapped[int | None] = mapped_column(ForeignKey("defects.id"))
    description: Mapped[str] = mapped_column(Text)
    rung: Mapped[str] = mapped_column(String(16))  # verbal | written | evaluation
    status: Mapped[str] = mapped_column(String(16), index=True)
    due_at: Mapped[dt.datetime]
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[dt.datetime]
    prompted_rung: Mapped[str | None] = mapped_column(
        String(16)
    )  # last rung the manager was prompted on
    written_at: Mapped[dt.datetime | None]
    conformed_at: Mapped[dt.datetime | None]
    evaluation: Mapped[str | None] = mapped_column(Text)
    evaluation_score: Mapped[int | None] = mapped_column(Integer)
    evaluated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    evaluated_at: Mapped[dt.datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]

    vendor: Mapped[Vendor] = relationship()


class VendorScore(Base):
    """合格維保單位考核評分表: a vendor's monthly score, measured and judged parts."""

    __tablename__ = "vendor_scores"
    __table_args__ = (UniqueConstraint("vendor_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    measured: Mapped[dict[str, Any]] = mapped_column(JSON)
    judged: Mapped[dict[str, Any]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    scored_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scored_at: Mapped[dt.datetime]

    vendor: Mapped[Vendor] = relationship()


class ReportApproval(Base):
    """A periodic report made final: the conclusion its approver wrote (the quality head's on
    the quarterly complaint report, 顧客投訴查詢商品質量記錄表), and who approved it when."""

    __tablename__ = "report_approvals"
    __table_args__ = (UniqueConstraint("kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(8))  # 2026-Q3, 2026-11, 2026-H2
    conclusion: Mapped[str] = mapped_column(Text)
    approved_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime]


class ConsumerMonthlyReview(Base):
    """The after-sales head's monthly duties on consumer complaints, one record a month: the
    improvement proposals (改善辦法和方案, P2 4.3.4) written on the month's summary, and the
    month's after-sales information passed on to the business head (4.4), each with who and
    when."""

    __tablename__ = "consumer_monthly_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), unique=True)  # YYYY-MM
    requested_at: Mapped[dt.datetime]
    proposals: Mapped[str | None] = mapped_column(Text)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[dt.datetime | None]
    forwarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    forwarded_at: Mapped[dt.datetime | None]


class Inspection(Base):
    """A periodic inspection (the equipment supervisor's elevator inspection), one per asset and
    period, with a deadline like any other; recorded with its checklist results, a note and
    photos, and the defect any finding raised (Defect.inspection_id)."""

    __tablename__ = "inspections"
    __table_args__ = (UniqueConstraint("asset_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("equipment_assets.id"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    due_at: Mapped[dt.datetime]
    done_at: Mapped[dt.datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    abnormal: Mapped[bool | None] = mapped_column(Boolean)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    asset: Mapped[EquipmentAsset] = relationship()
    checks: Mapped[list[InspectionCheck]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )


class InspectionCheck(Base):
    """One checklist item's result in an inspection (the patrol checklist of its system)."""

    __tablename__ = "inspection_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"))
    ok: Mapped[bool] = mapped_column(Boolean)
    reading: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))


class Assessment(Base):
    """The half-yearly comprehensive inspection of the vendors' work (綜合檢查考核): opened by
    the equipment manager, findings added per vendor by the people concerned, signed by the
    manager and reported to the client's competent department (貴方主管部門)."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("year", "half"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    half: Mapped[int] = mapped_column(Integer)  # 1: January-June, 2: July-December
    status: Mapped[str] = mapped_column(String(16))  # open | signed
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the job
    opened_at: Mapped[dt.datetime]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[dt.datetime | None]

    findings: Mapped[list[AssessmentFinding]] = relationship(
        lazy="selectin", order_by="AssessmentFinding.id"
    )


class AssessmentFinding(Base):
    """What one of the people concerned found of one vendor's work in the half-year."""

    __tablename__ = "assessment_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    text: Mapped[str] = mapped_column(Text)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime]

    vendor: Mapped[Vendor] = relationship(lazy="selectin")


class DeploymentMode(Base):
    """How this database has been run: with a BOT_TOKEN ("telegram") or without it, as the local
    demo ("demo"). One row, written at the bot's start: the demo refuses a Telegram database."""

    __tablename__ = "deployment_mode"

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[dt.datetime]


# --- scheduled duties ---------------------------------------------------------------------


class PeriodicDuty(Base):
    """A periodic duty done for its period (the month's vendor score requests, the quarter's
    complaint report, the half-year's assessment...): written in the same transaction as the
    duty's messages and records, so a scheduler that starts late does each period's duty it has
    not done, and no two schedulers do it twice."""

    __tablename__ = "periodic_duties"
    __table_args__ = (UniqueConstraint("kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(8))  # 2026-11, 2026-Q4, 2026-H2
    done_at: Mapped[dt.datetime]
