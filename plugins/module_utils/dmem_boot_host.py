# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a host's boot state: the ``boot`` section of dmem_facts.

Read-only, below a ``root`` like dmem_host (captured trees stand in for a
live host). What the collection makes of it comes from dmem_boot_model, so
the facts and the writing module (dmem_boot) see the same thing. Commands
(grub-probe) run only through the ``run`` callback the caller gives, and only
on a live host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import struct

from ansible_collections.dmemfs.fleet.plugins.module_utils import dmem_boot_model as model
from ansible_collections.dmemfs.fleet.plugins.module_utils import dmem_modules
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_bootloader import (
    grub_default_of, grubenv_parse)

RECORD = '/var/lib/dmemfs-fleet/boot.json'
SCRIPT = '/etc/grub.d/09_dmemfs_fleet'
DRAINED = '/var/lib/dmemfs-fleet/drained'
# The trial guard as the dmem_boot role installs it (the unit names this path).
GUARD_SCRIPT = '/usr/local/libexec/dmemfs-fleet/trial-guard'
GUARD_UNIT = '/etc/systemd/system/dmemfs-trial-guard.service'
GUARD_WANTS = '/etc/systemd/system/sysinit.target.wants/dmemfs-trial-guard.service'
GRUB_CFG = '/boot/grub/grub.cfg'
GRUBENV = '/boot/grub/grubenv'
GRUB_DEFAULTS = '/etc/default/grub'
SECURE_BOOT_VAR = 'sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c'

# First bytes of an initramfs: cpio (newc, crc) or a compressor GRUB's linux loader passes on.
_INITRD_MAGIC = (b'070701', b'070702', b'\x1f\x8b', b'\xfd7zXZ', b'\x28\xb5\x2f\xfd', b'\x02\x21\x4c\x18',
                 b'BZh', b'\x89LZO', b']\x00\x00')


def kernel_image_problem(head, size):
    """Why GRUB could not load an x86 bzImage with this header (first 1 KiB) and size, '' when it can."""
    if len(head) < 0x260:
        return 'shorter than a boot header (%d bytes)' % size
    if head[0x202:0x206] != b'HdrS':
        return 'no Linux boot header (no HdrS magic at 0x202)'
    setup_sects = head[0x1f1] or 4
    syssize = struct.unpack('<I', head[0x1f4:0x1f8])[0]
    want = (setup_sects + 1) * 512 + syssize * 16
    if size < want:
        return 'truncated: %d bytes, its boot header says %d' % (size, want)
    return ''


def initrd_problem(head, size):
    if size == 0:
        return 'empty'
    if not any(head.startswith(magic) for magic in _INITRD_MAGIC):
        return 'not a cpio archive or a compressed one (first bytes %r)' % head[:6]
    return ''


def _head(path, count=1024):
    try:
        with open(path, 'rb') as handle:
            return handle.read(count), os.fstat(handle.fileno()).st_size, None
    except (IOError, OSError) as exc:
        return b'', 0, str(exc)


def _md5(path):
    digest = hashlib.md5()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def package_md5(tree, rel):
    """The md5 dpkg recorded for a file (rel without the leading /), None when no package lists it."""
    for name in tree.listdir('var/lib/dpkg/info'):
        if not name.endswith('.md5sums') or not name.startswith('linux-image'):
            continue
        for line in (tree.read('var/lib/dpkg/info/' + name) or '').splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[1].strip() == rel:
                return parts[0]
    return None


def _device_modules(tree, path, depth=0):
    """Driver modules of a sysfs device and of every device above it (the disk's and its controller's)."""
    found = set()
    sys_devices = os.path.realpath(tree.path('sys/devices'))
    real = os.path.realpath(path)
    while depth < 64 and real.startswith(sys_devices + os.sep):
        module = os.path.join(real, 'driver', 'module')
        if os.path.islink(module):
            found.add(dmem_modules.norm(os.path.basename(os.readlink(module))))
        real = os.path.dirname(real)
        depth += 1
    return found


