"""Boot the nested-guest payload with its RAM in a file on dmemfs and check it.

Runs inside a test VM as root, Python 3 standard library only:

    nested-run.py --mount /mnt/dmemfs --payload /tmp/payload.elf \\
        --token TOKEN --size 64M --timeout 600 --json

1. makes a fresh RAM file <mount>/nested-guest.ram and sizes it with
   ftruncate (the size must be a multiple of the mount's page size),
2. starts QEMU (TCG, or KVM with --accel kvm) with that file as all of
   the guest's RAM (memory-backend-file, share=on, prealloc= of --prealloc) and payload.elf as
   Multiboot kernel; under KVM it samples the VM's statistics in
   /sys/kernel/debug/kvm/PID-FD/ while QEMU runs and reports the most
   guest RAM KVM mapped with 4K, 2M and 1G entries (kvm_pages),
3. expects QEMU to exit with status 99, which the payload sets through
   isa-debug-exit once it has written its record,
4. maps the RAM file and checks the record at offset 0x400000: the magic,
   the token reversed, zeros up to 0x401000 and 2 MiB of xorshift32 words
   seeded from the token (layout in payload.S and README.md),
5. removes the RAM file unless --keep.

--check-only does step 4 alone on an existing file, e.g. one kept with
--keep, to show that another token does not pass.

Prints one JSON object with --json (keys ok, qemu_rc, seconds, file,
file_size, checked_bytes, fstype, accel, prealloc, kvm_pages, reason), a short
report otherwise.
Exit status: 0 when the check passed, 1 when it failed, 2 for bad
arguments or a setup error (nothing was checked).
"""

import argparse
import errno
import glob
import json
import mmap
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import time

MAGIC = b"DMEMFS-NESTED"
RECORD = 0x00400000
PATTERN = RECORD + 0x1000
PATTERN_BYTES = 2 << 20
FNV_BASIS = 0x811C9DC5
FNV_PRIME = 0x01000193
SEED_IF_ZERO = 0x2545F491

TOKEN_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
RAM_FILE = "nested-guest.ram"

# QEMU exit status is (byte written to port 0xf4) << 1 | 1.
EXIT_OK = 99
EXIT_MEANING = {
    0: "QEMU exited normally: the guest reset or shut down without reaching "
       "isa-debug-exit (payload crashed into a triple fault, or is not the "
       "dmemfs nested payload)",
    1: "QEMU failed (bad option, or could not use the RAM file)",
    97: "payload was not started by a Multiboot loader or got no command line",
    101: "payload rejected the token (missing, over 64 bytes, or not [A-Za-z0-9-])",
}

# File offset == guest-physical address for the record: the pc machine maps
# the backend from offset 0 at guest-physical 0, all of it below 3.5 GiB,
# else the first 3 GiB (the rest goes above 4 GiB).  4 MiB is always in
# that low part; checked on tmpfs with sizes from 8M to 6G.
MIN_SIZE = 8 << 20

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class Failure(Exception):
    """The run or the check failed: exit 1, reason in the report."""


class SetupError(Exception):
    """Bad arguments or environment, nothing checked: exit 2."""


def parse_size(text: str, what: str) -> int:
    """Bytes from "64M", "2m", "4096"; K/M/G are powers of 1024."""
    match = re.fullmatch(r"(\d+)([KMG]?)(?:i?B)?", text.strip(), re.IGNORECASE)
    if not match or int(match.group(1)) == 0:
        raise SetupError(f"{what} {text!r}: expected a positive number with an "
                         "optional K, M or G suffix")
    return int(match.group(1)) * UNITS[match.group(2).upper()]


def human(size: int) -> str:
    """Largest unit that divides size exactly, as QEMU accepts it."""
    for unit in ("G", "M", "K"):
        if size % UNITS[unit] == 0:
            return f"{size // UNITS[unit]}{unit}"
    return f"{size}B"


def token_seed(token: str) -> int:
    """FNV-1a-32 of the token, as the payload computes it."""
    value = FNV_BASIS
    for byte in token.encode("ascii"):
        value = ((value ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return value or SEED_IF_ZERO


def expected_pattern(seed: int) -> bytes:
    """The 2 MiB the payload writes at 0x401000: xorshift32 from seed."""
    count = PATTERN_BYTES // 4
    words = [0] * count
    x = seed
    for index in range(count):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        words[index] = x
    return struct.pack(f"<{len(words)}I", *words)


def mount_fstype(path: str) -> str | None:
    """Filesystem type of the mount holding path, from mountinfo."""
    real = os.path.realpath(path)
    best, fstype = "", None
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as mountinfo:
            for line in mountinfo:
                fields = line.split()
                point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)),
                               fields[4])
                inside = real == point or real.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best = point
                    fstype = fields[fields.index("-") + 1]
    except OSError:
        return None
    return fstype


