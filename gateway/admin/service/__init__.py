"""The admin side's service layer: the one place where programmes, partners, keys, admins and
the audit log are read and changed. The console's pages (gateway.admin.console), the admin API
(gateway.admin.api) and the CLI (gateway.admin.cli) only translate: they parse what they are
given, call a function here with the `Actor` who asks, and show what it returns or refuses
(`errors`). No SQL lives anywhere else on the admin side.

One module per kind of object. Every function takes the actor first and checks what the actor
may see and change before anything else (`actors`). Every change is audited in its own
transaction (`audit.record`); a change of a programme's configuration goes through
`configuration.commit`, which stores a new snapshot (version + 1) with its history row and
publishes it on the configuration topic, exactly as a programme file loaded by the CLI is.

Adding a kind of object (rules, webhooks, ...):
  1. a pure builder in `snapshots` (or a module of its own) if it is configuration: the current
     `ProgrammeConfig` in, the next one out through `next_snapshot`, problems by field;
  2. a module here whose change functions build a `configuration.Change` (action, object,
     `apply`, `audited`) and call `configuration.commit`, or, for what is not configuration
     (credentials, users' data), write and `audit.record` in one transaction;
  3. its `audit.Action` members;
  4. then its admin-API routes (gateway.admin.api), its page (gateway.admin.console.pages) and
     its tests (unit for the pure builder, integration on Postgres, a browser test).
"""