def _block_modules(tree, devnum, depth=0):
    """Driver modules under a block device (MAJOR:MINOR): its disk's, its controller's, a dm/md device's slaves'."""
    if not devnum or depth > 8:
        return set()
    real = os.path.realpath(tree.path('sys/dev/block/' + devnum))
    if os.path.exists(os.path.join(real, 'partition')):
        real = os.path.dirname(real)
    found = _device_modules(tree, os.path.join(real, 'device'))
    slaves = os.path.join(real, 'slaves')
    for slave in (os.listdir(slaves) if os.path.isdir(slaves) else []):
        dev = tree.read('sys/class/block/%s/dev' % slave)
        if dev:
            found |= _block_modules(tree, dev.strip(), depth + 1)
    return found


def _net_modules(tree, dev, depth=0):
    """Driver modules of a NIC, and of the ports of a bridge, bond or VLAN it is made of."""
    if not dev or depth > 8:
        return set()
    base = 'sys/class/net/' + dev
    found = _device_modules(tree, os.path.join(tree.path(base), 'device'))
    lower = [name[len('lower_'):] for name in tree.listdir(base) if name.startswith('lower_')]
    for port in lower + tree.listdir(base + '/brif'):
        found |= _net_modules(tree, port, depth + 1)
    return found


def modules_needed(tree):
    """What the running boot uses: loaded modules, and the drivers of the root disk and the default route's NIC."""
    nic = dmem_modules.default_route_dev(tree.read('proc/net/route'))
    disk = sorted(_block_modules(tree, dmem_modules.mount_dev(tree.read('proc/self/mountinfo'), '/')))
    net = sorted(_net_modules(tree, nic))
    loaded = dmem_modules.loaded(tree.read('proc/modules'))
    return dict(loaded=sorted(loaded), root_disk=disk, default_route=nic, default_route_nic=net,
                all=sorted(loaded | set(disk) | set(net)))


def release_modules(tree, release):
    """The modules a release provides (built in or shipped), None when its /lib/modules is not there."""
    base = 'lib/modules/%s/' % release
    return dmem_modules.provided(tree.read(base + 'modules.builtin'), tree.read(base + 'modules.dep'))


def kernels(tree, needed=None):
    """Every kernel in /boot with whether GRUB could load its image and initrd, and the needed modules it lacks."""
    out = []
    for name in tree.listdir('boot'):
        if not name.startswith('vmlinuz-'):
            continue
        release = name[len('vmlinuz-'):]
        image = tree.path('boot/' + name)
        head, size, err = _head(image)
        problem = ('unreadable: %s' % err) if err else kernel_image_problem(head, size)
        if not problem:
            want = package_md5(tree, 'boot/' + name)
            if want and _md5(image) != want:
                problem = 'differs from its package (md5 %s expected): reinstall the package' % want
        initrd = None
        for candidate in ('initrd.img-' + release, 'initramfs-%s.img' % release):
            if tree.exists('boot/' + candidate):
                initrd = candidate
        if initrd is None:
            initrd_err = 'missing'
        else:
            ihead, isize, ierr = _head(tree.path('boot/' + initrd), 8)
            initrd_err = ('unreadable: %s' % ierr) if ierr else initrd_problem(ihead, isize)
        out.append(dict(release=release, image='/boot/' + name, image_problem=problem,
                        initrd='/boot/' + initrd if initrd else None, initrd_problem=initrd_err,
                        signed=pe_signed(head),
                        # the build config the kernel package installs (a fleet build's base, kernel_build)
                        config=tree.path('boot/config-' + release) if tree.exists('boot/config-' + release) else None,
                        modules_missing=dmem_modules.missing(needed or [], release_modules(tree, release))))
    return out