def check_ram_file(path: str, token: str, report: dict) -> None:
    """Check the payload's record in the RAM file; raise Failure if it is wrong.

    Uses a shared read-only mapping of the whole file: dmemfs has no read(),
    and wants offset and length in whole pages, which the file size is.
    """
    report["checked_bytes"] = 0
    try:
        # dmemfs maps only VM_SHARED mappings, which a read-only file
        # descriptor never gets: open read-write, map read-only.
        fd = os.open(path, os.O_RDWR)
    except OSError as err:
        raise Failure(f"cannot open RAM file: {err}") from err
    try:
        size = os.fstat(fd).st_size
        report["file_size"] = size
        if size < PATTERN + PATTERN_BYTES:
            raise Failure(f"RAM file is {size} bytes, too small to hold the "
                          f"record (needs {PATTERN + PATTERN_BYTES:#x})")
        try:
            ram = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        except OSError as err:
            raise Failure(f"cannot map RAM file: {err}") from err
    finally:
        os.close(fd)

    with ram:
        head = ram[RECORD:PATTERN]
        if not head.startswith(MAGIC):
            raise Failure(f"no {MAGIC.decode()} magic at {RECORD:#x} (found "
                          f"{head[:len(MAGIC)]!r}): the payload did not run, or "
                          "its RAM is not this file")
        end = head.find(b"\0", len(MAGIC))
        if end < 0:
            raise Failure(f"record at {RECORD:#x} has no NUL after the token")
        found = head[len(MAGIC):end][::-1]
        if found != token.encode("ascii"):
            raise Failure(f"record is for token {found.decode('ascii', 'replace')!r}, "
                          f"not {token!r}")
        stray = next((i for i in range(end + 1, len(head)) if head[i]), None)
        if stray is not None:
            raise Failure(f"unexpected byte {head[stray]:#04x} at "
                          f"{RECORD + stray:#x}, after the record")
        report["checked_bytes"] = len(head)

        got = ram[PATTERN:PATTERN + PATTERN_BYTES]
    want = expected_pattern(token_seed(token))
    if got != want:
        first = next(i for i in range(0, PATTERN_BYTES, 4)
                     if got[i:i + 4] != want[i:i + 4])
        report["checked_bytes"] += first
        raise Failure(f"pattern differs at {PATTERN + first:#x}: word "
                      f"{int.from_bytes(got[first:first + 4], 'little'):#010x}, "
                      f"expected {int.from_bytes(want[first:first + 4], 'little'):#010x}")
    report["checked_bytes"] += PATTERN_BYTES


def qemu_command(args: argparse.Namespace, path: str, size: int, align: int) -> list[str]:
    """QEMU 7.2 command line: the RAM file is the machine's only memory."""
    return [
        args.qemu,
        "-nodefaults", "-no-user-config",
        "-name", "dmemfs-nested",
        "-accel", args.accel,
        # memory-backend= (QEMU >= 5.0) makes the backend the whole of RAM;
        # -m must then equal its size.
        "-machine", "pc,memory-backend=ram0",
        "-m", human(size),
        # A comma in an option value is written as two.
        "-object", (f"memory-backend-file,id=ram0,mem-path={path.replace(',', ',,')},"
                    f"size={human(size)},align={human(align)},share=on"
                    + f",prealloc={args.prealloc}"),
        "-kernel", args.payload,
        "-append", args.token,
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-display", "none",
        "-no-reboot",
    ]


