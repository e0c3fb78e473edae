"""Start, check and stop a small fleet of QEMU (TCG) VMs for dmemfs.fleet.

Each VM is a copy-on-write qcow2 overlay on the cached base image that
build-image.sh makes, boots through the guest's own GRUB, and gets:

* vCPUs, memory and a NUMA layout from its platform entry,
* a virtio-blk root disk (/dev/vda) and a tiny read-only virtio-blk "seed"
  disk (serial fleet-seed, a tar archive with hostname and authorized_keys
  that fleet-seed.service applies on every boot),
* virtio-net with QEMU user networking and SSH forwarded from a free port on
  127.0.0.1 (only loopback is ever used),
* an i6300esb hardware watchdog (QEMU resets the VM when it expires, as a
  server's iTCO or IPMI watchdog would),
* optional extra blank disks (``disks``, e.g. a physical volume for LVM),
* a QMP socket, so ``reset`` can power-cycle a VM the way a BMC would,
* its serial console written to <fleet-dir>/<name>.console.log, kept after
  the VM is gone.

Sub-commands (all print a JSON summary on stdout):

  up      start what is not running (idempotent), wait for SSH, write
          state.json and optionally a Molecule instance config and/or an
          Ansible inventory
  down    stop exactly the VMs recorded in state.json (by pid, after checking
          the pid still is that QEMU), remove overlays, seeds, key and state
  status  report each recorded VM: running or not, port, console log
  reset   hard-reset the named VMs through QMP (``system_reset``): the
          power-cycle hook of the test fleet

A platform entry (JSON or YAML list, e.g. Molecule's ``platforms``)::

  - name: vm2
    cpus: 2                 # vCPUs
    memory: 2560            # MiB (int) or "2560M" / "2.5G"; optional with numa
    numa:                   # optional; default: one node with all memory/CPUs
      - {memory: 1536, cpus: "0"}
      - {memory: 1024}      # no cpus: a memory-only node (CXL, HBM)
    disks: [256, 256]       # optional; extra blank virtio disks, MiB each

Only the Python standard library is needed (PyYAML for a YAML spec file).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD_IMAGE = HERE / "build-image.sh"
LOGIN_USER = "fleet"
SSH_OPTIONS = [
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=10",
]
CONSOLE_TAIL_LINES = 40


class FleetError(Exception):
    """A failure to report to the caller (exit status 1, message on stderr)."""


def log(msg: str) -> None:
    print(f"fleet: {msg}", file=sys.stderr, flush=True)


def default_cache_dir() -> Path:
    env = os.environ.get("DMEMFS_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "dmemfs-fleet"


# --------------------------------------------------------------------------
# platform specs


def parse_mib(value: object, what: str) -> int:
    """Memory size in MiB from an int (MiB) or a string like 1536M, 1.5G, 2GiB."""
    if isinstance(value, bool):
        raise FleetError(f"{what}: not a size: {value!r}")
    if isinstance(value, int):
        mib = value
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([MmGg])?(?:i?[Bb])?\s*", str(value))
        if not m:
            raise FleetError(f"{what}: not a size: {value!r}")
        number = float(m.group(1))
        unit = (m.group(2) or "M").upper()
        mib_f = number * (1024 if unit == "G" else 1)
        if mib_f != int(mib_f):
            raise FleetError(f"{what}: {value!r} is not a whole number of MiB")
        mib = int(mib_f)
    if mib < 128:
        raise FleetError(f"{what}: {mib} MiB is too small for a guest (>= 128)")
    return mib


def parse_cpu_list(value: object, what: str) -> list[int]:
    """CPU indexes from "0-1,3", [0, 1] or 2."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list):
        out: list[int] = []
        for item in value:
            out.extend(parse_cpu_list(item, what))
        return out
    cpus: list[int] = []
    for part in str(value).split(","):
        part = part.strip()
        m = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", part)
        if not m:
            raise FleetError(f"{what}: bad CPU list {value!r}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if hi < lo:
            raise FleetError(f"{what}: bad CPU range {part!r}")
        cpus.extend(range(lo, hi + 1))
    return cpus


def normalise(platform: dict) -> dict:
    """Check one platform entry and return the fields that shape the VM."""
    name = platform.get("name")
    if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", str(name)):
        raise FleetError(f"platform name {name!r}: use letters, digits, '.', '_', '-'")
    cpus = int(platform.get("cpus", 1))
    if not 1 <= cpus <= 8:
        raise FleetError(f"{name}: cpus must be 1..8 (TCG), not {cpus}")
    nodes_in = platform.get("numa")
    nodes: list[dict] = []
    if nodes_in:
        seen: set[int] = set()
        for i, node in enumerate(nodes_in):
            where = f"{name}: numa[{i}]"
            mem = parse_mib(node.get("memory"), f"{where}.memory")
            # a node without cpus is memory-only, as a CXL expander's
            node_cpus = parse_cpu_list(node.get("cpus", []), f"{where}.cpus")
            for c in node_cpus:
                if c >= cpus or c in seen:
                    raise FleetError(f"{where}: CPU {c} out of range or in two nodes")
                seen.add(c)
            nodes.append({"memory": mem, "cpus": sorted(node_cpus)})
        if len(seen) != cpus:
            raise FleetError(f"{name}: every vCPU 0..{cpus - 1} must be in one NUMA node")
        total = sum(n["memory"] for n in nodes)
        if "memory" in platform and parse_mib(platform["memory"], f"{name}.memory") != total:
            raise FleetError(f"{name}: memory {platform['memory']} != sum of NUMA nodes ({total} MiB)")
    else:
        total = parse_mib(platform.get("memory", 1024), f"{name}.memory")
        nodes.append({"memory": total, "cpus": list(range(cpus))})
    disks = [parse_mib(d, f"{name}: disks[{i}]") for i, d in enumerate(platform.get("disks") or [])]
    if len(disks) > 4:
        raise FleetError(f"{name}: at most 4 extra disks, not {len(disks)}")
    return {"name": str(name), "cpus": cpus, "memory": total, "numa": nodes, "disks": disks}


def load_spec(args: argparse.Namespace) -> list[dict]:
    if args.spec_json is not None:
        raw = json.loads(args.spec_json)
    elif args.spec:
        text = Path(args.spec).read_text(encoding="utf-8")
        try:
            raw = json.loads(text)
        except json.JSONDecodeError:
            try:
                import yaml  # noqa: PLC0415 (optional dependency)
            except ImportError as exc:
                raise FleetError("a YAML spec needs PyYAML (use the project venv)") from exc
            raw = yaml.safe_load(text)
    else:
        raise FleetError("give --spec FILE or --spec-json JSON")
    if isinstance(raw, dict) and "platforms" in raw:
        raw = raw["platforms"]
    if not isinstance(raw, list) or not raw:
        raise FleetError("the spec must be a non-empty list of platforms")
    vms = [normalise(p) for p in raw]
    names = [v["name"] for v in vms]
    if len(set(names)) != len(names):
        raise FleetError(f"duplicate VM names in {names}")
    return vms


# --------------------------------------------------------------------------
# state


class Fleet:
    def __init__(self, fleet_dir: Path) -> None:
        self.dir = fleet_dir.resolve()
        self.state_file = self.dir / "state.json"
        self.key = self.dir / "id_ed25519"

    def load(self) -> dict:
        if self.state_file.exists():
            return json.loads(self.state_file.read_text(encoding="utf-8"))
        return {"vms": {}}

    def save(self, state: dict) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.state_file)

    def path(self, name: str, suffix: str) -> Path:
        return self.dir / f"{name}.{suffix}"