def pe_signed(head):
    """Whether a kernel image carries an Authenticode signature (its PE security directory is set)."""
    if head[:2] != b'MZ' or len(head) < 0x40:
        return False
    pe = struct.unpack('<I', head[0x3c:0x40])[0]
    if pe + 24 > len(head) or head[pe:pe + 4] != b'PE\0\0':
        return False
    opt = pe + 24
    magic = struct.unpack('<H', head[opt:opt + 2])[0]
    directories = opt + (112 if magic == 0x20b else 96)
    security = directories + 4 * 8
    if security + 8 > len(head):
        return False
    return struct.unpack('<II', head[security:security + 8])[1] > 0


def secure_boot(tree):
    """True / False from the SecureBoot EFI variable, None on BIOS or when it cannot be read."""
    if not tree.exists('sys/firmware/efi'):
        return None
    try:
        with open(tree.path(SECURE_BOOT_VAR), 'rb') as handle:
            data = handle.read()
    except (IOError, OSError):
        return None
    return len(data) >= 5 and data[4] == 1


def grub_cfg_read(tree, firmware):
    """Whether GRUB reads /boot/grub/grub.cfg here: (True|False|None, why)."""
    if firmware != 'efi':
        # The BIOS core image embeds its prefix; grub-install's default is /boot/grub.
        return None, 'BIOS: the prefix is inside core.img; assumed /boot/grub (grub-install default)'
    stubs = []
    for vendor in tree.listdir('boot/efi/EFI'):
        rel = 'boot/efi/EFI/%s/grub.cfg' % vendor
        if tree.exists(rel):
            stubs.append((rel, tree.read(rel) or ''))
    if not stubs:
        return None, 'UEFI: no grub.cfg on the ESP under /boot/efi/EFI (GRUB may embed its prefix)'
    for rel, text in stubs:
        if re.search(r'^\s*(menuentry|linux|linuxefi)\s', text, re.M):
            return False, '/%s is a complete configuration of its own, not a stub loading %s' % (rel, GRUB_CFG)
        if not re.search(r"configfile\s+\S*grub\.cfg", text):
            return False, '/%s does not load %s' % (rel, GRUB_CFG)
    return True, 'UEFI stub%s %s load%s %s' % (
        's' if len(stubs) > 1 else '', ', '.join('/' + r for r, _t in stubs), '' if len(stubs) > 1 else 's', GRUB_CFG)


def read_record(tree):
    """(record or None, problems) of /var/lib/dmemfs-fleet/boot.json."""
    text = tree.read(RECORD.lstrip('/'))
    if text is None:
        return None, []
    try:
        record = json.loads(text)
    except ValueError as exc:
        return None, ['%s is not JSON: %s' % (RECORD, exc)]
    problems = model.check_record(record)
    return (record if not problems else None), problems


def legacy_files(grub_defaults=GRUB_DEFAULTS, script=SCRIPT):
    """Files of 0.1.0 of this collection, taken away when a host is next managed."""
    dropins = os.path.join(os.path.dirname(grub_defaults), 'grub.d')
    return [os.path.join(dropins, '59-dmemfs-boot.cfg'), os.path.join(dropins, '60-dmemfs.cfg'),
            os.path.join(os.path.dirname(script), '01_dmemfs_trial')]


