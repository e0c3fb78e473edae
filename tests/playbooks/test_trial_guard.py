# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The trial guard (roles/dmem_boot/files/trial-guard) run on a host tree ($DMEMFS_GUARD_ROOT).

Below a root the guard never reboots or asks systemd: it returns what it
would do. The watchdog "devices" here are plain files, so a test can see
whether the guard fed them and whether it closed them with the magic 'V'
(the device stops) or let them run out (the host resets). In the QEMU VMs of
the Molecule scenarios it runs as the systemd unit on real trial boots.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import HERE

GUARD = os.path.join(HERE, '..', '..', 'roles', 'dmem_boot', 'files', 'trial-guard')
TOKEN = 'tok123456'


@pytest.fixture
def tree(tmp_path):
    for rel in ('proc', 'dev', 'var/lib/dmemfs-fleet', 'etc/dmemfs-fleet/health/required.d',
                'etc/dmemfs-fleet/health/wanted.d', 'etc/dmemfs-fleet/health/red.d'):
        (tmp_path / rel).mkdir(parents=True)
    (tmp_path / 'proc' / 'cmdline').write_text(u'ro panic=10 dmemfs_fleet.trial=%s dmem=!1G\n' % TOKEN)
    (tmp_path / 'dev' / 'watchdog0').write_bytes(b'')
    config(tmp_path)
    return tmp_path


def config(root, **extra):
    data = dict(token=TOKEN, confirm_deadline=600, watchdog_timeout=6, boot_timeout=5, check_timeout=5,
                min_available=1, builtin_checks=['memory-left'], checks=[])
    data.update(extra)
    (root / 'var' / 'lib' / 'dmemfs-fleet' / 'trial.json').write_text(json.dumps(data))


