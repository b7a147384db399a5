"""Wire contracts: the records on every topic, their keys and topic names.

Internal services produce to Kafka directly, so these models are a public, versioned contract:
a breaking change gets a new topic version (`events.v2`), never an edit in place.

Time zones come from the pinned `tzdata` package only. `zoneinfo` looks in the host's
directories (`/usr/share/zoneinfo`, ...) first and uses the package only as a fallback, so on
most hosts the pin would change nothing: a programme's local days (caps, expiries, tier periods)
would follow whatever copy the host has, and replaying history on another host, or after an OS
update, could put an event in another day. Every service, the CLI and the tests read their
programmes through this package before they make a zone, so this is where the search path is
emptied, once, for the whole process.
"""

import zoneinfo

zoneinfo.reset_tzpath(to=())
