#!/usr/bin/env bash
# Install the Debian packages the project needs (controller, kernel builder and
# the local QEMU fleet). Skips apt entirely when everything is there already.
set -euo pipefail
packages=(
	# controller
	python3 python3-venv git rsync openssh-client
	# kernel build (kernel/build.sh) and its QEMU tests
	linux-source-6.12 build-essential bc bison flex libelf-dev libssl-dev dwarves
	ccache cpio kmod debhelper busybox-static xz-utils
	# linting shell scripts (ansible-test sanity)
	shellcheck
	# local QEMU fleet (tools/vm, molecule)
	qemu-system-x86 qemu-utils debootstrap fdisk grub-pc-bin e2fsprogs
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
