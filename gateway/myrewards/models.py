"""MyRewards' request and response bodies. Requests may come as JSON or as HTML form data, whose
values are all strings: numbers and booleans are read from text too (`"100"`, `"true"`), never
from a JSON boolean where a number is meant."""

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    WithJsonSchema,
    field_validator,
)

from ledger.reads import PendingAwardState, Transaction
from schemas.ledger import LEDGER_VARIETIES, TransactionType, Variety

PHONE = re.compile(r"^\+[0-9]{9,15}$")  # what the validator gives back (E.164), for the schema
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
ID_MAX = 2**62


DIGITS = re.compile(r"^[0-9]{1,19}$")
FLAGS = {"true": True, "false": False, "1": True, "0": False}


def _integer(value: object) -> object:
    """An integer, or its decimal digits as text (form data, or the seed's `"10"`); never a
    boolean, and no other text that Python would read as a number (`" 5"`, `"5_000"`)."""
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    if isinstance(value, str):
        if not DIGITS.match(value):
            raise ValueError("must be an integer")
        return int(value)
    return value


def _flag(value: object) -> object:
    """true or false, or as text `"true"`, `"false"`, `"1"`, `"0"` (form data, the seed)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in FLAGS:
        return FLAGS[value.lower()]
    raise ValueError("must be true or false")


def _integer_schema(minimum: int, maximum: int) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": minimum, "maximum": maximum},
                {"type": "string", "pattern": DIGITS.pattern},
            ]
        }
    )


FLAG_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": sorted(FLAGS)}]}
)


def _iso_date(value: object) -> object:
    if not isinstance(value, str | date) or (isinstance(value, str) and not ISO_DATE.match(value)):
        raise ValueError("must be a date YYYY-MM-DD")
    return value


def _phone(value: object) -> str:
    problem = "must be a valid number in international format: '+', the country code, the number"
    if not isinstance(value, str):
        raise ValueError(problem)
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(problem) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(problem)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Id = Annotated[int, BeforeValidator(_integer), Field(ge=1, le=ID_MAX), _integer_schema(1, ID_MAX)]
Points = Annotated[
    int, BeforeValidator(_integer), Field(gt=0, le=10**12), _integer_schema(1, 10**12)
]
Quantity = Annotated[
    int, BeforeValidator(_integer), Field(ge=1, le=1_000_000), _integer_schema(1, 1_000_000)
]
Flag = Annotated[bool, BeforeValidator(_flag), FLAG_SCHEMA]
IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": ISO_DATE.pattern}),
]
Text = Annotated[str, Field(max_length=255)]
# A number is checked against the numbering plans (phonenumbers) and kept in E.164; an email by
# email-validator (pydantic's EmailStr), without a DNS lookup.
Phone = Annotated[
    str, BeforeValidator(_phone), WithJsonSchema({"type": "string", "pattern": PHONE.pattern})
]
Email = EmailStr


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TransactionFields(_Request):
    transaction_type: TransactionType
    variety: Variety
    points: Points
    reason: Annotated[str, Field(min_length=1, max_length=250)]
    remote_transaction_id: Annotated[str, Field(max_length=256)] | None = None
    counterparty_user_id: Id | None = Field(
        default=None,
        description="Person 2 Person Transfer only: the other user; both legs are booked at once.",
    )

    @field_validator("variety")
    @classmethod
    def _not_the_ledgers_own(cls, variety: Variety) -> Variety:
        if variety in LEDGER_VARIETIES:
            raise ValueError(f"'{variety}' is booked only by the ledger itself")
        return variety


class TransactionRequest(_Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "transaction": {
                        "transaction_type": "Credit",
                        "variety": "Programme Points",
                        "points": 100,
                        "reason": "Employee of the month",
                    }
                }
            ]
        }
    )
    transaction: TransactionFields


class TransactionForm(BaseModel):
    """The same request as HTML form data (documentation only: the route reads either)."""

    model_config = ConfigDict(populate_by_name=True)
    transaction_type: TransactionType = Field(alias="transaction[transaction_type]")
    variety: Variety = Field(alias="transaction[variety]")
    points: Points = Field(alias="transaction[points]")
    reason: Annotated[str, Field(min_length=1, max_length=250)] = Field(alias="transaction[reason]")
    remote_transaction_id: Annotated[str, Field(max_length=256)] | None = Field(
        default=None, alias="transaction[remote_transaction_id]"
    )


class TransactionCreated(BaseModel):
    id: int = Field(description="The MyRewards transaction id: the ledger entry's id.")


class TransactionPending(BaseModel):
    """Accepted but not booked within the gateway's deadline: retry with the same
    Idempotency-Key to learn its id (or its refusal)."""

    status: str = "pending"
    transaction_reference: str


class MyRewardsTransaction(BaseModel):
    """The seed's transaction, exactly its fields. A pending award (points held back for a
    return window or a confirmation) is one too, at the time it was awarded: its `value` is its
    points, which are not in its `balance` (the running balance it left unchanged) until its
    release, a `points release` credit of its own, moves them there; the seed's shape has no
    field for a status, so its `description` ends with it (`pending until 2026-03-15`,
    `available since 2026-03-04`, `cancelled by a return`)."""

    id: int
    user_id: int
    description: str = Field(
        description="The transaction's reason; on a pending award, followed by where it stands."
    )
    value: int
    balance: int
    transaction_type: str = Field(description="The variety that caused it, e.g. programme points")
    remote_transaction_id: str | None
    created_at: AwareDatetime

    @classmethod
    def of(cls, user_id: int, transaction: Transaction) -> "MyRewardsTransaction":
        award = transaction.pending
        description = transaction.description
        if award is not None:
            description = f"{description} ({_standing(award)})"
        return cls(
            id=transaction.id,
            user_id=user_id,
            description=description,
            value=transaction.value,
            balance=transaction.balance,
            transaction_type=transaction.variety.lower(),
            remote_transaction_id=transaction.remote_transaction_id,
            created_at=transaction.created_at,
        )


def _standing(award: PendingAwardState) -> str:
    """Where a pending award stands, in words, as the description's end."""
    cancelled = (
        f", {award.cancelled_points} cancelled by a return" if award.cancelled_points else ""
    )
    if award.status == "pending":
        until = "a confirmation" if award.available_on is None else str(award.available_on)
        return f"pending until {until}{cancelled}"
    if award.status == "available":
        return f"available since {award.available_on}{cancelled}"
    return "cancelled by a return"


