"""The MyRewards caller: a programme's API key given as `Authorization: Token token=...`."""

from typing import Annotated

from fastapi import Depends, Header, Request

from gateway.dependencies import services_of
from gateway.errors import Unauthorized
from gateway.keys import Principal
from gateway.myrewards.credentials import INVALID_KEY, api_key_of


async def caller(
    request: Request,
    authorization: Annotated[
        str | None,
        Header(description="`Token token=APIKEY` or `Token token=APIKEY:SECRETKEY`."),
    ] = None,
) -> Principal:
    services = services_of(request)
    try:
        return await services.keys.resolve(api_key_of(authorization))
    except Unauthorized:
        raise Unauthorized(INVALID_KEY) from None


CallerDep = Annotated[Principal, Depends(caller)]
