# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The three modules as users run them: through ansible, in normal and check mode."""

import json
import os

import pytest

from conftest import HOSTS

G = 1 << 30


@pytest.mark.parametrize('check', [False, True])
def test_dmem_plan_keep_policy(ansible, check):
    rc, result, out = ansible.module('dmem_plan', {
        'nodes': [{'id': 0, 'total': '16G'}, {'id': 1, 'total': 12 * G}],
        'policy': 'keep', 'size': '4G', 'pagesize': '1G', 'min_host': '2G'}, check=check)
    assert rc == 0, out
    assert result['changed'] is False
    assert result['param'] == 'dmem=!4G:1G'
    assert [n['dmem'] for n in result['nodes']] == [12 * G, 8 * G]
    assert result['savings'] == 20 * G // 4096 * 64


@pytest.mark.parametrize('args, needle', [
    ({'policy': 'per_node', 'size': '1.5G'}, "size='1.5G': unexpected '.'"),
    ({'policy': 'per_node', 'size': '4G', 'pagesize': '16K'}, 'pagesize must be one of: 4K, 2M, 1G'),
    ({'policy': 'range', 'size': '2G', 'addr': 0}, 'addr='),
    ({'policy': 'per_node', 'size': '6G', 'min_host': '4G'}, 'min_host'),
    ({'value': '0x40200000:1G'}, "value='0x40200000:1G': SIZE 1026M is not a multiple of ALIGN 1G"),
    ({'value': '2G', 'policy': 'keep'}, 'mutually exclusive'),
    ({}, 'one of the following is required: value, policy'),
])
def test_dmem_plan_bad_input_fails_cleanly(ansible, args, needle):
    args = dict(args, nodes=[{'id': 0, 'total': '8G'}])
    rc, result, out = ansible.module('dmem_plan', args)
    assert rc != 0
    assert needle in result['msg']
    assert 'Traceback' not in out and 'exception' not in result


@pytest.mark.parametrize('name', sorted(n for n in os.listdir(HOSTS) if os.path.isdir(os.path.join(HOSTS, n))))
def test_dmem_facts_on_captured_trees(ansible, name):
    rc, result, out = ansible.module('dmem_facts', {'root': os.path.join(HOSTS, name)}, check=True)
    assert rc == 0, out
    facts = result['ansible_facts']['dmem']
    with open(os.path.join(HOSTS, name, 'qemu.json')) as handle:
        layout = json.load(handle)
    assert len(facts['nodes']) == len(layout['numa_node_memory'])
    assert result['changed'] is False


def test_dmem_facts_on_this_machine(ansible):
    rc, result, out = ansible.module('dmem_facts', {})
    assert rc == 0, out
    facts = result['ansible_facts']['dmem']
    assert facts['total'] > 0
    assert facts['kernel_release'] == os.uname()[2]


def test_dmem_facts_without_the_boot_section(ansible):
    name = sorted(n for n in os.listdir(HOSTS) if os.path.isdir(os.path.join(HOSTS, n)))[0]
    root = os.path.join(HOSTS, name)
    rc, whole, out = ansible.module('dmem_facts', {'root': root}, check=True)
    assert rc == 0, out
    rc, result, out = ansible.module('dmem_facts', {'root': root, 'boot': False}, check=True)
    assert rc == 0, out
    facts, full = result['ansible_facts']['dmem'], whole['ansible_facts']['dmem']
    assert full['boot'] is not None and facts['boot'] is None
    del full['boot'], facts['boot']
    assert facts == full


def test_dmem_facts_bad_root(ansible, tmp_path):
    rc, result, out = ansible.module('dmem_facts', {'root': str(tmp_path / 'nowhere')})
    assert rc != 0
    assert result['msg'].startswith('root: ')


def test_dmem_savings_without_dmem_is_zero_and_honest(ansible):
    name = sorted(os.listdir(HOSTS))[0]
    rc, result, out = ansible.module('dmem_savings', {'root': os.path.join(HOSTS, name)}, check=True)
    assert rc == 0, out
    assert result['dmem_total'] == 0
    assert result['predicted'] == 0
    assert result['changed'] is False


def test_dmem_savings_compares_with_a_plan(ansible):
    name = sorted(os.listdir(HOSTS))[0]
    plan = {'nodes': [{'id': 0, 'dmem': G}]}
    rc, result, out = ansible.module('dmem_savings', {'root': os.path.join(HOSTS, name), 'plan': plan})
    assert rc == 0, out
    assert result['plan_match'] is False
    assert result['plan_mismatch'] == [{'id': 0, 'planned': G, 'reserved': 0}]
