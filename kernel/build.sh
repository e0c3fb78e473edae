#!/usr/bin/env bash
# Build the DMEMFS kernel for Linux 6.12 LTS as Debian (or RPM) packages.
#
# Steps: unpack the kernel source, apply every *.patch of the patch directory
# (sorted), configure (a base config + config fragments, and check that every
# fragment line survived olddefconfig), build `make bindeb-pkg` (or
# `binrpm-pkg`) through ccache, and keep the packages, bzImage, System.map,
# .config, kernelrelease, source-version, patches and manifest.json in
#   ${DMEMFS_CACHE_DIR:-$HOME/.cache/dmemfs-fleet}/kernel/<hash>/
# where <hash> is the sha256 of every input that decides the result: the
# source's identity, the patches, the base config, the fragments, the package
# format and this script.  A second run with the same inputs is a cache hit
# ("cache hit" on stderr) and only prints the directory.  The last line
# printed on stdout is always "OUTPUT_DIR=<dir>"; progress goes to stderr.
#
# Environment (an invalid value fails at once, naming the variable):
#   DMEMFS_KERNEL_SOURCE    debian (default): /usr/src/linux-source-6.12.tar.xz
#                           of Debian's linux-source-6.12, identified by its
#                           dpkg version; tarball: DMEMFS_KERNEL_TAR; git:
#                           DMEMFS_KERNEL_GIT at DMEMFS_KERNEL_GIT_REF
#   DMEMFS_KERNEL_TAR       tarball source: a .tar.xz or .tar.gz of a kernel tree
#   DMEMFS_KERNEL_SHA256    tarball source: its sha256, checked before use
#   DMEMFS_KERNEL_GIT       git source: path of a git tree (exported with git
#                           archive: committed content only)
#   DMEMFS_KERNEL_GIT_REF   git source: commit, tag or branch (default HEAD)
#   DMEMFS_PATCH_DIR        patches to apply (default kernel/patches/linux-6.12)
#   DMEMFS_CONFIG_BASE      defconfig (default: x86_64_defconfig +
#                           kvm_guest.config), running (the running kernel's
#                           /boot/config-$(uname -r) or /proc/config.gz) or
#                           file (DMEMFS_CONFIG_FILE)
#   DMEMFS_CONFIG_FILE      base config for DMEMFS_CONFIG_BASE=file
#   DMEMFS_CONFIG_MODULES   a file of the module names a fleet uses (one per
#                           line, or lsmod output): the base config keeps
#                           only those of its modules (make localmodconfig)
#                           before the fragments; unset or empty: no trimming
#   DMEMFS_CONFIG_FRAGMENTS colon-separated fragments merged over the base
#                           (default, the QEMU test fleet's kernel:
#                           kernel/configs/dmemfs.config:
#                           kernel/configs/trial-boot.config:
#                           kernel/configs/hypervisor.config:
#                           kernel/configs/no-debug-info.config:
#                           kernel/configs/qemu-guest.config; set but empty:
#                           none)
#   DMEMFS_PACKAGE          deb (default, bindeb-pkg) or rpm (binrpm-pkg,
#                           needs rpmbuild)
#   DMEMFS_CACHE_DIR        cache root (default $HOME/.cache/dmemfs-fleet)
#   DMEMFS_JOBS             make -j value (default 2)
#   DMEMFS_FORCE=1          rebuild even if the output exists
#   DMEMFS_DRY_RUN=1        check the inputs, print HASH=, CACHED=yes|no and
#                           OUTPUT_DIR=, build nothing
set -euo pipefail
# An outer make (make test, make pytest) exports MAKELEVEL and MAKEFLAGS: a
# make started here would then print "Entering directory" lines into the
# output we read (kernelrelease) and try to use the outer jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL

script=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
here=$(dirname "$script")

log() { printf '[build %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}
# one_of VARIABLE VALUE ALLOWED...: fail unless VALUE is one of ALLOWED
one_of() {
	local var=$1 value=$2 allowed
	shift 2
	for allowed in "$@"; do
		[ "$value" = "$allowed" ] && return 0
	done
	printf -v allowed '%s, ' "$@"
	die "$var='$value' is not valid; allowed values: ${allowed%, }"
}
# readable PATH: PATH is a readable file
readable() { [ -f "$1" ] && [ -r "$1" ]; }
# json_str TEXT: TEXT as a JSON string
json_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
	printf '"%s"' "$s"
}
# json_list ITEM...: the items as a JSON list of strings
json_list() {
	local sep='' item
	printf '['
	for item in "$@"; do
		printf '%s%s' "$sep" "$(json_str "$item")"
		sep=', '
	done
	printf ']'
}

