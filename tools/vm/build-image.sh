#!/usr/bin/env bash
# Build (or find in the cache) the Debian 12 base disk image of the dmemfs.fleet
# QEMU guests, and print its path on stdout.
#
#   tools/vm/build-image.sh            # build if missing, print path
#   tools/vm/build-image.sh --key      # only print the cache key
#   tools/vm/build-image.sh --force    # rebuild even if cached
#
# Steps: debootstrap (minbase + image-packages.txt) -> copy image-files/ ->
# mkfs.ext4 -d (no loop devices) -> msdos-partitioned raw disk, partition 1 at
# 1 MiB -> qcow2 -> first boot with QEMU -kernel/-initrd from the image itself,
# where fleet-firstboot.service runs grub-install /dev/vda + update-grub and
# powers off. From then on the image boots through its own GRUB.
#
# The result is $DMEMFS_CACHE_DIR/images/debian12-<key>.qcow2 where <key> is a
# sha256 of this script, the package list, image-files/ and the knobs below.
# Needs root (debootstrap), debootstrap, e2fsprogs, fdisk (sfdisk), qemu-utils,
# qemu-system-x86.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_DIR=${DMEMFS_CACHE_DIR:-$HOME/.cache/dmemfs-fleet}
IMAGE_DIR=$CACHE_DIR/images
SUITE=bookworm
MIRROR=${DMEMFS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DISK_SIZE_MIB=${DMEMFS_IMAGE_DISK_MIB:-8192}
FIRSTBOOT_TIMEOUT=${DMEMFS_FIRSTBOOT_TIMEOUT:-1200}

log() { echo "build-image: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cache_key() {
    (
        cd "$HERE"
        echo "suite=$SUITE disk_mib=$DISK_SIZE_MIB"
        sha256sum build-image.sh image-packages.txt
        find image-files -type f -o -type l | LC_ALL=C sort | while read -r f; do
            printf '%s %s\n' "$(stat -c %a "$f")" "$(sha256sum "$f")"
        done
    ) | sha256sum | cut -c1-16
}

KEY=$(cache_key)
IMAGE=$IMAGE_DIR/debian12-$KEY.qcow2
FORCE=0
case "${1:-}" in
    --key) echo "$KEY"; exit 0 ;;
    --force) FORCE=1 ;;
    "") ;;
    *) die "unknown argument: $1" ;;
esac

if [[ -f $IMAGE && $FORCE == 0 ]]; then
    echo "$IMAGE"
    exit 0
fi

[[ $(id -u) == 0 ]] || die "debootstrap needs root"
for tool in debootstrap mkfs.ext4 sfdisk qemu-img qemu-system-x86_64; do
    command -v "$tool" >/dev/null || die "missing $tool"
done

mkdir -p "$IMAGE_DIR"
# One builder at a time; a second caller waits and then finds the image.
exec 9>"$IMAGE_DIR/.build.lock"
flock 9
if [[ -f $IMAGE && $FORCE == 0 ]]; then
    echo "$IMAGE"
    exit 0
fi

