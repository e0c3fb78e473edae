#!/usr/bin/env bash
# Run the kernel's own scripts/checkpatch.pl --strict on every patch of the
# series. checkpatch and its data files come out of Debian's linux-source
# tarball (the same one build.sh builds), so no kernel tree is needed.
# Prints one "PASS|FAIL checkpatch-<patch>: ..." line per patch; exits 1 on
# any error, warning or check.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tarball=${DMEMFS_KERNEL_TAR:-/usr/src/linux-source-6.12.tar.xz}
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
tar -xJf "$tarball" -C "$tools" --strip-components=1 --wildcards \
	'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
rc=0
for patch in "$here"/../patches/linux-6.12/*.patch; do
	name=$(basename "$patch" .patch)
	if report=$("$tools/scripts/checkpatch.pl" --strict --no-tree --quiet "$patch"); then
		echo "PASS checkpatch-${name:0:4}: $name clean under checkpatch --strict"
	else
		echo "FAIL checkpatch-${name:0:4}: $name"
		printf '%s\n' "$report" | sed 's/^/    /'
		rc=1
	fi
done
exit "$rc"
