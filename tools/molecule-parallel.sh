#!/usr/bin/env bash
# Run Molecule scenarios side by side (each its own VMs; they share the two
# cores, and each waits much of its time on boots and deadlines), each into
# build/molecule-<scenario>.out, then print each one's wall time and result.
# Exits non-zero when any failed, after printing the end of its output.
#
#   tools/molecule-parallel.sh pipeline
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
mkdir -p build
declare -A pid start
for s in "$@"; do
	start[$s]=$(date +%s)
	molecule test -s "$s" >"build/molecule-$s.out" 2>&1 &
	pid[$s]=$!
	echo "molecule-parallel: $s started (pid ${pid[$s]}, output build/molecule-$s.out)"
done
failed=0
for s in "$@"; do
	wait "${pid[$s]}"
	rc=$?
	echo "molecule-parallel: $s rc=$rc after $(($(date +%s) - start[$s])) s"
	if [ "$rc" != 0 ]; then
		failed=1
		echo "---- end of build/molecule-$s.out ----"
		sed 's/\x1b\[[0-9;]*m//g' "build/molecule-$s.out" | tail -n 60
	fi
done
exit "$failed"
