# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""QEMU guests on dmemfs: which command lines are flagged, and which are not."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_guests import guest, options, parse_opts
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_host import HostTree, qemu_guests
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_savings import fleet

MOUNTS = ['/mnt/dmem']
QEMU = '/usr/bin/qemu-system-x86_64'
RAM = ['-object', 'memory-backend-file,id=ram0,size=4G,mem-path=/mnt/dmem/vm1,share=on,align=2M',
       '-machine', 'q35,memory-backend=ram0']


def test_parse_opts_driver_commas_and_json():
    assert parse_opts('memory-backend-file,id=m,mem-path=/a,,b') == {'': 'memory-backend-file', 'id': 'm', 'mem-path': '/a,b'}
    assert parse_opts('{"driver": "file", "filename": "/d", "cache": {"direct": true}}') == {
        'driver': 'file', 'filename': '/d', 'cache.direct': 'on'}
    assert options([QEMU, '-nographic', '--enable-kvm', '-m', '4G']) == [
        ('nographic', {}), ('enable-kvm', {}), ('m', {'': '4G'})]


def test_a_guest_with_buffered_disks_has_no_problem():
    argv = [QEMU, '-name', 'guest=web1,debug-threads=on'] + RAM + [
        '-drive', 'file=/var/lib/vm/web1.qcow2,if=virtio,cache=writeback,aio=threads',
        '-blockdev', 'driver=file,filename=/d2,node-name=d2,aio=io_uring',
        '-netdev', 'tap,id=n0,vhost=on']
    assert guest(argv, MOUNTS) == {'name': 'web1', 'dmemfs_ram': ['/mnt/dmem/vm1'], 'problems': []}


def test_o_direct_disks_are_flagged():
    argv = [QEMU] + RAM + [
        '-drive', 'file=/a.img,id=d0,cache=none',
        '-drive', 'file=/b.img,id=d1,cache=directsync',
        '-drive', 'file=/c.img,id=d2,aio=native',
        '-blockdev', '{"driver": "file", "node-name": "d3", "filename": "/d", "cache": {"direct": true}}']
    problems = guest(argv, MOUNTS)['problems']
    assert [p['option'] for p in problems] == [
        '-drive d0: cache=none', '-drive d1: cache=directsync', '-drive d2: aio=native', '-blockdev d3: cache=direct']
    assert all(p['feature'] == 'O_DIRECT' and 'EFAULT' in p['why'] for p in problems)


def test_balloon_and_zerocopy_are_flagged_prealloc_is_not():
    """prealloc=on works (QEMU touches each page when MADV_POPULATE_WRITE gives EINVAL): not a problem."""
    argv = [QEMU, '-object', 'memory-backend-file,id=r,size=1G,mem-path=/mnt/dmem/x,share=on,prealloc=on',
            '-mem-prealloc', '-netdev', 'tap,id=n0,vhost=on', '-device', 'virtio-balloon-pci,id=b0',
            '-device', '{"driver": "virtio-balloon-ccw", "id": "b1"}']
    got = guest(argv, MOUNTS, vhost_zerocopy=True)
    assert [(p['feature'], p['option']) for p in got['problems']] == [
        ('vhost-net zerocopy', '-netdev n0 vhost=on'),
        ('virtio-balloon', '-device virtio-balloon-pci'), ('virtio-balloon', '-device virtio-balloon-ccw')]
    # without zerocopy transmit, vhost-net copies: fine
    assert [p['feature'] for p in guest(argv, MOUNTS)['problems']] == ['virtio-balloon', 'virtio-balloon']


def test_guests_not_on_dmemfs_and_other_programs_are_ignored():
    not_dmemfs = [QEMU, '-object', 'memory-backend-file,id=r,mem-path=/dev/hugepages/x,share=on',
                  '-drive', 'file=/a,cache=none']
    assert guest(not_dmemfs, MOUNTS) is None
    # a mount point that is only a prefix of another directory's name is not it
    assert guest([QEMU, '-object', 'memory-backend-file,id=r,mem-path=/mnt/dmem2/x'], MOUNTS) is None
    assert guest(['/usr/bin/python3', '-object', 'memory-backend-file,mem-path=/mnt/dmem/x'], MOUNTS) is None
    assert guest([], MOUNTS) is None
    # the legacy -mem-path
    assert guest(['qemu-kvm', '-mem-path', '/mnt/dmem'], MOUNTS)['dmemfs_ram'] == ['/mnt/dmem']


def _proc(tmp_path, pid, argv):
    d = tmp_path / 'proc' / str(pid)
    d.mkdir(parents=True)
    (d / 'cmdline').write_bytes(b'\0'.join(a.encode() for a in argv) + b'\0')


def test_qemu_guests_reads_every_process(tmp_path):
    _proc(tmp_path, 41, [QEMU] + RAM + ['-drive', 'file=/a,id=d0,cache=none'])
    _proc(tmp_path, 7, ['/sbin/init'])
    _proc(tmp_path, 100, [QEMU, '-m', '1G'])
    zc = tmp_path / 'sys/module/vhost_net/parameters'
    zc.mkdir(parents=True)
    (zc / 'experimental_zcopytx').write_text('0\n')
    got = qemu_guests(HostTree(str(tmp_path)), [{'path': '/mnt/dmem', 'options': {}}])
    assert [(g['pid'], [p['option'] for p in g['problems']]) for g in got] == [(41, ['-drive d0: cache=none'])]
    # no dmemfs mounted: nothing to look for
    assert qemu_guests(HostTree(str(tmp_path)), []) == []
    assert os.path.exists(str(tmp_path / 'proc/41/cmdline'))


def test_the_fleet_summary_names_guests_at_risk():
    base = dict(dmem_total=1 << 30, predicted=16 << 20, measured=16 << 20)
    risky = dict(base, guests_at_risk=[{'pid': 41, 'name': 'db1', 'problems': [
        {'feature': 'O_DIRECT', 'option': '-drive d0: cache=none', 'why': '...'}]}])
    total = fleet({'h1': dict(base, guests_at_risk=[]), 'h2': risky})
    assert total['guests_at_risk'] == [{'host': 'h2', 'pid': 41, 'name': 'db1', 'problems': ['-drive d0: cache=none']}]
    assert total['summary'].endswith('; 1 guest(s) on dmemfs with a configuration known to fail: h2 pid 41 (-drive d0: cache=none)')
    assert fleet({'h1': base})['guests_at_risk'] == []
