#!/usr/bin/env bash
# Remove cached base images that are neither the current one (the key of
# build-image.sh as it is now) nor the backing file of a fleet that
# fleet.py still records (fleets/*/state.json), plus leftovers of
# interrupted builds.
#
#   tools/vm/prune-images.sh           # remove
#   tools/vm/prune-images.sh --dry-run # only list
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_DIR=${DMEMFS_CACHE_DIR:-$HOME/.cache/dmemfs-fleet}
IMAGE_DIR=$CACHE_DIR/images
DRY=0
[[ ${1:-} == --dry-run ]] && DRY=1
[[ -d $IMAGE_DIR ]] || exit 0

current=$IMAGE_DIR/debian12-$("$HERE/build-image.sh" --key).qcow2
remove() {
    echo "prune-images: removing $*"
    (( DRY )) || rm -rf -- "$@"
}

# No build may run while we look at its work directory.
exec 9>"$IMAGE_DIR/.build.lock"
if flock -n 9; then
    for d in "$IMAGE_DIR"/.build-*; do
        [[ -e $d ]] && remove "$d"
    done
fi

shopt -s nullglob
states=("$CACHE_DIR"/fleets/*/state.json)
for img in "$IMAGE_DIR"/debian12-*.qcow2; do
    [[ $img == "$current" ]] && continue
    if (( ${#states[@]} )) && grep -qF "\"$img\"" "${states[@]}"; then
        echo "prune-images: keeping $img (a fleet uses it)"
        continue
    fi
    remove "$img" "${img%.qcow2}.firstboot.log"
done