class RegistrationAnswer(_Request):
    registration_question_id: Id
    answer: Annotated[str, Field(max_length=2_000)]


USER_TEXT_FIELDS = (
    "username",
    "title",
    "firstname",
    "lastname",
    "company",
    "job_title",
    "address_1",
    "address_2",
    "town",
    "postcode",
    "county",
    "country",
)
USER_FIELDS = (
    *USER_TEXT_FIELDS,
    "email",
    "mobile",
    "telephone",
    "date_of_birth",
    "tsandcs",
    "consented",
    "user_group_id",
)


class UserFields(_Request):
    """Create (POST) and update (PUT/PATCH) take the same fields; what is required depends on the
    programme, and is checked against the stored user after an update."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "bwayne",
                    "email": "bruce@wayneinc.com",
                    "firstname": "Bruce",
                    "lastname": "Wayne",
                    "mobile": "+447765432101",
                    "tsandcs": "true",
                    "user_group_id": "10",
                    "registration_answers_attributes": [
                        {"registration_question_id": "2", "answer": "Because I'm Batman"}
                    ],
                }
            ]
        }
    )

    username: Text | None = None
    email: Email | None = None
    title: Text | None = None
    firstname: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    lastname: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    company: Text | None = None
    job_title: Text | None = None
    address_1: Text | None = None
    address_2: Text | None = None
    town: Text | None = None
    postcode: Text | None = None
    county: Text | None = None
    country: Text | None = None
    date_of_birth: IsoDate | None = None
    telephone: Phone | None = None
    mobile: Phone | None = None
    tsandcs: Flag | None = None
    consented: Flag | None = None
    user_group_id: Id | None = None
    registration_answers_attributes: Annotated[list[RegistrationAnswer], Field(max_length=200)] = (
        Field(default_factory=list)
    )

    def given(self) -> dict[str, Any]:
        """The user's own fields this request sets (answers apart)."""
        return {name: getattr(self, name) for name in USER_FIELDS if name in self.model_fields_set}


