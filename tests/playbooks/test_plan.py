# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dmem_plan role over trees captured from QEMU VMs, run by ansible-playbook."""

import json
import os

import pytest

from conftest import HERE, HOSTS, INTERPRETER

G = 1 << 30
M = 1 << 20


def inventory(tmp_path, names, **knobs):
    lines = ['[captured]']
    lines += ['%s ansible_connection=local dmem_plan_root=%s' % (n, os.path.join(HOSTS, n)) for n in names]
    lines += ['', '[all:vars]', INTERPRETER, 'plan_out=%s' % tmp_path]
    lines += ['%s=%s' % (k, v) for k, v in sorted(knobs.items())]
    path = tmp_path / 'hosts.ini'
    path.write_text(u'\n'.join(lines) + u'\n')
    return str(path)


def test_keep_policy_over_captured_hosts(ansible, tmp_path):
    names = sorted(os.listdir(HOSTS))
    proc = ansible.playbook(os.path.join(HERE, 'plan.yml'), '-i', inventory(
        tmp_path, names, dmem_plan_policy='keep', dmem_plan_size='256M', dmem_plan_pagesize='2M', dmem_plan_min_host='256M'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in names:
        plan = json.loads((tmp_path / (name + '.json')).read_text())
        assert plan['param'] == 'dmem=!256M'
        for node in plan['nodes']:
            # the rest of each node, in whole 128M sections, leaving at least 256M
            assert node['dmem'] % (128 * M) == 0
            assert 256 * M <= node['host'] < 256 * M + 128 * M
        assert plan['savings'] == plan['dmem_total'] // 4096 * 64


@pytest.mark.parametrize('knobs, needle', [
    ({'dmem_plan_size': '1.5G'}, "dmem_plan_size: size='1.5G': unexpected '.'"),
    ({'dmem_plan_policy': 'spread'}, 'dmem_plan_policy must be one of: keep, per_node, range'),
    ({'dmem_plan_pagesize': '64K'}, 'dmem_plan_pagesize must be one of: 4K, 2M, 1G'),
    ({'dmem_plan_policy': 'per_node', 'dmem_plan_size': '4G'}, 'dmem_plan_size: '),
    ({'dmem_plan_size': '1G', 'dmem_plan_min_host': '2G'}, 'dmem_plan_min_host: '),
    ({'dmem_plan_policy': 'range', 'dmem_plan_addr': '0'}, 'dmem_plan_addr: '),
    ({'dmem_plan_size': '150%'}, "dmem_plan_size: size='150%': a percentage must be above 0 and at most 100"),
    ({'dmem_plan_value': '0x40200000:1G'}, "dmem_plan_value: value='0x40200000:1G': SIZE 1026M is not a multiple of ALIGN 1G"),
])
def test_bad_inventory_values_name_the_variable(ansible, tmp_path, knobs, needle):
    names = sorted(os.listdir(HOSTS))[:1]
    proc = ansible.playbook(os.path.join(HERE, 'plan.yml'), '-i', inventory(tmp_path, names, **knobs))
    assert proc.returncode != 0
    assert needle in proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stdout + proc.stderr


@pytest.mark.parametrize('knobs, needle', [
    ({'dmem_plan_size': '150%'}, 'dmem_plan_size: '),
    ({'dmem_plan_min_host': '64G'}, 'dmem_plan_min_host: '),
])
def test_site_stops_at_planning_before_any_stage_changes_a_host(ansible, tmp_path, knobs, needle):
    """One host with a bad value: site.yml fails in its first play; no build, install or boot play runs."""
    names = sorted(os.listdir(HOSTS))[:2]
    site = os.path.join(HERE, '..', '..', 'playbooks', 'site.yml')
    proc = ansible.playbook(site, '-i', inventory(tmp_path, names, **knobs))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert needle in out
    assert 'PLAY [Plan dmem= for every host]' in out
    for later in ('Choose the builder', 'Build the dmemfs kernel packages', 'Install the dmemfs kernel',
                  'Put the planned dmem=', 'Trial boot', 'Mount dmemfs'):
        assert 'PLAY [%s' % later not in out