tmpfiles=()
cleanup() { [ ${#tmpfiles[@]} -eq 0 ] || rm -rf "${tmpfiles[@]}"; }
trap cleanup EXIT

# ---------------------------------------------------------------- inputs
kind=${DMEMFS_KERNEL_SOURCE:-debian}
patchdir=${DMEMFS_PATCH_DIR:-$here/patches/linux-6.12}
config_base=${DMEMFS_CONFIG_BASE:-defconfig}
fragment_list=${DMEMFS_CONFIG_FRAGMENTS-$here/configs/dmemfs.config:$here/configs/trial-boot.config:$here/configs/hypervisor.config:$here/configs/no-debug-info.config:$here/configs/qemu-guest.config}
package=${DMEMFS_PACKAGE:-deb}
cache=${DMEMFS_CACHE_DIR:-$HOME/.cache/dmemfs-fleet}
jobs=${DMEMFS_JOBS:-2}

one_of DMEMFS_KERNEL_SOURCE "$kind" debian tarball git
one_of DMEMFS_CONFIG_BASE "$config_base" defconfig running file
one_of DMEMFS_PACKAGE "$package" deb rpm
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "DMEMFS_JOBS='$jobs' is not valid; allowed values: a positive integer"

# The source: what to unpack ($tarball, or $repo at $commit), its identity
# for the hash ($source_id) and a description for people ($source_desc).
tarball='' repo='' commit=''
case $kind in
debian)
	tarball=/usr/src/linux-source-6.12.tar.xz
	[ -z "${DMEMFS_KERNEL_TAR:-}" ] ||
		log "note: DMEMFS_KERNEL_TAR is ignored with DMEMFS_KERNEL_SOURCE=debian (use DMEMFS_KERNEL_SOURCE=tarball)"
	[ -r "$tarball" ] || die "DMEMFS_KERNEL_SOURCE=debian: missing $tarball (apt-get install linux-source-6.12)"
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
	if [ -z "$srcver" ]; then
		srcver="unknown version, sha256 $(sha256sum <"$tarball" | cut -d' ' -f1)"
	fi
	source_id="debian linux-source-6.12 $srcver"
	source_desc="Debian linux-source-6.12 $srcver"
	source_version=$srcver
	;;
tarball)
	tarball=${DMEMFS_KERNEL_TAR:-}
	want=${DMEMFS_KERNEL_SHA256:-}
	[ -n "$tarball" ] || die "DMEMFS_KERNEL_SOURCE=tarball needs DMEMFS_KERNEL_TAR (a .tar.xz or .tar.gz)"
	[ -n "$want" ] || die "DMEMFS_KERNEL_SOURCE=tarball needs DMEMFS_KERNEL_SHA256 (the sha256 of DMEMFS_KERNEL_TAR)"
	case $tarball in
	*.tar.xz | *.tar.gz | *.tgz) ;;
	*) die "DMEMFS_KERNEL_TAR='$tarball' is not valid; allowed: a .tar.xz or .tar.gz file" ;;
	esac
	[[ $want =~ ^[0-9a-fA-F]{64}$ ]] || die "DMEMFS_KERNEL_SHA256='$want' is not valid; allowed: 64 hex digits"
	want=${want,,}
	readable "$tarball" || die "DMEMFS_KERNEL_TAR='$tarball' is not a readable file"
	tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
	got=$(sha256sum <"$tarball" | cut -d' ' -f1)
	[ "$got" = "$want" ] || die "DMEMFS_KERNEL_TAR='$tarball' has sha256 $got, not DMEMFS_KERNEL_SHA256=$want"
	source_id="tarball sha256 $want"
	source_desc="tarball $(basename "$tarball") sha256 $want"
	source_version=$source_desc
	;;
git)
	repo=${DMEMFS_KERNEL_GIT:-}
	ref=${DMEMFS_KERNEL_GIT_REF:-HEAD}
	[ -n "$repo" ] || die "DMEMFS_KERNEL_SOURCE=git needs DMEMFS_KERNEL_GIT (the path of a git tree)"
	err=$(git -C "$repo" rev-parse --git-dir 2>&1 >/dev/null) ||
		die "DMEMFS_KERNEL_GIT='$repo' is not a git tree: $err"
	commit=$(git -C "$repo" rev-parse --verify --quiet "$ref^{commit}") ||
		die "DMEMFS_KERNEL_GIT_REF='$ref' is not a commit of DMEMFS_KERNEL_GIT='$repo'"
	source_id="git commit $commit"
	source_desc="git $repo $ref ($commit)"
	source_version="git $commit"
	;;
