# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's base kernel config and the modules a fleet build keeps (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_fleet_config import (
    config_release, fleet_config, is_dmemfs_release)
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError


def facts(running, installed, modules, config=True):
    kernels = [dict(release=r, config='/boot/config-' + r if config else None) for r in installed]
    return dict(kernel_release=running, boot=dict(kernels=kernels, modules=dict(all=modules)))


def test_the_running_distribution_kernel_is_the_base():
    assert config_release('6.1.0-50-amd64', ['6.1.0-9-amd64', '6.1.0-50-amd64']) == '6.1.0-50-amd64'
    assert config_release('5.14.0-427.el9.x86_64', []) == '5.14.0-427.el9.x86_64'
    # the path comes from the host's facts (a captured tree has its own root)
    hosts = {'hv1': dict(kernel_release='6.1.0-50-amd64', boot=dict(modules=dict(all=[]), kernels=[
        dict(release='6.1.0-50-amd64', config='/srv/capture/boot/config-6.1.0-50-amd64')]))}
    assert fleet_config(hosts)['path'] == '/srv/capture/boot/config-6.1.0-50-amd64'


def test_on_a_dmemfs_kernel_the_newest_distribution_kernel_is_the_base():
    installed = ['6.1.0-9-amd64', '6.12.118-dmemfs-e6a2e265', '6.1.0-50-amd64', '6.1.0-10-amd64']
    assert is_dmemfs_release('6.12.118-dmemfs-e6a2e265')
    # 50 > 10 > 9 as numbers, not as text
    assert config_release('6.12.118-dmemfs-e6a2e265', installed) == '6.1.0-50-amd64'
    assert config_release('6.12.118-dmemfs-e6a2e265', ['6.12.118-dmemfs-1']) is None


def test_the_modules_are_the_union_over_the_fleet_with_extra_and_previous():
    hosts = {
        'hv1': facts('6.1.0-50-amd64', ['6.1.0-50-amd64'], ['kvm_amd', 'virtio_net', 'nvme']),
        'hv2': facts('6.1.0-50-amd64', ['6.1.0-50-amd64'], ['kvm_amd', 'mlx5_core', 'xfs']),
        'hv3': None,
    }
    got = fleet_config(hosts, extra=['zfs', 'dm-crypt'], previous=['ixgbe'])
    assert got == dict(host='hv1', release='6.1.0-50-amd64', path='/boot/config-6.1.0-50-amd64',
                       modules=['dm_crypt', 'ixgbe', 'kvm_amd', 'mlx5_core', 'nvme', 'virtio_net', 'xfs', 'zfs'],
                       hosts=['hv1', 'hv2'], unread=['hv3'])
    # the same fleet in another order, or loading less today, keeps the same set when previous has it
    again = fleet_config(dict(reversed(list(hosts.items()))), 'hv1', ['zfs', 'dm_crypt'], got['modules'])
    assert again['modules'] == got['modules']


def test_a_host_on_the_dmemfs_kernel_gives_its_distribution_config():
    hosts = {'hv1': facts('6.12.118-dmemfs-e6a2e265', ['6.1.0-50-amd64', '6.12.118-dmemfs-e6a2e265'], [])}
    assert fleet_config(hosts)['path'] == '/boot/config-6.1.0-50-amd64'


@pytest.mark.parametrize('hosts, config_host, extra, field, text', [
    ({'hv1': None, 'hv2': {}}, None, None, 'kernel_build_fleet', 'no host of it has dmem facts'),
    ({'hv1': facts('6.1.0-50-amd64', ['6.1.0-50-amd64'], [], config=False)}, None, None, 'kernel_build_config_host',
     'has no /boot/config-6.1.0-50-amd64'),
    ({'hv1': facts('6.1.0-50-amd64', [], [])}, 'hv9', None, 'kernel_build_config_host', 'must be a host of the fleet'),
    ({'hv1': facts('6.1.0-50-amd64', [], []), 'hv2': None}, 'hv2', None, 'kernel_build_config_host',
     'no dmem facts'),
    ({'hv1': facts('6.12.118-dmemfs-1', ['6.12.118-dmemfs-1'], [])}, None, None, 'kernel_build_config_host',
     'no distribution kernel'),
    ({'hv1': facts('6.1.0-50-amd64', [], [])}, None, 'zfs', 'kernel_build_config_modules', 'must be a list'),
    ({'hv1': facts('6.1.0-50-amd64', [], [])}, None, ['zfs ko'], 'kernel_build_config_modules', 'module names'),
    ('hv1', None, None, 'hosts', 'must be a dict'),
])
def test_bad_input_names_the_variable(hosts, config_host, extra, field, text):
    with pytest.raises(DmemError) as err:
        fleet_config(hosts, config_host, extra)
    assert err.value.field == field
    assert text in str(err.value)
