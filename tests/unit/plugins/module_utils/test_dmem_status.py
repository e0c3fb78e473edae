# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a host stands: each drift playbooks/status.yml can report, from facts laid out as dmem_facts returns them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.dmemfs.fleet.plugins.module_utils import dmem_boot_model as model
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_status import fleet_status, host_status

NEW, STOCK = '6.12.118-dmemfs-e6a2e265', '6.1.0-50-amd64'
GIB = 1 << 30


def facts(**change):
    """A host on its verified configuration (NEW, dmem=!768M), mounted, nothing armed."""
    verified = dict(release=NEW, dmem=['dmem=!768M'], since='2026-12-07T04:00:00Z', how='trial', token='t1')
    boot = dict(
        record=dict(version=1, original={}, verified=verified, candidate=None, armed=None), record_problems=[],
        default=dict(entry=model.VERIFIED_ID, release=NEW, args=['ro', 'dmem=!768M'], one_shot=False),
        next=dict(entry=model.VERIFIED_ID, release=NEW, args=['ro', 'dmem=!768M'], one_shot=False),
        trial_armed=False, one_shot_left=[], drained=False, bootable_dmem={model.VERIFIED_ID: ['dmem=!768M']})
    out = dict(kernel_release=NEW, cmdline='BOOT_IMAGE=/boot/vmlinuz-%s ro dmem=!768M' % NEW, dmem_total=GIB,
               nodes=[dict(id=0, dmem=GIB)], dmemfs_mounts=[dict(path='/mnt/dmem', options={'pagesize': '2M'})],
               boot=boot)
    for key, value in change.items():
        if key in boot:
            boot[key] = value
        else:
            out[key] = value
    return out


PLAN = dict(param='dmem=!768M')


def test_a_host_on_its_verified_configuration_and_plan_has_no_drift():
    status = host_status(facts(), PLAN, '/mnt/dmem')
    assert status['drift'] == []
    assert status['running'] == dict(release=NEW, dmem=['dmem=!768M'])
    assert status['verified']['since'] == '2026-12-07T04:00:00Z' and status['verified']['how'] == 'trial'
    assert status['default'] == dict(entry=model.VERIFIED_ID, release=NEW, dmem=['dmem=!768M'])
    assert status['planned'] == ['dmem=!768M'] and status['reserved_nodes'] == {'0': GIB}
    assert not status['reboot_pending'] and status['mounted'] == ['/mnt/dmem']


def test_a_host_never_managed_is_drift():
    status = host_status(facts(record=None, bootable_dmem={}), PLAN, '/mnt/dmem')
    assert status['drift'][0] == 'not managed: no record of a verified configuration'


def test_a_re_plan_not_rolled_out_yet():
    status = host_status(facts(), dict(param='dmem=!640M'), '/mnt/dmem')
    assert status['drift'] == ['the plan wants dmem=!640M, the verified configuration has dmem=!768M (not rolled out yet)']


def test_running_something_else_than_verified_and_a_reboot_pending():
    host = facts(kernel_release=STOCK, cmdline='ro', dmem_total=0)
    status = host_status(host, PLAN, '/mnt/dmem')
    assert 'running %s no dmem=, not the verified configuration %s dmem=!768M' % (STOCK, NEW) in status['drift']
    assert status['reboot_pending']


def test_a_default_changed_by_hand_is_drift():
    other = dict(entry='gnulinux-simple-x', release=STOCK, args=['ro'], one_shot=False)
    status = host_status(facts(default=other, next=other), PLAN, '/mnt/dmem')
    assert status['drift'] == ['GRUB boots gnulinux-simple-x (%s no dmem=) by default, not the verified entry' % STOCK]
    assert status['reboot_pending']


def test_leftovers_of_a_run_that_did_not_finish():
    host = facts(drained=True, one_shot_left=['next_entry=dmemfs-trial'])
    host['boot']['record'] = copy.deepcopy(host['boot']['record'])
    host['boot']['record']['candidate'] = dict(release=NEW, dmem=['dmem=!640M'])
    status = host_status(host, PLAN, '/mnt/dmem')
    assert status['drift'] == [
        'GRUB did not clear a one-shot: next_entry=dmemfs-trial',
        'a candidate is recorded (%s dmem=!640M) from a run that did not finish' % NEW,
        'drained by a run that did not finish']


def test_an_armed_trial_a_foreign_dmem_entry_and_no_mount():
    host = facts(trial_armed=True, dmemfs_mounts=[],
                 bootable_dmem={model.VERIFIED_ID: ['dmem=!768M'], 'gnulinux-simple-x': ['dmem=2G']})
    status = host_status(host, PLAN, '/mnt/dmem')
    assert status['drift'] == ['a trial is armed for the next boot',
                               'entries other than the verified one carry dmem=: gnulinux-simple-x',
                               'dmemfs is not mounted at /mnt/dmem']
    assert host_status(host, PLAN, None)['drift'][-1] != 'dmemfs is not mounted at /mnt/dmem'


def test_dmem_on_the_command_line_with_nothing_reserved():
    status = host_status(facts(dmem_total=0), PLAN, '/mnt/dmem')
    assert status['drift'] == ['dmem= is on the command line but the kernel reserved nothing']


def test_without_a_plan_the_plan_is_not_compared():
    assert host_status(facts(), None, '/mnt/dmem')['planned'] is None
    assert host_status(facts(), None, '/mnt/dmem')['drift'] == []


def test_fleet_status_counts():
    ok, off = host_status(facts(), PLAN, '/mnt/dmem'), host_status(facts(dmemfs_mounts=[]), PLAN, '/mnt/dmem')
    assert fleet_status({'a': ok, 'b': off}) == dict(hosts=2, in_sync=1, drifted=['b'], reboot_pending=[],
                                                     reserved=2 * GIB)


def test_a_one_shot_set_by_hand_is_drift():
    other = dict(entry='gnulinux-simple-x', release=STOCK, args=['ro'], one_shot=True)
    status = host_status(facts(next=other), PLAN, '/mnt/dmem')
    assert status['drift'] == ['the next boot is gnulinux-simple-x (%s no dmem=), not the default (a one-shot set by hand?)'
                               % STOCK]
    assert status['reboot_pending']