esac

[ -d "$patchdir" ] || die "DMEMFS_PATCH_DIR='$patchdir' is not a directory"
mapfile -t patches < <(find -L "$patchdir" -maxdepth 1 -name '*.patch' -type f | LC_ALL=C sort)

# The base config: a file whose content goes into the hash (none for
# defconfig: the defconfig files are part of the source).
basecfg=''
case $config_base in
defconfig)
	base_desc="x86_64_defconfig + kvm_guest.config"
	;;
running)
	basecfg=$(mktemp)
	tmpfiles+=("$basecfg")
	running=/boot/config-$(uname -r)
	if [ -r "$running" ]; then
		cat "$running" >"$basecfg"
		base_desc="running kernel config $running"
	elif [ -r /proc/config.gz ]; then
		zcat /proc/config.gz >"$basecfg"
		base_desc="running kernel config /proc/config.gz ($(uname -r))"
	else
		die "DMEMFS_CONFIG_BASE=running: neither $running nor /proc/config.gz is readable"
	fi
	;;
file)
	basecfg=${DMEMFS_CONFIG_FILE:-}
	[ -n "$basecfg" ] || die "DMEMFS_CONFIG_BASE=file needs DMEMFS_CONFIG_FILE (a kernel .config)"
	readable "$basecfg" || die "DMEMFS_CONFIG_FILE='$basecfg' is not a readable file"
	basecfg=$(cd "$(dirname "$basecfg")" && pwd)/$(basename "$basecfg")
	base_desc="config file $basecfg"
	;;
esac

# The modules to keep: sorted unique names as the kernel compares them (- is
# _), so the same set in any order or format gives the same hash.
modlist=''
if [ -n "${DMEMFS_CONFIG_MODULES:-}" ]; then
	readable "$DMEMFS_CONFIG_MODULES" || die "DMEMFS_CONFIG_MODULES='$DMEMFS_CONFIG_MODULES' is not a readable file"
	modlist=$(mktemp)
	tmpfiles+=("$modlist")
	awk '$1 != "Module" && $1 ~ /^[A-Za-z0-9_-]+$/ { gsub("-", "_", $1); print $1 }' "$DMEMFS_CONFIG_MODULES" |
		LC_ALL=C sort -u >"$modlist"
	[ -s "$modlist" ] || die "DMEMFS_CONFIG_MODULES='$DMEMFS_CONFIG_MODULES' names no module"
	base_desc="$base_desc, trimmed to $(wc -l <"$modlist") modules"
fi

fragments=()
IFS=: read -r -a listed <<<"$fragment_list"
for f in "${listed[@]}"; do
	[ -n "$f" ] || continue
	readable "$f" || die "DMEMFS_CONFIG_FRAGMENTS: '$f' is not a readable file"
	fragments+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")")
done

# ---------------------------------------------------------------- hash
# Names and sizes frame each file's content; fragments count by content and
# order only, so the same fragments copied elsewhere give the same hash.
hash=$({
	printf 'source %s\n' "$source_id"
	printf 'package %s\n' "$package"
	printf 'config-base %s\n' "$config_base"
	if [ -n "$basecfg" ]; then
		printf 'base-config %s\n' "$(wc -c <"$basecfg")"
		cat "$basecfg"
	fi
	if [ -n "$modlist" ]; then
		printf 'modules %s\n' "$(wc -c <"$modlist")"
		cat "$modlist"
	fi
	for f in "${patches[@]}"; do
		printf 'patch %s %s\n' "${f##*/}" "$(wc -c <"$f")"
		cat "$f"
	done
	for f in "${fragments[@]}"; do
		printf 'fragment %s\n' "$(wc -c <"$f")"
		cat "$f"
	done
	printf 'script %s\n' "$(wc -c <"$script")"
	cat "$script"
} | sha256sum | cut -c1-16)
out=$cache/kernel/$hash

cached=no
if [ -z "${DMEMFS_FORCE:-}" ] && [ -f "$out/.complete" ]; then
	cached=yes
fi
needs_rpmbuild() {
	[ "$package" = rpm ] && ! command -v rpmbuild >/dev/null 2>&1
}

if [ -n "${DMEMFS_DRY_RUN:-}" ]; then
	if [ "$cached" = no ] && needs_rpmbuild; then
		die "DMEMFS_PACKAGE=rpm needs rpmbuild (apt-get install rpm)"
	fi
	log "dry run: hash $hash, cached: $cached; source $source_desc, ${#patches[@]} patches, base $base_desc, ${#fragments[@]} fragments, $package packages"
	echo "HASH=$hash"
	echo "CACHED=$cached"
	echo "OUTPUT_DIR=$out"
	exit 0
