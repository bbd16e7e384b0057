"""The access review: who holds which role where, when they last acted, which keys are old.

Flags: ``inactive`` (no sign-in / use for ``inactive_days``), ``never_used``,
``disabled`` (a departed person still holding a role), ``rotation_overdue`` (older than the
rotation policy). Only active keys are listed; revoked and expired ones grant nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tutela.identity.api_keys import key_status
from tutela.store.database import Store, utcnow
from tutela.store.identity import IdentityStore


def _flags(
    last: dt.datetime | None, created: dt.datetime, now: dt.datetime, inactive: dt.timedelta
) -> list[str]:
    if last is None:
        return ["never_used"] if now - created > inactive else []
    return ["inactive"] if now - last > inactive else []


def access_review(store: Store, *, max_age_days: int, inactive_days: int) -> dict[str, Any]:
    identity = IdentityStore(store)
    now = utcnow()
    inactive = dt.timedelta(days=inactive_days)
    spaces = []
    for space in store.list_workspaces():
        members = []
        for user, membership in identity.members(space.id):
            flags = _flags(user.last_login_at, membership.created_at, now, inactive)
            if user.disabled_at is not None:
                flags.append("disabled")
            members.append(
                {
                    **user.public(),
                    "role": membership.role,
                    "source": membership.source,
                    "flags": flags,
                }
            )
        keys = []
        for record in store.list_keys(space.name):
            status = key_status(record, now, max_age_days)
            if status["state"] in ("revoked", "expired"):
                continue
            flags = _flags(record.last_used_at, record.created_at, now, inactive)
            if status["rotation_overdue"]:
                flags.append("rotation_overdue")
            keys.append({**status, "flags": flags})
        keys.sort(key=lambda k: -int(str(k["age_days"])))
        spaces.append({"name": space.name, "members": members, "keys": keys})
    owners = []
    for user in identity.list_users():
        if user.org_role == "owner":
            flags = _flags(user.last_login_at, user.created_at, now, inactive)
            if user.disabled_at is not None:
                flags.append("disabled")
            owners.append({**user.public(), "flags": flags})
    return {"generated_at": now.isoformat(), "workspaces": spaces, "owners": owners}
