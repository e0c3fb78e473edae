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


def guard(root, *args, uptime=0):
    env = dict(os.environ, DMEMFS_GUARD_ROOT=str(root), DMEMFS_GUARD_UPTIME=str(uptime))
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
