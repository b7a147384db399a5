"""`loyalty-admin create-offer` parses as documented."""

from datetime import UTC, datetime

from gateway.admin.cli import parser


def test_create_offer_arguments() -> None:
    arguments = parser().parse_args(
        ["create-offer", "--programme", "p", "--name", "Free coffee", "--points", "150",
         "--valid-until", "2027-01-01T00:00:00+00:00"]
    )  # fmt: skip
    assert (arguments.command, arguments.programme, arguments.points) == ("create-offer", "p", 150)
    assert arguments.valid_until == datetime(2027, 1, 1, tzinfo=UTC)
    assert (arguments.id, arguments.description) == (None, "")
