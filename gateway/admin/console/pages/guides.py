"""Guides for third-party developers, linked from what the console shares with them (seed 001's
"API Integration Guide"). Public: the developer has no console login, and a guide holds no
secret; a logged-in admin sees the console's navigation around it."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.sessions import current_visitor
from gateway.admin.console.state import console_of
from gateway.admin.service.rule_sharing import GUIDE_PATH

router = APIRouter()


@router.get(GUIDE_PATH)
async def api_triggered_rules(request: Request) -> Response:
    await current_visitor(request)
    urls = console_of(request).settings.public_api_urls()
    return web.page(request, "guides/api_triggered_rules.html", {"urls": urls})
