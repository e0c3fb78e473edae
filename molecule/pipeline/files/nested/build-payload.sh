#!/usr/bin/env bash
# Build the nested-guest payload: payload.S + payload.ld -> a Multiboot
# ELF32 that QEMU starts with -kernel.  Needs only binutils (as, ld).
#
# Usage: build-payload.sh OUTPUT.elf
set -euo pipefail

if [[ $# -ne 1 || -z $1 ]]; then
	echo "usage: ${0##*/} OUTPUT.elf" >&2
	exit 2
fi
out=$1
src_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

for tool in as ld; do
	if ! command -v "$tool" >/dev/null; then
		echo "${0##*/}: '$tool' not found (install binutils)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

as --32 --fatal-warnings -o "$tmp/payload.o" "$src_dir/payload.S"
# The linker script drops notes; no build-id means none to drop.
ld -m elf_i386 -nostdlib --build-id=none --fatal-warnings \
	-T "$src_dir/payload.ld" -o "$tmp/payload.elf" "$tmp/payload.o"

# Fail here, not in the guest, if the loader would not find the header:
# magic on a 4-byte boundary in the first 8 KiB, magic+flags+checksum == 0.
mapfile -t words < <(od -An -v -tx4 -N 8192 "$tmp/payload.elf" | tr -s ' ' '\n' | sed '/^$/d')
found=
for ((i = 0; i + 2 < ${#words[@]}; i++)); do
	if [[ ${words[i]} == 1badb002 ]]; then
		if (((0x${words[i]} + 0x${words[i + 1]} + 0x${words[i + 2]}) & 0xffffffff)); then
			echo "${0##*/}: bad Multiboot checksum at file offset $((i * 4))" >&2
			exit 1
		fi
		found=$((i * 4))
		break
	fi
done
if [[ -z $found ]]; then
	echo "${0##*/}: no Multiboot header in the first 8 KiB of the ELF" >&2
	exit 1
fi

mv -f -- "$tmp/payload.elf" "$out"
echo "$out"
