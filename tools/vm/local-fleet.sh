#!/usr/bin/env bash
# Start / stop the local QEMU fleet outside Molecule and keep its inventory.
#
#   tools/vm/local-fleet.sh up       # build/find the image, start the VMs of
#                                    # inventories/local/fleet.yml, wait for SSH,
#                                    # write inventories/local/hosts.yml
#   tools/vm/local-fleet.sh status   # what runs, ports, console logs
#   tools/vm/local-fleet.sh down     # stop those VMs, remove overlays and hosts.yml
#
# Then: ansible-playbook -i inventories/local/hosts.yml playbooks/...
# State, key, overlays and console logs: $DMEMFS_CACHE_DIR/fleets/local
# (default ~/.cache/dmemfs-fleet/fleets/local).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE_DIR=${DMEMFS_CACHE_DIR:-$HOME/.cache/dmemfs-fleet}
FLEET_DIR=${DMEMFS_FLEET_DIR:-$CACHE_DIR/fleets/local}
SPEC=${DMEMFS_FLEET_SPEC:-$REPO/inventories/local/fleet.yml}
INVENTORY=${DMEMFS_FLEET_INVENTORY:-$REPO/inventories/local/hosts.yml}
# PyYAML reads the spec: prefer the project venv's Python.
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
[[ -x $PYTHON ]] || PYTHON=python3

case "${1:-}" in
    up) exec "$PYTHON" "$HERE/fleet.py" up --fleet-dir "$FLEET_DIR" --spec "$SPEC" --inventory "$INVENTORY" ;;
    down) exec "$PYTHON" "$HERE/fleet.py" down --fleet-dir "$FLEET_DIR" --inventory "$INVENTORY" ;;
    status) exec "$PYTHON" "$HERE/fleet.py" status --fleet-dir "$FLEET_DIR" ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