def tail(data: bytes, limit: int = 800) -> str:
    """End of QEMU's output, for the reason."""
    text = data.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def create_ram_file(path: str, size: int) -> None:
    """Fresh file, so nothing left by an earlier run can pass the check."""
    try:
        if os.path.lexists(path):
            os.unlink(path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        raise SetupError(f"cannot create RAM file {path}: {err}") from err
    try:
        os.ftruncate(fd, size)
    except OSError as err:
        os.unlink(path)
        hint = {
            errno.EINVAL: " (not a multiple of the mount's page size?)",
            errno.ENOSPC: " (not enough dmem left on the mount?)",
        }.get(err.errno, "")
        raise SetupError(f"cannot size RAM file {path} to {human(size)}: "
                         f"{err.strerror}{hint}") from err
    finally:
        os.close(fd)


KVM_DEBUGFS = "/sys/kernel/debug/kvm"
KVM_LEVELS = ("4k", "2m", "1g")


def kvm_pages(pid: int, seen: dict) -> None:
    """Fold the current pages_4k/2m/1g of QEMU pid's VM(s) into seen (maxima)."""
    for vmdir in glob.glob(f"{KVM_DEBUGFS}/{pid}-*"):
        for level in KVM_LEVELS:
            try:
                with open(f"{vmdir}/pages_{level}") as handle:
                    seen[level] = max(seen.get(level, 0), int(handle.read()))
            except (OSError, ValueError):
                pass


def run_qemu(args: argparse.Namespace, path: str, size: int, align: int,
             report: dict) -> None:
    """Boot the payload; raise Failure unless QEMU exits with EXIT_OK."""
    cmd = qemu_command(args, path, size, align)
    start = time.monotonic()
    seen: dict = {}
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    except OSError as err:
        raise SetupError(f"cannot start {args.qemu}: {err}") from err
    # KVM's per-VM statistics exist only while the VM does: sample them
    # until QEMU exits (the payload runs for about a second).
    while args.accel == "kvm" and proc.poll() is None \
            and time.monotonic() - start < args.timeout:
        kvm_pages(proc.pid, seen)
        time.sleep(0.01)
    try:
        out, err_out = proc.communicate(timeout=max(1, args.timeout - (time.monotonic() - start)))
    except subprocess.TimeoutExpired as err:
        proc.kill()
        out, err_out = proc.communicate()
        report["seconds"] = round(time.monotonic() - start, 3)
        raise Failure(f"QEMU did not exit within {args.timeout} s and was killed "
                      "(payload hung, or no isa-debug-exit device)"
                      + (f"; QEMU said: {tail(err_out)}" if err_out else "")) from err
    if args.accel == "kvm":
        report["kvm_pages"] = {level: seen.get(level, 0) for level in KVM_LEVELS}
    report["seconds"] = round(time.monotonic() - start, 3)
    report["qemu_rc"] = proc.returncode
    if proc.returncode != EXIT_OK:
        meaning = EXIT_MEANING.get(proc.returncode, "unexpected status")
        output = tail(err_out + out)
        raise Failure(f"QEMU exited with {proc.returncode}, not {EXIT_OK}: {meaning}"
                      + (f"; QEMU said: {output}" if output else ""))


def validate(args: argparse.Namespace) -> tuple[str, int, int]:
    """Check the arguments; return the RAM file path, size and alignment."""
    if not TOKEN_RE.fullmatch(args.token):
        raise SetupError(f"token {args.token!r}: must be 1 to 64 characters "
                         "from A-Z, a-z, 0-9 and '-'")
    if args.file:
        path = args.file
    elif args.mount:
        path = os.path.join(args.mount, RAM_FILE)
    else:
        raise SetupError("give --mount (or --file)")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise SetupError(f"{directory} is not a directory (dmemfs not mounted?)")
    if args.fstype:
        fstype = mount_fstype(directory)
        if fstype != args.fstype:
            raise SetupError(f"{directory} is on {fstype or 'an unknown filesystem'}, "
                             f"not {args.fstype}")
    if args.check_only:
        return path, 0, 0

    size = parse_size(args.size, "--size")
    align = parse_size(args.align, "--align")
    if align < 4096 or align & (align - 1):
        raise SetupError(f"--align {args.align}: must be a power of two, at least 4K")
    if size % align:
        raise SetupError(f"--size {args.size} is not a multiple of --align {args.align}")
    if size < MIN_SIZE:
        raise SetupError(f"--size {args.size}: must be at least {human(MIN_SIZE)}, "
                         f"the record ends at {PATTERN + PATTERN_BYTES:#x}")
    # dmemfs reports its page size as block size; files and mappings must be
    # made of whole pages, so both size and QEMU's mapping alignment must be.
    page = os.statvfs(directory).f_bsize
    for name, value in (("--size", size), ("--align", align)):
        if value % page:
            raise SetupError(f"{name} {human(value)} is not a multiple of the page "
                             f"size of {directory}, {human(page)}")
    if not os.path.isfile(args.payload):
        raise SetupError(f"payload {args.payload} not found (build-payload.sh makes it)")
    qemu = shutil.which(args.qemu)
    if not qemu:
        raise SetupError(f"{args.qemu} not found (Debian: apt-get install qemu-system-x86)")
    args.qemu = qemu
    if args.accel == "kvm" and not os.path.exists("/dev/kvm"):
        raise SetupError("--accel kvm: /dev/kvm does not exist (no KVM in this kernel, "
                         "or the CPU has no SVM/VMX)")
    return path, size, align


def remove_ram_file(path: str) -> str | None:
    """Remove the RAM file (on dmemfs this gives its memory back)."""
    try:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        return f"could not remove {path}: {err}"
    return None


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command line; only what argparse can check is checked here."""
    parser = argparse.ArgumentParser(
        description="Boot the nested payload with its RAM in a file on a "
                    "dmemfs (or tmpfs) mount and check what it wrote.")
    parser.add_argument("--mount", help="directory for the RAM file (the dmemfs mount)")
    parser.add_argument("--file", help=f"RAM file (default: MOUNT/{RAM_FILE})")
    parser.add_argument("--payload", help="payload.elf from build-payload.sh")
    parser.add_argument("--token", required=True,
                        help="1-64 characters of [A-Za-z0-9-] for the payload")
    parser.add_argument("--size", default="64M", help="guest RAM size (default 64M)")
    parser.add_argument("--align", default="2M",
                        help="mapping alignment, a multiple of the mount's page "
                             "size (default 2M)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds to wait for QEMU (default 600)")
    parser.add_argument("--qemu", default="qemu-system-x86_64", help="QEMU binary")
    parser.add_argument("--accel", choices=("tcg", "kvm"), default="tcg",
                        help="QEMU accelerator (default tcg); kvm needs /dev/kvm")
    parser.add_argument("--prealloc", choices=("on", "off"), default="off",
                        help="the backend's prealloc=: on, QEMU populates all guest RAM before the "
                        "guest starts (default off)")
    parser.add_argument("--fstype", help="fail unless the RAM file's mount is of "
                        "this type, e.g. dmemfs")
    parser.add_argument("--keep", action="store_true", help="keep the RAM file")
    parser.add_argument("--check-only", action="store_true",
                        help="only check an existing RAM file, do not run QEMU "
                             "(the file is never removed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not args.check_only and not args.payload:
        parser.error("--payload is required unless --check-only")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def print_report(report: dict, as_json: bool) -> None:
    """One JSON line for Ansible, or a few lines for a person."""
    if as_json:
        print(json.dumps(report, sort_keys=True))
        return
    print(f"{'PASS' if report['ok'] else 'FAIL'}: {report['reason']}")
    for key in ("file", "file_size", "fstype", "qemu_rc", "seconds", "checked_bytes"):
        print(f"  {key}: {report[key]}")


def main(argv: list[str]) -> int:
    """Run and check (or only check); return the exit status."""
    args = parse_args(argv)
    report = {"ok": False, "qemu_rc": None, "seconds": None, "file": args.file,
              "file_size": None, "checked_bytes": 0, "fstype": None, "reason": "",
              "accel": args.accel, "prealloc": args.prealloc == "on", "kvm_pages": None}
    status = 1
    created = False
    try:
        path, size, align = validate(args)
        report["file"] = path
        report["fstype"] = mount_fstype(os.path.dirname(os.path.abspath(path)))
        if args.check_only:
            if not os.path.isfile(path):
                raise SetupError(f"{path} does not exist (run with --keep first)")
        else:
            create_ram_file(path, size)
            created = True
            report["file_size"] = size
            run_qemu(args, path, size, align, report)
        check_ram_file(path, args.token, report)
        report["ok"] = True
        report["reason"] = (f"record for token {args.token!r} found; "
                            f"{report['checked_bytes']} bytes match")
        status = 0
    except Failure as err:
        report["reason"] = str(err)
    except SetupError as err:
        report["reason"] = str(err)
        status = 2
    finally:
        if created and not args.keep:
            problem = remove_ram_file(report["file"])
            if problem:
                report["reason"] += f"; {problem}"
                print(problem, file=sys.stderr)
    print_report(report, args.json)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