fi

if [ "$cached" = yes ]; then
	log "cache hit: $out"
	echo "OUTPUT_DIR=$out"
	exit 0
fi

if needs_rpmbuild; then
	die "DMEMFS_PACKAGE=rpm needs rpmbuild (apt-get install rpm)"
fi

# ---------------------------------------------------------------- build
log "source $source_desc, ${#patches[@]} patches, base $base_desc, ${#fragments[@]} fragments, $package packages, hash $hash"
work=$cache/kernel/work
# The tree keeps the path it always had, so ccache entries stay valid.
tree=$work/linux-source-6.12
mkdir -p "$work" "$cache/ccache"
exec 9>"$work/.lock"
flock -n 9 || die "another build holds $work/.lock"

shopt -s nullglob
rm -rf "$tree" "$work/unpack" "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes
mkdir "$work/unpack"
if [ "$kind" = git ]; then
	log "exporting $commit from $repo"
	git -C "$repo" archive --format=tar "$commit" | tar -C "$work/unpack" -xf -
else
	log "unpacking $tarball"
	tar -C "$work/unpack" -xf "$tarball"
fi
# Whatever the archive's top-level directory is called: one directory is the
# tree; anything else (git archive, a tarball without a directory) is the tree
# itself.
top=("$work/unpack"/* "$work/unpack"/.[!.]*)
if [ ${#top[@]} -eq 1 ] && [ -d "${top[0]}" ]; then
	mv "${top[0]}" "$tree"
	rmdir "$work/unpack"
else
	mv "$work/unpack" "$tree"
fi
if [ ! -f "$tree/Makefile" ] || [ ! -f "$tree/scripts/kconfig/merge_config.sh" ]; then
	die "the source has no kernel tree (no Makefile and scripts/kconfig/merge_config.sh at its top)"
fi

for p in "${patches[@]}"; do
	log "applying ${p##*/}"
	patch -d "$tree" -p1 --batch --forward --quiet <"$p" >&2 ||
		die "patch ${p##*/} does not apply"
done

log "configuring: $base_desc + ${#fragments[@]} fragments (${fragments[*]##*/})"
export PATH=/usr/lib/ccache:$PATH
export CCACHE_DIR=$cache/ccache CCACHE_BASEDIR=$work CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
export CCACHE_NOHASHDIR=1 CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime
export KBUILD_BUILD_USER=dmemfs KBUILD_BUILD_HOST=fleet
cd "$tree"
if [ -z "$basecfg" ]; then
	make -s x86_64_defconfig kvm_guest.config >/dev/null
else
	cp "$basecfg" .config
fi
: >"$work/config.log"
if [ -n "$modlist" ]; then
	# localmodconfig keeps the modules named in LSMOD and turns the base's
	# other modules off; olddefconfig first, so that its own oldconfig pass
	# has no new symbol to ask about (a 6.1 distribution config on 6.12).
	make -s olddefconfig >>"$work/config.log" 2>&1
	before=$(grep -c '=m$' .config || true)
	{ yes '' || true; } | make -s LSMOD="$modlist" localmodconfig >>"$work/config.log" 2>&1
	log "config: localmodconfig kept $(grep -c '=m$' .config || true) of $before modules for the $(wc -l <"$modlist") the fleet uses"