class UserTier(BaseModel):
    name: str = Field(description="The user's tier.")
    review_on: date | None = Field(
        default=None,
        description="The programme's local day the tier is reviewed: the tier policy may lower "
        "it then if the points earned no longer reach it. Null: never.",
    )
    points_earned: int | None = Field(
        default=None,
        description="Points earned in the tier policy's window (the last months it counts, or "
        "all time). Null when the programme's tiers are only set by hand.",
    )
    next_tier: str | None = Field(
        default=None, description="The next tier up; null at the top or without a tier policy."
    )
    points_to_next_tier: int | None = Field(
        default=None, description="What is still to earn in the window to reach `next_tier`."
    )


class UserOut(BaseModel):
    id: int
    username: str | None
    email: str | None
    title: str | None
    firstname: str
    lastname: str
    company: str | None
    job_title: str | None
    address_1: str | None
    address_2: str | None
    town: str | None
    postcode: str | None
    county: str | None
    country: str | None
    date_of_birth: date | None
    telephone: str | None
    mobile: str | None
    tsandcs: bool
    consented: bool | None
    user_group_id: int | None
    registration_answers_attributes: list[RegistrationAnswer]
    tier: UserTier | None = Field(
        default=None,
        description="The user's tier and their progress to the next one (not a field to "
        "send: tiers follow the points, or are set through the admin API); null while the "
        "gateway has not read the programme's configuration yet.",
    )


class UserGroupOut(BaseModel):
    id: int
    name: str
    parent_id: int | None
    default: bool
    position: int


class RegistrationQuestionOut(BaseModel):
    id: int
    label: str
    mandatory: bool
    field_type: str
    options: str | None
    field_name: str
    free_text: bool


class DataFieldOut(BaseModel):
    """A data field of the programme (no promotion)."""

    id: int
    name: str
    mandatory: bool
    field_type: str
    answers: str | None = Field(description="The allowed answers, separated by \\r\\n.")
    created_at: datetime
    updated_at: datetime
    position: int
    selector: str


class PromotionDataFieldOut(DataFieldOut):
    promotion_id: int


class Claim(BaseModel):
    """One piece of sales data; the programme's (or promotion's) data fields come as extra keys,
    by their names."""

    model_config = ConfigDict(extra="allow", frozen=True)

    date_of_sale: IsoDate
    product_or_activity: Annotated[str, Field(min_length=1, max_length=255)]
    quantity: Quantity
    username: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    user_id: Id | None = None

    def custom_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SalesData(_Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": [
                        {
                            "date_of_sale": "2016-10-01",
                            "product_or_activity": "Booking type 1",
                            "quantity": 1,
                            "username": "user@example.com",
                        }
                    ]
                }
            ]
        }
    )
    promotion_id: Id | None = None
    data: Annotated[list[Claim], Field(min_length=1, max_length=1_000)]


class ClaimsCreated(BaseModel):
    """201: the ledger booked every claim of the request (the seed answers 201 with no body;
    this body is extra)."""

    status: Literal["booked"] = "booked"
    reference: str = Field(description="The request's ledger command id.")
    claims: int = Field(description="How many claims the request stored.")
    points: int = Field(description="The points they earned, all users together.")


class ClaimsPending(BaseModel):
    """202: the claims are stored and their command is published, but the ledger had not booked
    it within the gateway's deadline. Retry with the same Idempotency-Key to learn the outcome
    (201, or the refusal); booked claims show in GET /api/v2/performance/data."""

    status: Literal["pending"] = "pending"
    reference: str = Field(description="The request's ledger command id.")


class ClaimOut(BaseModel):
    id: int = Field(description="The claim's id.")
    user_id: int = Field(description="The user the claim credits.")
    product_or_activity: str = Field(description="The SKU claimed.")
    product_id: int | None = Field(
        description="The product; none for a claim stored before claims earned points."
    )
    quantity: int
    points: int = Field(description="What the claim earned: points per unit times quantity.")
    promotion_id: int | None
    date_of_sale: date
    custom_fields: dict[str, Any] = Field(description="The claim's data fields, by name.")
    status: Literal["booked", "pending", "stored"] = Field(
        description=(
            "booked: the ledger booked its points; pending: stored, not booked yet; stored: "
            "accepted before claims earned points (nothing booked)."
        )
    )
    reference: str | None = Field(description="Its request's ledger command id.")
    created_at: AwareDatetime


class ClaimsPage(BaseModel):
    data: list[ClaimOut]
    totalCount: int = Field(description="How many claims of this status the programme has.")