def defaults_texts(grub_defaults=GRUB_DEFAULTS):
    """(path, text) of the GRUB defaults file and its drop-ins, in the order grub-mkconfig reads them."""
    out = [(grub_defaults, _read(grub_defaults))]
    dropins = os.path.join(os.path.dirname(grub_defaults), 'grub.d')
    names = sorted(os.listdir(dropins)) if os.path.isdir(dropins) else []
    for name in names:
        if name.endswith('.cfg'):
            out.append((os.path.join(dropins, name), _read(os.path.join(dropins, name))))
    return out


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def gather_boot(tree, firmware, bootloader, run=None, grub_probe='grub-probe'):
    """The boot section of dmem_facts. ``run(argv) -> (rc, out, err)`` probes grubenv on a live host."""
    env_text = tree.read(GRUBENV.lstrip('/'))
    env = grubenv_parse(env_text)
    cfg = tree.read(GRUB_CFG.lstrip('/')) or ''
    record, record_problems = read_record(tree)
    grub_default, grub_default_source = grub_default_of(defaults_texts(tree.path(GRUB_DEFAULTS)))
    writable, why = None, 'not probed (a captured tree, or no grub-probe)'
    if run is not None and bootloader == 'update-grub':
        writable, why = probe_grubenv(run, GRUBENV, grub_probe)
    read_ok, read_why = grub_cfg_read(tree, firmware)
    kexec = (tree.read('sys/kernel/kexec_loaded') or '0').strip() == '1'
    needed = modules_needed(tree)
    quiet_env = dict((k, v) for k, v in env.items() if k not in model.ENV_VARS)
    return {
        'bootloader': bootloader,
        'managed': tree.exists(SCRIPT.lstrip('/')),
        'secure_boot': secure_boot(tree),
        'kexec_loaded': kexec,
        'grub_cfg': GRUB_CFG,
        'grub_cfg_read_by_grub': read_ok,
        'grub_cfg_read_why': read_why,
        'grubenv': GRUBENV,
        'grubenv_exists': env_text is not None,
        'grubenv_writable': writable,
        'grubenv_writable_why': why,
        'saved_entry': env.get('saved_entry'),
        'next_entry': env.get('next_entry') or None,
        'trial_armed': model.trial_release(env) is not None and env.get('next_entry') == model.TRIAL_ID,
        'one_shot_left': model.one_shot_left(env),
        'grub_default': grub_default,
        'grub_default_source': grub_default_source,
        # what GRUB boots when nothing is armed, and what it boots next
        'default': model.resolve_boot(cfg, quiet_env) if cfg else None,
        'next': model.resolve_boot(cfg, env) if cfg else None,
        'bootable_dmem': model.bootable_dmem(cfg, env) if cfg else {},
        'record': record,
        'record_problems': record_problems,
        'legacy_files': [p for p in legacy_files() if tree.exists(p.lstrip('/'))],
        'modules': needed,
        'kernels': kernels(tree, needed['all']),
        # dmem_reboot drained this host and has not undrained it yet
        'drained': tree.exists(DRAINED.lstrip('/')),
        'guard': guard_state(tree),
    }


def _sha256(text):
    return None if text is None else hashlib.sha256(text.encode('utf-8')).hexdigest()


def guard_state(tree):
    """The installed trial guard: its files' sha256 (None where absent) and whether it is enabled.

    The role compares them with its own files and skips the installation when
    they match: on a slow host each module call it saves is seconds.
    """
    try:
        executable = bool(os.stat(tree.path(GUARD_SCRIPT.lstrip('/'))).st_mode & 0o100)
    except OSError:
        executable = False
    return {
        'script_sha256': _sha256(tree.read(GUARD_SCRIPT.lstrip('/'))),
        'script_executable': executable,
        'unit_sha256': _sha256(tree.read(GUARD_UNIT.lstrip('/'))),
        'enabled': os.path.islink(tree.path(GUARD_WANTS.lstrip('/'))),
    }


def probe_grubenv(run, path=GRUBENV, grub_probe='grub-probe'):
    """(writable, why) for GRUB writing the environment block at boot, from grub-probe."""
    directory = os.path.dirname(path)
    rc, abstraction, err = run([grub_probe, '--target=abstraction', directory])
    if rc != 0:
        return None, 'grub-probe --target=abstraction %s failed: %s' % (directory, (err or abstraction).strip())
    rc, fs, err = run([grub_probe, '--target=fs', directory])
    if rc != 0:
        return None, 'grub-probe --target=fs %s failed: %s' % (directory, (err or fs).strip())
    writable, why = model.grubenv_writable(abstraction, fs)
    if writable:
        why = '%s on a plain disk (%s)' % (directory, fs.strip())
    return writable, why
