"""The home page: the programmes the admin may see."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.sessions import VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import programmes

router = APIRouter()


@router.get("/")
async def home(request: Request, visitor: VisitorDep) -> Response:
    listed = await programmes.visible(console_of(request).backend.pool, visitor.actor)
    return web.page(request, "home.html", {"programmes": listed})
