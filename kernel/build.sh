#!/bin/bash
# Build the DMEMFS kernel for Linux 6.12 LTS as Debian packages.
#
# Steps: unpack Debian's linux-source-6.12, apply patches/linux-6.12/*.patch,
# configure (x86_64_defconfig + kvm_guest.config + configs/*.config), build
# `make bindeb-pkg` through ccache, and keep the .deb packages, bzImage,
# System.map and .config in
#   ${DMEMFS_CACHE_DIR:-$HOME/.cache/dmemfs-fleet}/kernel/<hash>/
# where <hash> is the sha256 of the source package version, the patches, the
# config fragments and this script.  A second run with the same inputs only
# prints the directory.  The last line printed is always "OUTPUT_DIR=<dir>".
#
# Environment:
#   DMEMFS_CACHE_DIR   cache root (default $HOME/.cache/dmemfs-fleet)
#   DMEMFS_KERNEL_TAR  source tarball (default /usr/src/linux-source-6.12.tar.xz)
#   DMEMFS_JOBS        make -j value (default 2)
#   DMEMFS_FORCE=1     rebuild even if the output exists
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tarball=${DMEMFS_KERNEL_TAR:-/usr/src/linux-source-6.12.tar.xz}
cache=${DMEMFS_CACHE_DIR:-$HOME/.cache/dmemfs-fleet}
jobs=${DMEMFS_JOBS:-2}
patchdir=$here/patches/linux-6.12
fragments=("$here/configs/dmemfs.config" "$here/configs/qemu-guest.config")

log() { printf '[build %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -r "$tarball" ] || die "missing $tarball (apt-get install linux-source-6.12)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
[ -n "$srcver" ] || srcver=$(stat -c '%s-%Y' "$tarball")

mapfile -t patches < <(find "$patchdir" -maxdepth 1 -name '*.patch' | sort)

# Content hash of everything that decides the result.
hash=$({
	printf 'source %s\n' "$srcver"
	for f in "${patches[@]}" "${fragments[@]}" "$here/build.sh"; do
		printf 'file %s\n' "$(basename "$f")"
		cat "$f"
	done
} | sha256sum | cut -c1-16)
out=$cache/kernel/$hash

if [ -z "${DMEMFS_FORCE:-}" ] && [ -f "$out/.complete" ]; then
	log "cache hit: $out"
	echo "OUTPUT_DIR=$out"
	exit 0
fi

log "source linux-source-6.12 $srcver, ${#patches[@]} patches, hash $hash"
work=$cache/kernel/work
tree=$work/linux-source-6.12
mkdir -p "$work" "$cache/ccache"
exec 9>"$work/.lock"
flock -n 9 || die "another build holds $work/.lock"

log "unpacking $tarball"
rm -rf "$tree" "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes
tar -C "$work" -xJf "$tarball"

for p in "${patches[@]}"; do
	log "applying $(basename "$p")"
	patch -d "$tree" -p1 --batch --forward --quiet <"$p" ||
		die "patch $(basename "$p") does not apply"
done

log "configuring: x86_64_defconfig + kvm_guest.config + ${fragments[*]##*/}"
export PATH=/usr/lib/ccache:$PATH
export CCACHE_DIR=$cache/ccache CCACHE_BASEDIR=$work CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
export CCACHE_NOHASHDIR=1 CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime
export KBUILD_BUILD_USER=dmemfs KBUILD_BUILD_HOST=fleet
cd "$tree"
make -s x86_64_defconfig kvm_guest.config >/dev/null
scripts/kconfig/merge_config.sh -m .config "${fragments[@]}" >"$work/config.log" 2>&1
make -s olddefconfig >>"$work/config.log" 2>&1
# Every =y / =m / string setting asked for must have survived olddefconfig.
missing=0
for f in "${fragments[@]}"; do
	while IFS= read -r line; do
		case $line in ''|'#'*|*=n) continue ;; esac
		grep -qxF "$line" .config || { log "config not applied: $line"; missing=1; }
	done <"$f"
done
[ "$missing" = 0 ] || die "config fragments not fully applied (see $work/config.log)"

log "building bindeb-pkg with -j$jobs (log: $work/build.log)"
ccache -z >/dev/null
start=$(date +%s)
make -j"$jobs" bindeb-pkg >"$work/build.log" 2>&1 &
mpid=$!
while kill -0 "$mpid" 2>/dev/null; do
	sleep 30
	kill -0 "$mpid" 2>/dev/null || break
	last=$(grep -E '^\s+(CC|LD|AR|AS)' "$work/build.log" | tail -n1 | tr -s ' ' || true)
	log "… $(( $(date +%s) - start ))s:${last}"
done
if ! wait "$mpid"; then
	tail -n 40 "$work/build.log" >&2
	die "kernel build failed (see $work/build.log)"
fi
log "built in $(( $(date +%s) - start ))s; ccache: $(ccache -s 2>/dev/null | grep -E 'Hits:' | head -n1 | tr -s ' ')"

tmp=$out.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$work"/*.deb "$tmp"/
cp arch/x86/boot/bzImage System.map .config "$tmp"/
make -s kernelrelease >"$tmp/kernelrelease"
printf '%s\n' "$srcver" >"$tmp/source-version"
printf '%s\n' "${patches[@]##*/}" >"$tmp/patches"
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
log "done: $(ls "$out" | tr '\n' ' ')"
echo "OUTPUT_DIR=$out"
