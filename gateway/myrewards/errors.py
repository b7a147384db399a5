"""MyRewards' answers that the gateway's error tree has no class for; all are ApiErrors, so they
are answered as JSON `{"error": <code>, "message": <text>}` like every other error.

ApiError (gateway.errors)
 └── Invalid    400 invalid_request: a request the programme's rules refuse (missing mandatory
                field, unknown question, answer outside the options)

IdentityTaken (not an answer: the user store's signal, answered as 409 Conflict)"""

from gateway.errors import ApiError


class Invalid(ApiError):
    status, code = 400, "invalid_request"


class IdentityTaken(Exception):
    """The store's signal that another user of the programme has the identifying field's value
    (the unique index refused it); answered as 409 `conflict` by `gateway.myrewards.users`."""
