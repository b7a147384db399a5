"""Pure checks of a user against the programme's registration rules (no I/O, unit-tested).

Where the seed is silent:
- `tsandcs` must be true to create a user (a required boolean that could be false would accept
  a user who refused the terms);
- `consented` is required only when the programme says so (`consent_required`);
- the identifying field (username, email or mobile) is required and unique in the programme,
  compared case-insensitively; the other two may repeat;
- choice answers (radio, select) must be one of the question's options unless the question takes
  free text; options are separated by line breaks, or else by spaces (the seed's `"text_1 text_2"`);
  a `date_select` answer is a date YYYY-MM-DD; a `user_group` answer is one of the programme's
  user group ids; a mandatory question needs a non-blank answer."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.myrewards.errors import Invalid
from gateway.myrewards.models import ISO_DATE, RegistrationAnswer

IdentifierField = Literal["username", "email", "mobile"]
ALWAYS_REQUIRED = ("firstname", "lastname", "tsandcs")
CHOICE_TYPES = frozenset({"radio", "select", "check_box"})


@dataclass(frozen=True, slots=True)
class RegistrationPolicy:
    identifier: IdentifierField = "email"
    required_fields: tuple[str, ...] = ()
    consent_required: bool = False


@dataclass(frozen=True, slots=True)
class Question:
    question_id: int
    label: str
    mandatory: bool
    field_type: str
    options: str | None
    free_text: bool


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The programme's registration questions and user groups, by id."""

    questions: Mapping[int, Question] = field(default_factory=dict)
    group_ids: frozenset[int] = frozenset()
    default_group_id: int | None = None


def identity_key(policy: RegistrationPolicy, user: Mapping[str, Any]) -> str:
    value = user.get(policy.identifier)
    if value is None or not str(value).strip():
        raise Invalid(f"{policy.identifier} is required: the programme identifies users by it")
    text = str(value).strip()
    return text if policy.identifier == "mobile" else text.lower()


def check_user(policy: RegistrationPolicy, user: Mapping[str, Any]) -> None:
    """`user` is the whole user after the request (all its fields), not the request alone."""
    required = [*ALWAYS_REQUIRED, policy.identifier, *policy.required_fields]
    if policy.consent_required:
        required.append("consented")
    missing = [name for name in dict.fromkeys(required) if _blank(user.get(name))]
    if missing:
        raise Invalid(f"required by the programme: {', '.join(missing)}")
    if user.get("tsandcs") is not True:
        raise Invalid("tsandcs: the terms and conditions must be accepted")


def check_group(catalogue: Catalogue, user_group_id: int | None) -> None:
    if user_group_id is not None and user_group_id not in catalogue.group_ids:
        raise Invalid(f"user_group_id: no user group {user_group_id} in this programme")


def check_answers(
    catalogue: Catalogue, given: Sequence[RegistrationAnswer], stored: Mapping[int, str]
) -> dict[int, str]:
    """The user's answers after the request (`stored` updated with `given`), all checked."""
    ids = [answer.registration_question_id for answer in given]
    if len(set(ids)) != len(ids):
        raise Invalid("registration_answers_attributes: a question is answered twice")
    answers = dict(stored)
    for answer in given:
        question = catalogue.questions.get(answer.registration_question_id)
        if question is None:
            raise Invalid(
                f"registration_question_id: no question {answer.registration_question_id} "
                "in this programme"
            )
        _check_answer(catalogue, question, answer.answer)
        answers[question.question_id] = answer.answer
    unanswered = [
        question.label
        for question in catalogue.questions.values()
        if question.mandatory and _blank(answers.get(question.question_id))
    ]
    if unanswered:
        raise Invalid(f"registration questions to answer: {', '.join(unanswered)}")
    return answers


def options_of(question: Question) -> list[str]:
    text = question.options or ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines if len(lines) > 1 else text.split()


def _check_answer(catalogue: Catalogue, question: Question, answer: str) -> None:
    if _blank(answer):
        return  # blank is "not answered": mandatory questions are checked after
    where = f"registration question {question.question_id}"
    if question.field_type in CHOICE_TYPES and not question.free_text:
        options = options_of(question)
        if options and answer not in options:
            raise Invalid(f"{where}: the answer must be one of {options}")
    elif question.field_type == "date_select" and not ISO_DATE.match(answer):
        raise Invalid(f"{where}: the answer must be a date YYYY-MM-DD")
    elif question.field_type == "user_group" and not (
        answer.isdigit() and int(answer) in catalogue.group_ids
    ):
        raise Invalid(f"{where}: the answer must be one of the programme's user group ids")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
