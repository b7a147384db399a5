"""The Kwegg routes are published at the seed's paths, with the headers it names."""

from gateway.app import create_app
from gateway.settings import GatewaySettings

SEED_PATHS = {
    "/userauth/user/tenant/login": "post",
    "/userauth/user/tenant/balance": "get",
    "/user/tenant/balance": "get",
    "/core/user/tenant/event/occurence": "post",
    "/core/user/tenant/transactions": "get",
    "/userauth/admins/tenant": "get",
    "/core/user/tenant/offers": "get",
    "/core/user/tenant/offers/{offer_id}/redeem": "post",
}


def test_every_kwegg_call_is_published_with_kweggs_headers() -> None:
    paths = create_app(GatewaySettings()).openapi()["paths"]
    for path, method in SEED_PATHS.items():
        operation = paths[path][method]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert {"License-Key", "Platform"} <= headers, path
        assert "422" not in operation["responses"], path
        assert {"400", "401"} <= set(operation["responses"]), path
    redeem = paths["/core/user/tenant/offers/{offer_id}/redeem"]["post"]
    assert {"402", "404", "409"} <= set(redeem["responses"])
