"""The admin API: JSON over the admin service layer at `/admin/api/v1` of the console process,
with its own OpenAPI document. Every console page has its twin here.

Adding a route: a module under routes/ with its `router` (listed in `app.ROUTERS`), its request
and answer models in the module (or `models`), calling the service layer with `ActorDep`."""
