#!/usr/bin/env bash
# Create the unprivileged user (and group) the shared-store tests act as.
#
# tests/acquire/test_shared_store.py runs pyv as `pyvtest` through runuser to check that a
# root-owned read-only store works for another user, and that a member of a group
# store's group can change it. Needs root; without root (or without useradd) it
# says so and exits 0, and those tests skip with the reason.
set -euo pipefail

user=pyvtest
group=pyvshare

if [ "$(id -u)" != 0 ]; then
    echo "ci-setup-users: not root; the second-user tests will be skipped" >&2
    exit 0
fi
if ! command -v useradd >/dev/null 2>&1 || ! command -v groupadd >/dev/null 2>&1; then
    echo "ci-setup-users: no useradd/groupadd; the second-user tests will be skipped" >&2
    exit 0
fi
getent group "$group" >/dev/null || groupadd "$group"
if ! id "$user" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/sh "$user"
fi
# The user is a member of the group store's group (supplementary group).
id -nG "$user" | tr ' ' '\n' | grep -qx "$group" || usermod -a -G "$group" "$user"
echo "ci-setup-users: $user ($(id "$user"))"
