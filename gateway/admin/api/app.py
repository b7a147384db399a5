"""The admin API application, mounted by the console at `/admin/api/v1`."""

from fastapi import APIRouter, FastAPI

from gateway import openapi
from gateway.admin.api import errors
from gateway.admin.api.routes import (
    api_clients,
    audit,
    dead_letters,
    event_types,
    keys,
    ledger,
    me,
    myrewards,
    offers,
    partners,
    programmes,
    rules,
    shadow_runs,
    trying,
    users,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    me.router,
    programmes.router,
    partners.router,
    event_types.router,
    rules.router,
    api_clients.router,
    keys.router,
    trying.router,
    audit.router,
    users.router,
    dead_letters.router,
    offers.router,
    myrewards.router,
    webhooks.router,
    ledger.router,
    shadow_runs.router,
)
DESCRIPTION = """Programmes, partners, event types, rules, API clients, API keys, users (balances,
transactions, adjustments, tiers), webhooks, Kwegg offers, the MyRewards set-up, dead letters
shadow runs (a candidate configuration beside the live one, and its report)
and the audit log, as the business console shows them, for automation, and a programme's
balances as of an instant and transactions of a period as CSV. Authenticate with an
admin API token (`loyalty-admin create-token`): `Authorization: Bearer lat_...`; a token acts as
its admin (role and programmes). Viewers read only (403 on a change); programmes not granted
answer 404. Every change is audited, and a change of a programme's configuration stores and
publishes a new snapshot (version + 1). Errors are JSON `{"error": <code>, "message": <text>}`;
400 `invalid_request` adds `fields` (problems by field path) and `general`."""


def create_api() -> FastAPI:
    api = FastAPI(
        title="Loyalty points engine: admin API",
        description=DESCRIPTION,
        version="1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(api)
    openapi.install(api)
    for router in ROUTERS:
        api.include_router(router)
    return api
