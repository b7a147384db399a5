"""The business console: server-rendered pages (Jinja2 templates, htmx for partial updates,
no client-side state, no build step) over the admin service layer, in one process with the
admin API (`loyalty-console`, gateway.admin.console.app)."""
