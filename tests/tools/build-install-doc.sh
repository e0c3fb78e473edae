#!/usr/bin/env bash
# Build the collection tarball, install it into an empty path and show every
# module and filter with ansible-doc from there: what `ansible-galaxy
# collection install` users get.
set -euo pipefail
src=${1:?collection source dir} out=${2:?output dir}
mkdir -p "$out"
rm -f "$out"/dmemfs-fleet-*.tar.gz
ansible-galaxy collection build --force --output-path "$out" "$src"
tarball=$(ls "$out"/dmemfs-fleet-*.tar.gz)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
ansible-galaxy collection install --force --offline -p "$dest" "$tarball"
export ANSIBLE_COLLECTIONS_PATH=$dest
count=0
for kind in module filter; do
	dir=modules
	[ "$kind" = filter ] && dir=filter
	for f in "$src/plugins/$dir"/*.py "$src/plugins/$dir"/*.yml; do
		[ -e "$f" ] || continue
		name=$(basename "${f%.*}")
		[ "$kind" = filter ] && [ "${f##*.}" = py ] && continue
		doc=$(ansible-doc -t "$kind" "dmemfs.fleet.$name")
		grep -q "dmemfs.fleet.$name" <<< "$doc" || { echo "ansible-doc shows no $kind $name" >&2; exit 1; }
		grep -q "EXAMPLES" <<< "$doc" || { echo "ansible-doc: $kind $name has no EXAMPLES" >&2; exit 1; }
		count=$((count + 1))
	done
done
listed=$(ansible-doc -t module -l dmemfs.fleet | wc -l)
echo "installed $(basename "$tarball"): ansible-doc showed $count plugins, module list has $listed entries"