fi
if [ ${#fragments[@]} -gt 0 ]; then
	scripts/kconfig/merge_config.sh -m .config "${fragments[@]}" >>"$work/config.log" 2>&1
fi
# A distribution's config names certificate files of its own source tree
# (Debian: debian/certs/...); without them the build stops, so drop them.
for key in SYSTEM_TRUSTED_KEYS SYSTEM_REVOCATION_KEYS; do
	value=$(sed -n "s/^CONFIG_$key=\"\\(.*\\)\"\$/\\1/p" .config)
	if [ -n "$value" ] && [ ! -e "$value" ]; then
		log "config: CONFIG_$key=\"$value\" is not in the tree, cleared"
		scripts/config --set-str "$key" ""
	fi
done
make -s olddefconfig >>"$work/config.log" 2>&1
# Every =y / =m / string setting asked for must have survived olddefconfig.
missing=0
for f in "${fragments[@]}"; do
	while IFS= read -r line; do
		case $line in '' | '#'* | *=n) continue ;; esac
		grep -qxF "$line" .config || {
			log "config not applied: $line"
			missing=1
		}
	done <"$f"
done
[ "$missing" = 0 ] || die "config fragments not fully applied (see $work/config.log)"

# Each build is its own kernel release (6.12.117-dmemfs-<hash>): installing a
# new build never overwrites the running one, and it goes through a trial boot.
export LOCALVERSION=-${hash:0:8}
target=bindeb-pkg
[ "$package" = deb ] || target=binrpm-pkg
log "building $target with -j$jobs (log: $work/build.log)"
ccache -z >/dev/null
start=$SECONDS
make -j"$jobs" "$target" >"$work/build.log" 2>&1 &
mpid=$!
# A progress line every 30 s; a quick build does not wait for the first one.
next=$((start + 30))
while kill -0 "$mpid" 2>/dev/null; do
	sleep 1
	if [ "$SECONDS" -ge "$next" ] && kill -0 "$mpid" 2>/dev/null; then
		last=$(grep -E '^\s+(CC|LD|AR|AS)' "$work/build.log" | tail -n1 | tr -s ' ' || true)
		log "… $((SECONDS - start))s:${last}"
		next=$((next + 30))
	fi
done
if ! wait "$mpid"; then
	tail -n 40 "$work/build.log" >&2
	die "kernel build failed (see $work/build.log)"
fi
log "built in $((SECONDS - start))s; ccache: $(ccache -s 2>/dev/null | grep -E 'Hits:' | head -n1 | tr -s ' ')"

# The packages, and which of them is the kernel image and the headers to
# build modules against.
image='' headers=''
if [ "$package" = deb ]; then
	built=("$work"/*.deb)
else
	built=("$tree"/rpmbuild/RPMS/*/*.rpm)
fi
[ ${#built[@]} -gt 0 ] || die "$target made no .$package packages"
names=()
for f in "${built[@]}"; do
	name=${f##*/}
	names+=("$name")
	case $package:$name in
	deb:linux-image-*-dbg_*) ;;
	deb:linux-image-*) image=$name ;;
	deb:linux-headers-*) headers=$name ;;
	rpm:kernel-[0-9]*) image=$name ;;
	rpm:kernel-devel-*) headers=$name ;;
	esac
done
[ -n "$image" ] || die "$target made no kernel image package (made: ${names[*]})"
release=$(make -s --no-print-directory kernelrelease)
# The modules the fleet uses that this build neither builds in nor ships
# (out-of-tree ones such as zfs, or ones no Kconfig option was found for):
# the trial's preflight refuses a host that loads any of them.
modules_missing=()
if [ -n "$modlist" ]; then
	mapfile -t modules_missing < <(
		sed -e 's|.*/||' -e 's/\.k\?o$//' -e 's/-/_/g' modules.builtin modules.order 2>/dev/null |
			LC_ALL=C sort -u | LC_ALL=C comm -13 - "$modlist"
	)
	[ ${#modules_missing[@]} -eq 0 ] ||
		log "warning: the fleet uses modules this build does not provide: ${modules_missing[*]}"
fi

tmp=$out.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp"
tmpfiles+=("$tmp")
cp "${built[@]}" "$tmp"/
cp arch/x86/boot/bzImage System.map .config "$tmp"/
printf '%s\n' "$release" >"$tmp/kernelrelease"
printf '%s\n' "$source_version" >"$tmp/source-version"
printf '%s\n' "${patches[@]##*/}" >"$tmp/patches"
{
	printf '{\n'
	printf '  "hash": %s,\n' "$(json_str "$hash")"
	printf '  "kernelrelease": %s,\n' "$(json_str "$release")"
	printf '  "package_format": %s,\n' "$(json_str "$package")"
	printf '  "packages": %s,\n' "$(json_list "${names[@]}")"
	printf '  "image_package": %s,\n' "$(json_str "$image")"
	if [ -n "$headers" ]; then
		printf '  "headers_package": %s,\n' "$(json_str "$headers")"
	else
		printf '  "headers_package": null,\n'
	fi
	printf '  "source": {"type": %s, "description": %s},\n' "$(json_str "$kind")" "$(json_str "$source_desc")"
	printf '  "config_base": %s,\n' "$(json_str "$base_desc")"
	# null: no module list to check against (the build was not trimmed)
	if [ -n "$modlist" ]; then
		printf '  "modules_missing": %s,\n' "$(json_list "${modules_missing[@]}")"
	else
		printf '  "modules_missing": null,\n'
	fi
	printf '  "patches": %s\n' "$(json_list "${patches[@]##*/}")"
	printf '}\n'
} >"$tmp/manifest.json"
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
kept=("$out"/*)
log "done: ${kept[*]##*/}"
echo "OUTPUT_DIR=$out"