def qemu_alive(pid: int | None, overlay: str) -> bool:
    """True if pid runs and is the QEMU that uses this overlay (no pid reuse)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if not cmdline or b"qemu-system" not in cmdline[0]:
        return False
    return any(overlay.encode() in arg for arg in cmdline)


def console_tail(path: str | Path, lines: int = CONSOLE_TAIL_LINES) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return "(no console log)"
    text = data.decode("utf-8", "replace").replace("\r", "")
    # drop terminal escape sequences that GRUB and systemd emit
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[=>]", "", text)
    return "\n".join(text.splitlines()[-lines:])


def free_port(exclude: set[int]) -> int:
    for _try in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in exclude:
            return port
    raise FleetError("no free TCP port on 127.0.0.1")


def ensure_image(image: str | None) -> Path:
    if image:
        path = Path(image).resolve()
        if not path.is_file():
            raise FleetError(f"base image {path} does not exist")
        return path
    log("base image: running build-image.sh (cached after the first time)")
    out = subprocess.run([str(BUILD_IMAGE)], check=False, stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise FleetError("build-image.sh failed")
    return Path(out.stdout.strip().splitlines()[-1])


def ensure_key(fleet: Fleet) -> None:
    if fleet.key.exists() and fleet.key.with_suffix(".pub").exists():
        return
    for p in (fleet.key, fleet.key.with_suffix(".pub")):
        p.unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"dmemfs-fleet@{fleet.dir.name}",
         "-f", str(fleet.key)],
        check=True,
    )


def write_seed(fleet: Fleet, vm: dict) -> Path:
    """Seed disk: an uncompressed tar (whole 512-byte sectors) read by fleet-seed."""
    seed = fleet.path(vm["name"], "seed.tar")
    files = {
        "hostname": (vm["name"] + "\n").encode(),
        "authorized_keys": fleet.key.with_suffix(".pub").read_bytes(),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for fname, data in files.items():
            info = tarfile.TarInfo(fname)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    seed.write_bytes(buf.getvalue())
    return seed


def qemu_command(vm: dict, overlay: Path, seed: Path, console: Path, pidfile: Path,
                 port: int, qmp: Path, disks: list[Path]) -> list[str]:
    cmd = [
        "qemu-system-x86_64",
        "-nodefaults",
        "-name", f"{vm['name']},process=fleet-{vm['name']}",
        # One host thread per VM: with multi-threaded TCG a vCPU can run a
        # stale translation of kernel text another vCPU just patched (seen as
        # "Oops: int3" in sched_clock_cpu while static keys flip at boot).
        "-accel", "tcg,thread=single",
        "-machine", "q35",
        "-cpu", "max",
        "-smp", str(vm["cpus"]),
        "-m", f"{vm['memory']}M",
    ]
    for i, node in enumerate(vm["numa"]):
        cpu_args = "".join(f",cpus={c}" for c in node["cpus"])
        cmd += [
            "-object", f"memory-backend-ram,id=m{i},size={node['memory']}M",
            "-numa", f"node,nodeid={i},memdev=m{i}{cpu_args}",
        ]
    cmd += [
        # /dev/vda: the root disk (first virtio-blk device)
        "-drive", f"file={overlay},format=qcow2,if=none,id=root,cache=unsafe,discard=unmap",
        "-device", "virtio-blk-pci,drive=root,bootindex=0",
        # /dev/vdb: read-only seed (hostname, SSH key)
        "-drive", f"file={seed},format=raw,if=none,id=seed,readonly=on",
        "-device", "virtio-blk-pci,drive=seed,serial=fleet-seed",
    ]
    for i, disk in enumerate(disks):
        # /dev/vdc, /dev/vdd, ...: blank disks, serial fleet-disk<i>
        cmd += [
            "-drive", f"file={disk},format=raw,if=none,id=disk{i},cache=unsafe",
            "-device", f"virtio-blk-pci,drive=disk{i},serial=fleet-disk{i}",
        ]
    cmd += [
        "-netdev", f"user,id=net0,hostname={vm['name']},hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device", "virtio-net-pci,netdev=net0",
        "-device", "virtio-rng-pci",
        # a hardware watchdog: when it expires QEMU resets the VM
        "-device", "i6300esb",
        "-action", "watchdog=reset",
        "-display", "none",
        "-monitor", "none",
        "-qmp", f"unix:{qmp},server=on,wait=off",
        "-serial", f"file:{console}",
        "-pidfile", str(pidfile),
        "-daemonize",
    ]
    return cmd


def start_vm(fleet: Fleet, vm: dict, image: Path, used_ports: set[int], *,
             fresh: bool) -> dict:
    name = vm["name"]
    overlay = fleet.path(name, "qcow2")
    console = fleet.path(name, "console.log")
    pidfile = fleet.path(name, "pid")
    qmp = fleet.path(name, "qmp")
    disks = [fleet.path(name, f"disk{i}.raw") for i in range(len(vm["disks"]))]
    if fresh or not overlay.exists():
        overlay.unlink(missing_ok=True)
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(image),
             str(overlay)],
            check=True,
        )
        for disk, mib in zip(disks, vm["disks"]):
            disk.unlink(missing_ok=True)
            with open(disk, "wb") as handle:
                handle.truncate(mib << 20)
    seed = write_seed(fleet, vm)
    if console.exists() and console.stat().st_size:
        console.replace(fleet.path(name, "console.log.prev"))
    last_err = ""
    for _attempt in range(5):
        port = free_port(used_ports)
        pidfile.unlink(missing_ok=True)
        cmd = qemu_command(vm, overlay, seed, console, pidfile, port, qmp, disks)
        res = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if res.returncode == 0:
            pid = int(pidfile.read_text().strip())
            used_ports.add(port)
            log(f"{name}: started pid {pid}, ssh 127.0.0.1:{port}, console {console}")
            return {
                "spec": vm, "pid": pid, "port": port, "overlay": str(overlay),
                "seed": str(seed), "console": str(console), "image": str(image),
                "qmp": str(qmp), "disks": [str(d) for d in disks],
                "started": time.time(), "command": cmd,
            }
        last_err = res.stderr.strip()
        if "host forwarding" not in last_err:
            break
        used_ports.add(port)
    raise FleetError(f"{name}: QEMU did not start: {last_err}")


def ssh_ready(fleet: Fleet, port: int) -> bool:
    cmd = ["ssh", *SSH_OPTIONS, "-i", str(fleet.key), "-p", str(port),
           f"{LOGIN_USER}@127.0.0.1", "true"]
    try:
        return subprocess.run(cmd, check=False, capture_output=True, timeout=60).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def wait_ssh(fleet: Fleet, state: dict, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(names)
    while pending:
        for name in list(pending):
            rec = state["vms"][name]
            if not qemu_alive(rec["pid"], rec["overlay"]):
                raise FleetError(
                    f"{name}: QEMU (pid {rec['pid']}) died while booting; "
                    f"console {rec['console']} ends with:\n{console_tail(rec['console'])}")
            if ssh_ready(fleet, rec["port"]):
                rec.setdefault("ssh_ready_after_s", round(time.time() - rec["started"], 1))
                log(f"{name}: SSH up after {rec['ssh_ready_after_s']} s")
                pending.remove(name)
        if not pending:
            break
        if time.monotonic() > deadline:
            tails = "\n".join(
                f"--- {n}: {state['vms'][n]['console']}\n{console_tail(state['vms'][n]['console'])}"
                for n in pending)
            raise FleetError(f"no SSH within {timeout:.0f} s from {pending}\n{tails}")
        time.sleep(3)


# --------------------------------------------------------------------------
# outputs


def instance_config(fleet: Fleet, state: dict) -> list[dict]:
    return [
        {
            "instance": name,
            "address": "127.0.0.1",
            "user": LOGIN_USER,
            "port": rec["port"],
            "identity_file": str(fleet.key),
            "become_method": "sudo",
        }
        for name, rec in sorted(state["vms"].items())
    ]


def inventory_yaml(fleet: Fleet, state: dict, group: str) -> str:
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    lines = [
        "---",
        "# Generated by tools/vm/fleet.py up; do not edit (fleet dir: " + str(fleet.dir) + ").",
        "all:",
        "  children:",
        f"    {group}:",
        "      vars:",
        "        ansible_host: 127.0.0.1",
        f"        ansible_user: {LOGIN_USER}",
        f"        ansible_ssh_private_key_file: {q(str(fleet.key))}",
        "        ansible_ssh_common_args: "
        # QEMU's user network keeps the host side of a connection open when
        # the guest reboots: keepalives let ssh notice within 30 s.
        + q("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
            " -o ServerAliveInterval=5 -o ServerAliveCountMax=6"),
        "        ansible_python_interpreter: /usr/bin/python3",
        "      hosts:",
    ]
    for name, rec in sorted(state["vms"].items()):
        spec = rec["spec"]
        lines += [
            f"        {name}:",
            f"          ansible_port: {rec['port']}",
            f"          fleet_vm_cpus: {spec['cpus']}",
            f"          fleet_vm_memory_mib: {spec['memory']}",
            f"          fleet_vm_numa_mib: {q([n['memory'] for n in spec['numa']])}",
            f"          fleet_vm_console_log: {q(rec['console'])}",
        ]
    return "\n".join(lines) + "\n"


def summary(fleet: Fleet, state: dict) -> dict:
    out = {"fleet_dir": str(fleet.dir), "key": str(fleet.key), "vms": {}}
    for name, rec in sorted(state["vms"].items()):
        out["vms"][name] = {
            "running": qemu_alive(rec.get("pid"), rec.get("overlay", "")),
            "pid": rec.get("pid"),
            "port": rec.get("port"),
            "console": rec.get("console"),
            "cpus": rec["spec"]["cpus"],
            "memory_mib": rec["spec"]["memory"],
            "numa_mib": [n["memory"] for n in rec["spec"]["numa"]],
            "action": rec.get("action"),
            "ssh_ready_after_s": rec.get("ssh_ready_after_s"),
        }
        if rec.get("died"):
            out["vms"][name]["died"] = rec["died"]
    return out


def write_file(path: str, text: str) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)


# --------------------------------------------------------------------------
# commands


def stop_vm(rec: dict, name: str) -> str:
    pid, overlay = rec.get("pid"), rec.get("overlay", "")
    if not qemu_alive(pid, overlay):
        return "not running"
    os.kill(pid, signal.SIGTERM)
    for _tick in range(100):
        if not qemu_alive(pid, overlay):
            return f"stopped pid {pid}"
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    for _tick in range(50):
        if not qemu_alive(pid, overlay):
            return f"killed pid {pid}"
        time.sleep(0.1)
    raise FleetError(f"{name}: pid {pid} does not die")


def cmd_up(args: argparse.Namespace) -> dict:
    fleet = Fleet(Path(args.fleet_dir))
    fleet.dir.mkdir(parents=True, exist_ok=True)
    vms = load_spec(args)
    image = ensure_image(args.image)
    ensure_key(fleet)
    state = fleet.load()
    wanted = {vm["name"] for vm in vms}
    for name in sorted(set(state["vms"]) - wanted):
        log(f"{name}: not in the spec any more: {stop_vm(state['vms'][name], name)}")
        old = state["vms"][name]
        for path in [old.get("overlay"), old.get("seed"), old.get("qmp"), *old.get("disks", [])]:
            if path:
                Path(path).unlink(missing_ok=True)
        del state["vms"][name]
    used_ports = {rec["port"] for rec in state["vms"].values()}
    for vm in vms:
        name = vm["name"]
        rec = state["vms"].get(name)
        if rec and qemu_alive(rec["pid"], rec["overlay"]):
            if rec["spec"] == vm and rec["image"] == str(image):
                rec["action"] = "already running"
                rec.pop("died", None)
                log(f"{name}: already running (pid {rec['pid']}, port {rec['port']})")
                continue
            log(f"{name}: spec or image changed, recreating: {stop_vm(rec, name)}")
            used_ports.discard(rec["port"])
            rec = None
        if rec:
            # recorded but dead: say why, then boot it again on the same disk
            tail = console_tail(rec["console"])
            log(f"{name}: QEMU pid {rec['pid']} is gone; console {rec['console']} ends with:\n{tail}")
            used_ports.discard(rec["port"])
            same = rec["spec"] == vm and rec["image"] == str(image)
            new = start_vm(fleet, vm, image, used_ports, fresh=not same)
            new["action"] = "restarted after it died"
            new["died"] = {"pid": rec["pid"], "console": rec["console"] + ".prev", "console_tail": tail}
        else:
            new = start_vm(fleet, vm, image, used_ports, fresh=True)
            new["action"] = "created"
        state["vms"][name] = new
        fleet.save(state)
    fleet.save(state)
    if not args.no_wait:
        wait_ssh(fleet, state, [vm["name"] for vm in vms], args.timeout)
        fleet.save(state)
    if args.instance_config:
        write_file(args.instance_config, json.dumps(instance_config(fleet, state), indent=2) + "\n")
    if args.inventory:
        write_file(args.inventory, inventory_yaml(fleet, state, args.group))
    return summary(fleet, state)


def cmd_down(args: argparse.Namespace) -> dict:
    fleet = Fleet(Path(args.fleet_dir))
    if not fleet.state_file.exists():
        result = {"fleet_dir": str(fleet.dir), "vms": {}, "changed": False}
    else:
        state = fleet.load()
        result = {"fleet_dir": str(fleet.dir), "vms": {}, "changed": True}
        for name, rec in sorted(state["vms"].items()):
            what = stop_vm(rec, name)
            for path in [rec.get("overlay"), rec.get("seed"), rec.get("qmp"), *rec.get("disks", [])]:
                if path:
                    Path(path).unlink(missing_ok=True)
            fleet.path(name, "pid").unlink(missing_ok=True)
            result["vms"][name] = {"stopped": what, "console": rec.get("console")}
            log(f"{name}: {what}; overlay removed; console log kept at {rec.get('console')}")
        fleet.state_file.unlink()
        for p in (fleet.key, fleet.key.with_suffix(".pub")):
            p.unlink(missing_ok=True)
    if args.inventory and Path(args.inventory).exists():
        Path(args.inventory).unlink()
        result["changed"] = True
    return result


def cmd_status(args: argparse.Namespace) -> dict:
    fleet = Fleet(Path(args.fleet_dir))
    return summary(fleet, fleet.load())


def qmp_command(socket_path: str, command: str) -> dict:
    """One QMP command on a VM's socket: greeting, capabilities, command."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(socket_path)
        stream = sock.makefile("rw", encoding="utf-8")

        def reply() -> dict:
            while True:
                message = json.loads(stream.readline())
                if "event" not in message:
                    return message

        reply()
        for execute in ("qmp_capabilities", command):
            stream.write(json.dumps({"execute": execute}) + "\n")
            stream.flush()
            answer = reply()
            if "error" in answer:
                raise FleetError(f"QMP {execute}: {answer['error']}")
        return answer


