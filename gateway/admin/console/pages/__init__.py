"""The console's pages, one module per page (or group of pages of one object). Each module has
a `router`: its routes parse the form, call the service layer with the visitor's actor, and
answer with `web.page` (the whole page, or a fragment for htmx) or `web.redirect` after a change.

Adding a page: a module here with its router, listed in ROUTERS; its templates under
templates/ (extending layout.html; a fragment template per part htmx swaps); a tab or link to
it (templates/programme/_tabs.html for a programme's pages); a browser test in
tests/e2e/console/."""

from fastapi import APIRouter

from gateway.admin.console.pages import (
    api_clients,
    audit,
    backtest,
    code,
    dead_letters,
    event_types,
    guides,
    home,
    keys,
    login,
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
    login.router,
    home.router,
    programmes.router,
    partners.router,
    event_types.router,
    rules.router,
    api_clients.router,
    guides.router,
    keys.router,
    code.router,
    trying.router,
    backtest.router,
    shadow_runs.router,
    audit.router,
    users.router,
    dead_letters.router,
    offers.router,
    myrewards.router,
    webhooks.router,
)
