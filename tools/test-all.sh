#!/usr/bin/env bash
# make test: everything CI runs, in the order that keeps a cold run short.
#
# On a fresh machine the kernel build (about 25 min on two cores) and the VM
# base image (a few minutes) are the long poles, and nothing of lint, sanity,
# units, the collection build or pytest needs either (but the one pytest test
# that reads the real kernel cache): both start in the background first (the
# kernel's QEMU tests right after its build), and those checks run meanwhile
# (they use mostly one core). Then that one pytest test and Molecule. With
# warm caches the image job ends at once and the kernel tests run beside the
# checks. Each step's wall time is printed at the end.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
mkdir -p build
make_=${MAKE:-make}

declare -a times
step() {
	local name=$1 t0=$SECONDS
	shift
	"$@"
	local rc=$?
	times+=("$(printf '%6d s  %s' $((SECONDS - t0)) "$name")")
	return $rc
}
summary() {
	echo "test-all: wall time of each step"
	printf '  %s\n' "${times[@]}"
	echo "test-all: total $SECONDS s"
}
# CI keeps only the end of the output, and Molecule's own end is its destroy:
# the last failed tasks (from the time-stamped Ansible logs of every run,
# those the fault injections expect too) come last.
digest() {
	local logs=(build/molecule-*-ansible.log)
	[ -e "${logs[0]}" ] || return 0
	echo "test-all: the last failed tasks in ${logs[*]}:"
	grep -h -E '\| (fatal|failed): \[|\| ERROR' "${logs[@]}" | sort | tail -n 4 | cut -c1-900 | sed 's/^/  /'
}
fail() {
	summary
	digest
	echo "test-all: FAILED: $*" >&2
	exit 1
}

t0=$SECONDS
# The kernel lane: the build, then its QEMU tests (they need neither the
# staged collection nor the venv, and use one core): with a warm cache the
# tests run beside lint and sanity instead of after pytest.
kernel_lane() {
	bash kernel/build.sh || return 1
	local t=$SECONDS
	echo "test-all: kernel build done after $((SECONDS - t0)) s; make kernel-test"
	"$make_" kernel-test || return 1
	echo "test-all: kernel-test took $((SECONDS - t)) s"
}
kernel_lane >build/kernel-build.log 2>&1 &
kernel_pid=$!
bash tools/vm/build-image.sh >build/image-build.log 2>&1 &
image_pid=$!
echo "test-all: kernel build and tests (pid $kernel_pid, build/kernel-build.log) and VM image (pid $image_pid, build/image-build.log) in the background"

# the pytest test of the kernel_build role on the real (warm) kernel cache runs after the build
warm=test_the_test_fleet_inputs_with_a_warm_cache
for target in lint sanity units build pytest; do
	args=()
	[ "$target" = pytest ] && args=("PYTEST_ARGS=-k 'not $warm'")
	step "$target" "$make_" "$target" "${args[@]}" || { kill "$kernel_pid" "$image_pid" 2>/dev/null; fail "make $target"; }
done

# await PID NAME LOG: wait for a background job, time it from the start, fail with its log's end
await() {
	wait "$1"
	local rc=$?
	times+=("$(printf '%6d s  %s' $((SECONDS - t0)) "$2 (background, from the start)")")
	[ "$rc" = 0 ] || { tail -n 40 "$3"; fail "$2 ($3)"; }
}
await "$kernel_pid" "kernel/build.sh, make kernel-test" build/kernel-build.log
grep -h '^test-all: kernel' build/kernel-build.log | sed 's/^/  /'
await "$image_pid" tools/vm/build-image.sh build/image-build.log

step "pytest $warm" "$make_" pytest "PYTEST_ARGS=-k $warm" || fail "make pytest ($warm)"
step molecule "$make_" molecule || fail "make molecule"
summary