def cmd_reset(args: argparse.Namespace) -> dict:
    fleet = Fleet(Path(args.fleet_dir))
    state = fleet.load()
    result = {"fleet_dir": str(fleet.dir), "vms": {}, "changed": False}
    for name in args.names:
        rec = state["vms"].get(name)
        if rec is None:
            raise FleetError(f"{name}: no such VM in {fleet.state_file}")
        if not qemu_alive(rec.get("pid"), rec.get("overlay", "")):
            raise FleetError(f"{name}: QEMU is not running")
        qmp_command(rec["qmp"], "system_reset")
        log(f"{name}: reset through QMP (power cycle)")
        result["vms"][name] = {"reset": True}
        result["changed"] = True
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down", "status", "reset"):
        p = sub.add_parser(name)
        p.add_argument("--fleet-dir", required=True,
                       help="directory for state, key, overlays and console logs")
        if name == "reset":
            p.add_argument("names", nargs="+", help="VMs to reset")
        elif name != "status":
            p.add_argument("--inventory", help="Ansible YAML inventory to write (up) / remove (down)")
        if name == "up":
            p.add_argument("--spec", help="JSON or YAML file: list of platforms")
            p.add_argument("--spec-json", help="the platform list as a JSON string")
            p.add_argument("--image", help="base qcow2 (default: build-image.sh output)")
            p.add_argument("--instance-config", help="Molecule instance config file to write")
            p.add_argument("--group", default="dmemfs_fleet", help="inventory group name")
            p.add_argument("--timeout", type=float, default=900, help="seconds to wait for SSH")
            p.add_argument("--no-wait", action="store_true", help="do not wait for SSH")
    args = parser.parse_args(argv)
    func = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "reset": cmd_reset}[args.command]
    try:
        result = func(args)
    except (FleetError, subprocess.CalledProcessError, OSError, ValueError) as exc:
        log(f"ERROR: {exc}")
        return 1
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