def guard(root, *args, uptime=0, path=None):
    env = dict(os.environ, DMEMFS_GUARD_ROOT=str(root), DMEMFS_GUARD_UPTIME=str(uptime))
    if path:
        env['PATH'] = str(path) + os.pathsep + env['PATH']
    return subprocess.Popen([sys.executable, GUARD] + list(args), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def verdict(root):
    with open(str(root / 'run' / 'dmemfs-fleet' / 'trial-verdict.json')) as handle:
        return json.load(handle)


def result(root):
    with open(str(root / 'var' / 'lib' / 'dmemfs-fleet' / 'trial-results' / (TOKEN + '.json'))) as handle:
        return json.load(handle)


def wait_for(root, state, proc):
    for _tick in range(100):
        try:
            if verdict(root)['state'] == state:
                return
        except (IOError, ValueError):
            pass
        assert proc.poll() is None or state in ('red', 'confirmed'), proc.stdout.read()
        time.sleep(0.1)
    raise AssertionError('no %s verdict' % state)


def test_not_a_trial_boot(tree):
    (tree / 'proc' / 'cmdline').write_text(u'ro quiet\n')
    proc = guard(tree, 'run')
    assert proc.wait() == 0 and 'not a trial boot' in proc.stdout.read()
    assert not (tree / 'run').exists()


def test_green_then_confirmed_releases_the_watchdogs(tree):
    config(tree, checks=[{'name': 'site-ok', 'command': 'true'},
                         {'name': 'site-warns', 'command': 'exit 3', 'required': False}])
    proc = guard(tree, 'run')
    wait_for(tree, 'green', proc)
    got = verdict(tree)
    assert [(c['name'], c['kind'], c['ok']) for c in got['checks']] == [
        ('memory-left', 'required', True), ('site-ok', 'required', True), ('site-warns', 'wanted', False)]
    assert got['watchdogs'] == [str(tree / 'dev' / 'watchdog0')]
    confirm = guard(tree, 'confirm', '20')
    assert confirm.wait() == 0 and json.loads(confirm.stdout.read())['state'] == 'confirmed'
    assert proc.wait() == 0
    assert result(tree)['state'] == 'confirmed'
    # fed while it held it, then closed with the magic character
    data = (tree / 'dev' / 'watchdog0').read_bytes()
    assert data.endswith(b'V') and data[:-1] and set(data[:-1]) == {0}


def test_a_failed_required_check_is_red_and_goes_back(tree):
    (tree / 'etc' / 'dmemfs-fleet' / 'health' / 'required.d' / 'kvm').write_text(u'#!/bin/sh\necho no /dev/kvm\nexit 1\n')
    os.chmod(str(tree / 'etc' / 'dmemfs-fleet' / 'health' / 'required.d' / 'kvm'), 0o755)
    (tree / 'etc' / 'dmemfs-fleet' / 'health' / 'red.d' / 'tell').write_text(
        u'#!/bin/sh\necho "$DMEMFS_TRIAL_REASON" > "$(dirname "$0")/../../../../told"\n')
    os.chmod(str(tree / 'etc' / 'dmemfs-fleet' / 'health' / 'red.d' / 'tell'), 0o755)
    proc = guard(tree, 'run')
    assert proc.wait() == 1
    got = result(tree)
    assert got['state'] == 'red' and got['reason'] == 'required health check failed: kvm'
    assert [c['output'] for c in got['checks'] if c['name'] == 'kvm'] == ['no /dev/kvm']
    assert (tree / 'told').read_text() == u'required health check failed: kvm\n'
    # left running: no magic close, so the watchdog resets a host whose reboot hangs
    assert not (tree / 'dev' / 'watchdog0').read_bytes().endswith(b'V')


def test_the_memory_left_check_reads_meminfo(tree):
    config(tree, min_available=1 << 60)
    proc = guard(tree, 'run')
    assert proc.wait() == 1
    assert result(tree)['reason'] == 'required health check failed: memory-left'


def test_rejected_by_the_controller(tree):
    proc = guard(tree, 'run')
    wait_for(tree, 'green', proc)
    reject = guard(tree, 'reject', 'verification', 'failed:', 'running', 'x')
    assert reject.wait() == 0
    assert proc.wait() == 1 and result(tree)['reason'] == 'verification failed: running x'


def test_not_confirmed_in_time(tree):
    config(tree, confirm_deadline=120)
    proc = guard(tree, 'run', uptime=121)
    assert proc.wait() == 1
    assert result(tree)['reason'] == 'not confirmed by the controller within 120 s of boot'


def test_settings_of_another_trial_are_not_used(tree):
    config(tree, token='another-trial', confirm_deadline=120, min_available=1 << 60)
    proc = guard(tree, 'run', uptime=200)
    wait_for(tree, 'green', proc)
    assert verdict(tree)['config']['confirm_deadline'] == 1800
    guard(tree, 'confirm', '20').wait()
    assert proc.wait() == 0


def test_wait_verdict_times_out_without_a_guard(tree):
    proc = guard(tree, 'wait-verdict', '1')
    assert proc.wait() == 2 and json.loads(proc.stdout.read())['state'] == 'none'


def test_the_trial_reboot_unloads_a_kexec_image(tree, tmp_path):
    (tree / 'sys' / 'kernel').mkdir(parents=True)
    (tree / 'sys' / 'kernel' / 'kexec_loaded').write_text(u'1\n')
    (tree / 'etc' / 'init.d').mkdir(parents=True)
    (tree / 'etc' / 'init.d' / 'kexec-load').write_text(u'')
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    (bindir / 'kexec').write_text(u'#!/bin/sh\necho "$@" > "%s"\n' % (tmp_path / 'kexec-args'))
    os.chmod(str(bindir / 'kexec'), 0o755)
    env = dict(os.environ, DMEMFS_GUARD_ROOT=str(tree), PATH=str(bindir) + os.pathsep + os.environ['PATH'])
    proc = subprocess.run([sys.executable, GUARD, 'reboot'], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and 'unloading the loaded kexec image' in proc.stdout
    assert (tmp_path / 'kexec-args').read_text() == u'-u\n'
    # Debian's kexec-tools loads no image at this shutdown (what its coldreboot does)
    assert (tree / 'no-kexec-reboot').exists()


# ---- what a hypervisor must keep from the boot that armed the trial

IP_JSON = [
    {'ifname': 'lo', 'addr_info': [{'family': 'inet', 'local': '127.0.0.1', 'prefixlen': 8, 'scope': 'host'}]},
    {'ifname': 'br0', 'addr_info': [
        {'family': 'inet', 'local': '192.0.2.10', 'prefixlen': 24, 'scope': 'global'},
        {'family': 'inet6', 'local': '2001:db8::10', 'prefixlen': 64, 'scope': 'global'},
        {'family': 'inet6', 'local': '2001:db8::beef', 'prefixlen': 64, 'scope': 'global', 'temporary': True},
        {'family': 'inet6', 'local': 'fe80::1', 'prefixlen': 64, 'scope': 'link'}]},
    {'ifname': 'vnet3', 'addr_info': [{'family': 'inet', 'local': '10.9.9.9', 'prefixlen': 24, 'scope': 'global'}]},
]
MOUNTINFO = (
    '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n'
    '30 22 0:26 / /mnt/dmem rw shared:2 - dmemfs none rw,pagesize=2M\n'
    '31 22 254:17 / /var/lib/libvirt/images rw shared:3 - xfs /dev/mapper/vg-images rw\n'
    '32 22 7:0 / /snap/core rw shared:4 - squashfs /dev/loop0 ro\n'
    '33 22 0:40 / /srv/iso rw shared:5 - nfs4 nas:/iso rw\n'
    '34 22 254:1 / /mnt/by\\040hand rw shared:6 - ext4 /dev/vdb1 rw\n')
FSTAB = """# <file system> <mount point> <type> <options> <dump> <pass>
UUID=1111 / ext4 errors=remount-ro 0 1
/dev/mapper/vg-images /var/lib/libvirt/images xfs defaults 0 2
nas:/iso /srv/iso nfs4 defaults,_netdev 0 0
/dev/vdc1 /backup ext4 noauto 0 0
"""


def host(root, tmp_path, ip=None, mountinfo=MOUNTINFO, kvm=True):
    """A hypervisor's tree: /dev/kvm, /etc/fstab, mountinfo, and an `ip` that prints ip (JSON)."""
    bindir = tmp_path / 'bin'
    bindir.mkdir(exist_ok=True)
    (bindir / 'ip-json').write_text(json.dumps(IP_JSON if ip is None else ip))
    (bindir / 'ip').write_text(u'#!/bin/sh\ncat "$(dirname "$0")/ip-json"\n')
    os.chmod(str(bindir / 'ip'), 0o755)
    (root / 'etc' / 'fstab').write_text(FSTAB)
    (root / 'proc' / 'self').mkdir(exist_ok=True)
    (root / 'proc' / 'self' / 'mountinfo').write_text(mountinfo)
    kvmdev = root / 'dev' / 'kvm'
    if kvm:
        kvmdev.write_bytes(b'')
    elif kvmdev.exists():
        kvmdev.unlink()
    return bindir


def snapshot(root, bindir):
    proc = guard(root, 'snapshot', path=bindir)
    assert proc.wait() == 0
    return json.loads(proc.stdout.read())


def test_snapshot_records_kvm_the_hosts_own_addresses_and_its_fstab_mounts(tree, tmp_path):
    """Guest NICs (vnet*), link-local and temporary addresses, and mounts not of /etc/fstab are left out."""
    bindir = host(tree, tmp_path)
    assert snapshot(tree, bindir) == {
        'kvm': True,
        'addresses': {'br0': ['192.0.2.10/24', '2001:db8::10/64']},
        'mounts': {'/': 'ext4', '/var/lib/libvirt/images': 'xfs', '/srv/iso': 'nfs4'}}


def prepare(root, bindir, settings, *args):
    env = dict(os.environ, DMEMFS_GUARD_ROOT=str(root), PATH=str(bindir) + os.pathsep + os.environ['PATH'])
    return subprocess.run([sys.executable, GUARD, 'prepare'] + list(args), env=env, input=settings,
                          capture_output=True, text=True, check=False)


def test_prepare_writes_the_settings_with_the_snapshot_once_and_nothing_in_check_mode(tree, tmp_path):
    """What the arm entry point runs: trial.json = the controller's settings + this boot's snapshot."""
    bindir = host(tree, tmp_path)
    path = tree / 'var' / 'lib' / 'dmemfs-fleet' / 'trial.json'
    path.unlink()
    settings = dict(token='t0k3n-2', confirm_deadline=480, watchdog_timeout=30, boot_timeout=600, check_timeout=60,
                    min_available=524288000, builtin_checks=['kvm', 'memory-left'], checks=[])
    want = dict(settings, expect=snapshot(tree, bindir))

    proc = prepare(tree, bindir, json.dumps(settings), '--check')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == dict(changed=True, config=want)
    assert not path.exists()

    proc = prepare(tree, bindir, json.dumps(settings))
    assert json.loads(proc.stdout) == dict(changed=True, config=want)
    assert json.loads(path.read_text()) == want
    assert oct(os.stat(str(path)).st_mode & 0o777) == '0o644'

    proc = prepare(tree, bindir, json.dumps(settings))
    assert json.loads(proc.stdout)['changed'] is False


def test_prepare_refuses_settings_without_a_token(tree, tmp_path):
    bindir = host(tree, tmp_path)
    for bad in ('', '[]', '{"token": ""}'):
        proc = prepare(tree, bindir, bad)
        assert proc.returncode == 2
        assert 'stdin must be a JSON object with a token' in proc.stderr


def hypervisor_trial(tree, bindir, expect):
    config(tree, builtin_checks=['kvm', 'addresses', 'mounts'], expect=expect)
    return guard(tree, 'run', path=bindir)


def test_a_trial_that_keeps_what_the_hypervisor_had_is_green(tree, tmp_path):
    bindir = host(tree, tmp_path)
    proc = hypervisor_trial(tree, bindir, snapshot(tree, bindir))
    wait_for(tree, 'green', proc)
    assert [(c['name'], c['ok']) for c in verdict(tree)['checks']] == [
        ('kvm', True), ('addresses', True), ('mounts', True)]
    assert guard(tree, 'confirm', '20').wait() == 0 and proc.wait() == 0


@pytest.mark.parametrize('lose, check, says', [
    ('kvm', 'kvm', '/dev/kvm: No such file or directory (the verified boot had it: this kernel cannot run guests)'),
    ('nic', 'addresses', 'not up with the address(es) of the verified boot: br0 192.0.2.10/24 2001:db8::10/64'),
    ('mount', 'mounts', 'not mounted as on the verified boot: /var/lib/libvirt/images (xfs)'),
])
def test_a_trial_that_loses_kvm_a_nic_or_a_mount_goes_back(tree, tmp_path, lose, check, says):
    """A kernel without KVM, without the NIC's driver or without the storage's driver is red."""
    expect = snapshot(tree, host(tree, tmp_path))
    bindir = host(tree, tmp_path, kvm=lose != 'kvm', ip=[d for d in IP_JSON if lose != 'nic' or d['ifname'] != 'br0'],
                  mountinfo=''.join(line for line in MOUNTINFO.splitlines(True)
                                    if lose != 'mount' or 'libvirt' not in line))
    proc = hypervisor_trial(tree, bindir, expect)
    assert proc.wait() == 1
    got = result(tree)
    assert got['reason'] == 'required health check failed: ' + check
    assert [c['output'] for c in got['checks'] if not c['ok']] == [says]


def test_a_host_that_had_no_kvm_does_not_need_it(tree, tmp_path):
    bindir = host(tree, tmp_path, kvm=False)
    proc = hypervisor_trial(tree, bindir, snapshot(tree, bindir))
    wait_for(tree, 'green', proc)
    assert [c['output'] for c in verdict(tree)['checks'] if c['name'] == 'kvm'] == [
        'the verified boot had no /dev/kvm: nothing to keep']
    guard(tree, 'confirm', '20').wait()
    proc.wait()


def test_a_host_whose_addresses_could_not_be_listed_is_not_held_to_them(tree, tmp_path):
    """No `ip -j` when arming (an old iproute2): nothing was recorded, so the trial is not red for it."""
    bindir = host(tree, tmp_path)
    (bindir / 'ip').write_text(u'#!/bin/sh\necho "Option -j is unknown" >&2\nexit 255\n')
    expect = snapshot(tree, bindir)
    assert expect['addresses'] == {}
    proc = hypervisor_trial(tree, bindir, expect)
    wait_for(tree, 'green', proc)
    assert [c['output'] for c in verdict(tree)['checks'] if c['name'] == 'addresses'] == [
        'the verified boot had no global address recorded: nothing to keep']
    guard(tree, 'confirm', '20').wait()
    proc.wait()


# ---- a KVM guest with its RAM on dmemfs (kvm-guest)

def kvm_guest_host(tree, tmp_path, dmemfs=True, free=1 << 30, uncharged=1 << 30):
    """A tree with dmemfs and its pool, and `mount` / `umount` that log their arguments and do nothing.

    The green path (a real guest under KVM on a real dmemfs mount) runs on every trial boot of the
    pipeline scenario's VMs, whose verify asserts it; here the mount is a plain directory and /dev/kvm
    a plain file, so the guard gets as far as KVM's first ioctl."""
    bindir = host(tree, tmp_path)
    (tree / 'proc' / 'filesystems').write_text(u'nodev\tsysfs\n' + (u'nodev\tdmemfs\n' if dmemfs else u'') + u'\text4\n')
    (tree / 'sys' / 'kernel' / 'mm' / 'dmem').mkdir(parents=True, exist_ok=True)
    (tree / 'sys' / 'kernel' / 'mm' / 'dmem' / 'free_bytes').write_text(u'%d\n' % free)
    (tree / 'sys' / 'kernel' / 'mm' / 'dmem' / 'uncharged_bytes').write_text(u'%d\n' % uncharged)
    for cmd in ('mount', 'umount'):
        (bindir / cmd).write_text(u'#!/bin/sh\necho "%s $*" >>"%s"\n' % (cmd, tmp_path / 'mount.log'))
        os.chmod(str(bindir / cmd), 0o755)
    return bindir


@pytest.mark.parametrize('dmemfs, free, uncharged, kvm, says', [
    (True, 1 << 30, 1 << 30, False, 'the verified boot had no /dev/kvm: no guest to run'),
    (False, 1 << 30, 1 << 30, True, 'no dmemfs with 2 MiB free on this boot: no guest to run'),
    (True, 1 << 20, 1 << 30, True, 'no dmemfs with 2 MiB free on this boot: no guest to run'),
    # guests started at boot were promised all of it
    (True, 1 << 30, 0, True, 'no dmemfs with 2 MiB free on this boot: no guest to run'),
])
def test_the_kvm_guest_check_runs_no_guest_without_kvm_or_dmemfs(tree, tmp_path, dmemfs, free, uncharged, kvm, says):
    bindir = kvm_guest_host(tree, tmp_path, dmemfs=dmemfs, free=free, uncharged=uncharged)
    config(tree, builtin_checks=['kvm-guest'], expect=dict(kvm=kvm, addresses={}, mounts={}))
    proc = guard(tree, 'run', path=bindir)
    wait_for(tree, 'green', proc)
    assert [(c['name'], c['ok'], c['output']) for c in verdict(tree)['checks']] == [('kvm-guest', True, says)]
    assert not (tmp_path / 'mount.log').exists()
    guard(tree, 'confirm', '20').wait()
    proc.wait()


def test_a_kvm_guest_that_cannot_run_on_dmemfs_sends_the_trial_back(tree, tmp_path):
    bindir = kvm_guest_host(tree, tmp_path)
    config(tree, builtin_checks=['kvm-guest'], expect=dict(kvm=True, addresses={}, mounts={}))
    proc = guard(tree, 'run', path=bindir)
    assert proc.wait() == 1
    got = result(tree)
    assert got['reason'] == 'required health check failed: kvm-guest'
    # the guard got as far as KVM (here /dev/kvm is a plain file): mounted, ran, unmounted, cleaned up
    assert [c['output'] for c in got['checks']] == ['KVM guest on dmemfs: [Errno 25] Inappropriate ioctl for device']
    point = tree / 'run' / 'dmemfs-fleet' / 'kvm-guest'
    assert (tmp_path / 'mount.log').read_text() == u'mount -t dmemfs -o pagesize=2M,mode=0700 dmemfs %s\numount %s\n' % (
        point, point)
    assert not point.exists()
