# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules a host uses against those a kernel release provides: pure parsing, and a sysfs tree built here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.dmemfs.fleet.plugins.module_utils import dmem_boot_host as host
from ansible_collections.dmemfs.fleet.plugins.module_utils import dmem_modules as mods
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_host import HostTree

PROC_MODULES = """kvm_amd 200704 0 - Live 0x0000000000000000
kvm 1343488 1 kvm_amd, Live 0x0000000000000000
zfs 5705728 3 - Live 0x0000000000000000 (POE)
virtio_net 69632 0 - Live 0x0000000000000000
"""
ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
br0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
br0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t0\t0\t0
"""
MOUNTINFO = """22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 22 0:26 / /mnt/dmem rw shared:2 - dmemfs none rw
"""


def test_names_compare_as_the_kernel_does():
    have = mods.provided('kernel/arch/x86/kvm/kvm.ko\nkernel/drivers/block/virtio_blk.ko\n',
                         'kernel/arch/x86/kvm/kvm-amd.ko.xz: kernel/arch/x86/kvm/kvm.ko\n'
                         'updates/dkms/zfs.ko.zst:\n')
    assert have == {'kvm', 'virtio_blk', 'kvm_amd', 'zfs'}
    assert mods.missing(['kvm-amd', 'virtio_net', 'zfs'], have) == ['virtio_net']


def test_a_release_without_lib_modules_is_unknown_not_empty():
    assert mods.provided(None, None) is None
    assert mods.missing(['kvm'], None) is None
    assert mods.missing(['kvm'], mods.provided('', None)) == ['kvm']


def test_default_route_and_root_device():
    assert mods.default_route_dev(ROUTE) == 'br0'
    assert mods.default_route_dev(ROUTE.splitlines()[0] + '\n') is None
    assert mods.mount_dev(MOUNTINFO) == '254:1'
    assert mods.loaded(PROC_MODULES) == {'kvm_amd', 'kvm', 'zfs', 'virtio_net'}


def link(path, target):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    os.symlink(str(target), str(path))


def hypervisor_tree(tmp_path):
    """/ on vda1 (virtio_blk on virtio_pci), the default route on br0 bridging eth0 (virtio_net), and two releases."""
    root = tmp_path / 'root'
    sysmod = root / 'sys' / 'module'
    pci = root / 'sys' / 'devices' / 'pci0000:00'
    for name in ('virtio_pci', 'virtio_blk', 'virtio_net'):
        (sysmod / name).mkdir(parents=True)
    for dev, virtio, drv in (('0000:00:04.0', 'virtio1', 'virtio_blk'), ('0000:00:03.0', 'virtio0', 'virtio_net')):
        link(pci / dev / 'driver' / 'module', sysmod / 'virtio_pci')
        link(pci / dev / virtio / 'driver' / 'module', sysmod / drv)
    disk = pci / '0000:00:04.0' / 'virtio1' / 'block' / 'vda'
    (disk / 'vda1').mkdir(parents=True)
    (disk / 'vda1' / 'partition').write_text(u'1\n')
    link(disk / 'device', pci / '0000:00:04.0' / 'virtio1')
    link(root / 'sys' / 'dev' / 'block' / '254:1', disk / 'vda1')
    eth0 = pci / '0000:00:03.0' / 'virtio0' / 'net' / 'eth0'
    eth0.mkdir(parents=True)
    link(eth0 / 'device', pci / '0000:00:03.0' / 'virtio0')
    link(root / 'sys' / 'class' / 'net' / 'eth0', eth0)
    br0 = root / 'sys' / 'devices' / 'virtual' / 'net' / 'br0'
    (br0 / 'brif' / 'eth0').mkdir(parents=True)
    link(root / 'sys' / 'class' / 'net' / 'br0', br0)
    (root / 'proc' / 'self').mkdir(parents=True)
    (root / 'proc' / 'net').mkdir(parents=True)
    (root / 'proc' / 'modules').write_text(PROC_MODULES)
    (root / 'proc' / 'net' / 'route').write_text(ROUTE)
    (root / 'proc' / 'self' / 'mountinfo').write_text(MOUNTINFO)
    for release, builtin, dep in (
            ('6.1.0-50-amd64', '', 'kernel/kvm.ko:\nkernel/kvm-amd.ko:\nkernel/virtio_net.ko:\nkernel/virtio_blk.ko:\n'
             'kernel/virtio_pci.ko:\nupdates/dkms/zfs.ko:\n'),
            ('6.12.117-dmemfs-aaaaaaaa', 'kernel/kvm.ko\nkernel/kvm-amd.ko\nkernel/virtio_pci.ko\nkernel/virtio_blk.ko\n',
             'kernel/virtio_net.ko:\n')):
        (root / 'lib' / 'modules' / release).mkdir(parents=True)
        (root / 'lib' / 'modules' / release / 'modules.builtin').write_text(builtin)
        (root / 'lib' / 'modules' / release / 'modules.dep').write_text(dep)
    return HostTree(str(root))


def test_the_root_disk_and_the_bridged_nic_drivers_are_needed(tmp_path):
    tree = hypervisor_tree(tmp_path)
    needed = host.modules_needed(tree)
    assert needed['root_disk'] == ['virtio_blk', 'virtio_pci']
    assert needed['default_route'] == 'br0'
    assert needed['default_route_nic'] == ['virtio_net', 'virtio_pci']
    assert needed['all'] == ['kvm', 'kvm_amd', 'virtio_blk', 'virtio_net', 'virtio_pci', 'zfs']


def test_a_kernel_without_an_out_of_tree_module_lacks_it(tmp_path):
    """The dmemfs build has KVM and virtio built in, but no zfs: the preflight names it."""
    tree = hypervisor_tree(tmp_path)
    needed = host.modules_needed(tree)['all']
    assert mods.missing(needed, host.release_modules(tree, '6.1.0-50-amd64')) == []
    assert mods.missing(needed, host.release_modules(tree, '6.12.117-dmemfs-aaaaaaaa')) == ['zfs']
    assert host.release_modules(tree, '6.13.0-not-installed') is None