WORK=$(mktemp -d "$IMAGE_DIR/.build-$KEY.XXXXXX")
QEMU_PID=
cleanup() {
    if [[ -n $QEMU_PID ]]; then
        kill "$QEMU_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
ROOT=$WORK/root
START=$(date +%s)

packages=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$HERE/image-packages.txt" | tr -s ' \n' ',' | sed 's/,$//')
log "debootstrap $SUITE minbase + $packages"
DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase --include="$packages" \
    "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 40 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
log "debootstrap done after $(( $(date +%s) - START )) s"

log "configuring the root filesystem"
cp -a "$HERE/image-files/." "$ROOT/"
chown -R root:root "$ROOT/etc/default/grub.d" "$ROOT/etc/systemd" "$ROOT/etc/ssh/sshd_config.d" \
    "$ROOT/etc/sudoers.d" "$ROOT/usr/local/sbin"
chmod 0440 "$ROOT/etc/sudoers.d/fleet"
# kexec-tools is there for the faults scenario: reboots go through the
# firmware and GRUB unless a test loads a kexec image on purpose.
sed -i 's/^LOAD_KEXEC=.*/LOAD_KEXEC=false/' "$ROOT/etc/default/kexec"
grep -qx 'LOAD_KEXEC=false' "$ROOT/etc/default/kexec" || die "kexec-tools: LOAD_KEXEC not switched off"

ROOT_UUID=$(cat /proc/sys/kernel/random/uuid)
cat >"$ROOT/etc/fstab" <<FSTAB
# <file system> <mount point> <type> <options> <dump> <pass>
UUID=$ROOT_UUID / ext4 errors=remount-ro 0 1
FSTAB
echo fleet >"$ROOT/etc/hostname"
cat >"$ROOT/etc/hosts" <<'HOSTS'
127.0.0.1	localhost
127.0.1.1	fleet
::1		localhost ip6-localhost ip6-loopback
HOSTS
# QEMU user networking answers DNS on 10.0.2.3.
rm -f "$ROOT/etc/resolv.conf"
echo "nameserver 10.0.2.3" >"$ROOT/etc/resolv.conf"
cat >"$ROOT/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
SOURCES

chroot "$ROOT" useradd --create-home --shell /bin/bash --groups sudo --comment "dmemfs.fleet Ansible user" fleet
chroot "$ROOT" passwd --lock fleet >/dev/null
chroot "$ROOT" passwd --lock root >/dev/null
chroot "$ROOT" systemctl enable --quiet systemd-networkd.service fleet-seed.service fleet-firstboot.service
# Periodic and boot-time housekeeping a test VM does not need: on one TCG
# vCPU, e2scrub_reap alone took 13-47 s of CPU on every boot, and a timer
# that fires during a test (apt-daily after each boot, being "missed") steals
# it from the run being measured.
chroot "$ROOT" systemctl mask --quiet e2scrub_reap.service e2scrub_all.timer apt-daily.timer \
    apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer
rm -f "$ROOT"/etc/ssh/ssh_host_* "$ROOT/var/lib/dbus/machine-id"
: >"$ROOT/etc/machine-id"
rm -f "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*_Packages

KERNEL=$(find "$ROOT/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n1)
[[ -n $KERNEL ]] || die "no kernel in /boot of the image"
INITRD=$ROOT/boot/initrd.img-${KERNEL##*/vmlinuz-}
[[ -f $INITRD ]] || die "no initrd for $KERNEL"
cp "$KERNEL" "$WORK/vmlinuz"
cp "$INITRD" "$WORK/initrd.img"

log "mkfs.ext4 -d (root fs UUID $ROOT_UUID)"
PART_MIB=$((DISK_SIZE_MIB - 1))
mkfs.ext4 -q -F -L fleet-root -U "$ROOT_UUID" -d "$ROOT" "$WORK/root.ext4" "${PART_MIB}M"
rm -rf "$ROOT"

log "partitioned disk: msdos label, partition 1 from 1 MiB"
truncate -s "${DISK_SIZE_MIB}M" "$WORK/disk.raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk --quiet "$WORK/disk.raw"
dd if="$WORK/root.ext4" of="$WORK/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
rm -f "$WORK/root.ext4"
qemu-img convert -f raw -O qcow2 "$WORK/disk.raw" "$WORK/base.qcow2"
rm -f "$WORK/disk.raw"

log "first boot (QEMU -kernel/-initrd): grub-install + update-grub inside the guest"
BOOT_LOG=$IMAGE_DIR/debian12-$KEY.firstboot.log
qemu-system-x86_64 -nodefaults -accel tcg -machine q35 -cpu max -smp 2 -m 1024 \
    -display none -monitor none -serial "file:$BOOT_LOG" -no-reboot -nic none \
    -drive "file=$WORK/base.qcow2,format=qcow2,if=virtio" \
    -kernel "$WORK/vmlinuz" -initrd "$WORK/initrd.img" \
    -append "root=/dev/vda1 rw console=ttyS0,115200n8 fleet.firstboot systemd.mask=ssh.service" &
QEMU_PID=$!
deadline=$(( $(date +%s) + FIRSTBOOT_TIMEOUT ))
while kill -0 "$QEMU_PID" 2>/dev/null; do
    if (( $(date +%s) > deadline )); then
        tail -n 30 "$BOOT_LOG" >&2
        die "first boot did not power off within $FIRSTBOOT_TIMEOUT s (log: $BOOT_LOG)"
    fi
    sleep 2
done
wait "$QEMU_PID" || true
QEMU_PID=
grep -q 'FLEET-FIRSTBOOT: OK' "$BOOT_LOG" || { tail -n 30 "$BOOT_LOG" >&2; die "first boot failed (log: $BOOT_LOG)"; }

mv "$WORK/base.qcow2" "$IMAGE"
log "built $IMAGE in $(( $(date +%s) - START )) s"
echo "$IMAGE"
