"""Who may do what in the ``arcade`` group: each permission is declared here once and checked by
the service function that does the work (see :mod:`shifty_ent.core.authz`).

Any member may play (admin passes every check); answering an ``approve_deployment`` mission also
needs level 5, which :mod:`.missions` checks: it is a level, not a role.
"""

from __future__ import annotations

from shifty_ent.core.authz import Permission, declare

MEMBERS = ("labeler", "operator", "auditor")
MANAGERS = ("operator",)

PLAY = declare("arcade.play", MEMBERS, "Take, answer and release missions.")
READ = declare("arcade.read", MEMBERS, "See a mission, profiles, leaderboards, stats and datasets.")
MISSION_MANAGE = declare("arcade.mission.manage", MANAGERS, "Create, import or cancel missions.")
MISSION_LIST = declare(
    "arcade.mission.list", ("operator", "auditor"), "List every mission of the tenant."
)
DATASET_CREATE = declare(
    "arcade.dataset.create", MANAGERS, "Build a training dataset from settled missions."
)
GRANT = declare("arcade.grant", ("admin",), "Grant XP to a user (audited).")

COMMANDS: dict[str, Permission | None] = {
    "arcade types": None,
    "arcade profile": READ,
    "arcade missions": PLAY,
    "arcade assign": PLAY,
    "arcade next": PLAY,
    "arcade release": PLAY,
    "arcade complete": PLAY,
    "arcade play": PLAY,
    "arcade leaderboard": READ,
    "arcade stats": READ,
    "arcade grant": GRANT,
    "arcade mission create": MISSION_MANAGE,
    "arcade mission import": MISSION_MANAGE,
    "arcade mission show": READ,
    "arcade mission cancel": MISSION_MANAGE,
    "arcade mission list": MISSION_LIST,
    "arcade dataset create": DATASET_CREATE,
    "arcade dataset list": READ,
}
