# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning: per-node reservations from memory and policy, and its refusals."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import DmemError
from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_plan import plan

G = 1 << 30
M = 1 << 20
TWO_NODES = [{'id': 0, 'total': '64G'}, {'id': 1, 'total': 32 * G}]


def by_node(result, key='dmem'):
    return dict((n['id'], n[key]) for n in result['nodes'])


def test_per_node_reserves_size_on_each_node():
    result = plan(TWO_NODES, policy='per_node', size='16G')
    assert result['value'] == '16G'
    assert result['param'] == 'dmem=16G'
    assert by_node(result) == {0: 16 * G, 1: 16 * G}
    assert by_node(result, 'host') == {0: 48 * G, 1: 16 * G}
    assert result['dmem_total'] == 32 * G
    assert result['savings'] == 32 * G // 4096 * 64 == 512 * M
    assert result['align'] == 128 * M


def test_keep_reserves_the_rest_in_align_units():
    nodes = [{'id': 0, 'total': 64 * G + 300 * M}, {'id': 1, 'total': '32G'}]
    result = plan(nodes, policy='keep', size='8G', pagesize='1G')
    # pagesize 1G raises the alignment to 1G and the value says so
    assert result['value'] == '!8G:1G'
    assert result['align'] == G
    assert by_node(result) == {0: 56 * G, 1: 24 * G}
    assert by_node(result, 'host') == {0: 8 * G + 300 * M, 1: 8 * G}


def test_value_is_validated_against_nodes():
    result = plan(TWO_NODES, value='!8G:1G')
    assert by_node(result) == {0: 56 * G, 1: 24 * G}
    assert result['savings'] == 80 * G // 4096 * 64


def test_keep_on_a_node_smaller_than_keep_reserves_nothing_there_and_warns():
    result = plan([{'id': 0, 'total': '16G'}, {'id': 1, 'total': '4G'}], policy='keep', size='8G')
    assert by_node(result) == {0: 8 * G, 1: 0}
    assert result['warnings'] == ['node 1 gets no dmem reservation']


def test_range_policy_lands_on_the_node_that_holds_it():
    nodes = [{'id': 0, 'total': '4G', 'ranges': [{'start': 0, 'end': 3 * G}, {'start': 4 * G, 'end': 5 * G}]},
             {'id': 1, 'total': '4G', 'ranges': [{'start': 5 * G, 'end': 9 * G}]}]
    result = plan(nodes, policy='range', size='2G', addr='0x100000000')
    assert result['value'] == '2G@4G'
    assert by_node(result) == {0: G, 1: G}


def test_several_values_ranges_first_then_per_node():
    nodes = [{'id': 0, 'total': '8G', 'ranges': [{'start': 0, 'end': 8 * G}]}]
    result = plan(nodes, value=['2G@4G', '!4G'])
    assert result['values'] == ['2G@4G', '!4G']
    assert result['param'] == 'dmem=2G@4G dmem=!4G'
    assert by_node(result) == {0: 4 * G}


def test_min_host_is_enforced_per_node():
    with pytest.raises(DmemError) as info:
        plan(TWO_NODES, policy='per_node', size='28G', min_host='8G')
    assert info.value.field == 'min_host'
    assert 'node 1 would keep 4G for the kernel, below min_host 8G' in str(info.value)


@pytest.mark.parametrize('kwargs, field, rule', [
    (dict(policy='per_node', size='100G'), 'size', 'node 0 has only 64G left'),
    (dict(policy='per_node', size='0'), 'size', 'SIZE must not be 0'),
    (dict(policy='per_node', size='1000M'), 'size', 'not a multiple of ALIGN 128M'),
    (dict(policy='per_node', size='1536M', pagesize='1G'), 'size', 'not a multiple of ALIGN 1G'),
    (dict(policy='per_node', size='2G', align='2M'), 'align', 'ALIGN 2M is below the memory section size'),
    (dict(policy='per_node', size='2G', align='64M'), 'align', 'below the memory section size'),
    (dict(policy='per_node', size='2G', align='384M'), 'align', 'not a power of two'),
    (dict(policy='per_node', size='2G', align='256M', pagesize='1G'), 'align', 'ALIGN 256M is below pagesize 1G'),
    (dict(policy='range', size='2G', addr=0), 'addr', 'ADDR must not be 0'),
    (dict(policy='range', size='2G'), 'addr', 'is required with policy=range'),
    (dict(policy='keep', size='2G', addr='4G'), 'addr', 'only allowed with policy=range'),
    (dict(policy='keep'), 'size', 'is required'),
    (dict(policy='spread', size='2G'), 'policy', 'must be one of per_node, keep, range'),
    (dict(policy='per_node', size='2G', pagesize='16K'), 'pagesize', 'must be one of 4K, 2M, 1G'),
    (dict(policy='per_node', size='2GB'), 'size', "unexpected 'B'"),
    (dict(policy='per_node', size='2G', min_host='-1'), 'min_host', 'expected a number'),
    (dict(value='2G', policy='per_node'), 'value', 'exactly one of value'),
    (dict(), 'value', 'exactly one of value'),
    (dict(value='2G', size='1G'), 'value', 'go with policy'),
    (dict(value=[]), 'value', 'must not be an empty list'),
    (dict(value=['2G', '2G:1G:1G']), 'value[1]', 'given twice'),
    (dict(value='!4G:2M'), 'value', 'below the memory section size'),
    (dict(value='1536M', pagesize='1G'), 'value', 'SIZE 1536M is not a multiple of ALIGN 1G'),
    (dict(value='2G:256M', pagesize='1G'), 'value', 'ALIGN 256M is below pagesize 1G'),
    (dict(value='2G@4G'), 'nodes[].ranges', 'needs each node'),
    (dict(value='4G', section_size='100M'), 'section_size', 'power of two'),
])
def test_bad_input_names_the_argument(kwargs, field, rule):
    with pytest.raises(DmemError) as info:
        plan(TWO_NODES, **kwargs)
    assert info.value.field == field
    assert rule in str(info.value)


@pytest.mark.parametrize('nodes, field, rule', [
    ([], 'nodes', 'non-empty list'),
    ('64G', 'nodes', 'non-empty list'),
    ([{'id': 0}], 'nodes[0].total', 'is required'),
    ([{'id': -1, 'total': '1G'}], 'nodes[0].id', 'integer >= 0'),
    ([{'id': True, 'total': '1G'}], 'nodes[0].id', 'integer >= 0'),
    ([{'id': 0, 'total': '1G'}, {'id': 0, 'total': '1G'}], 'nodes[1].id', 'listed twice'),
    ([{'id': 0, 'total': '1.5G'}], 'nodes[0].total', "unexpected '.'"),
    (['node0'], 'nodes[0]', 'must be a dict'),
    ([{'id': 0, 'total': '1G', 'ranges': [{'start': 5, 'end': 1}]}], 'nodes[0].ranges[0]', 'end must be above start'),
])
def test_bad_nodes_name_the_element(nodes, field, rule):
    with pytest.raises(DmemError) as info:
        plan(nodes, policy='per_node', size='1G')
    assert info.value.field == field
    assert rule in str(info.value)


def test_overlapping_ranges_are_refused():
    nodes = [{'id': 0, 'total': '8G', 'ranges': [{'start': 0, 'end': 8 * G}]}]
    with pytest.raises(DmemError) as info:
        plan(nodes, value=['2G@4G', '1G@5G'])
    assert 'overlap' in str(info.value)


def test_range_outside_ram_is_refused():
    nodes = [{'id': 0, 'total': '4G', 'ranges': [{'start': 0, 'end': 4 * G}]}]
    with pytest.raises(DmemError) as info:
        plan(nodes, value='2G@3G')
    assert 'not all RAM' in str(info.value)


def test_struct_page_and_page_size_feed_the_savings():
    result = plan([{'id': 0, 'total': '8G'}], policy='per_node', size='4G', struct_page_size=56, page_size=16384)
    assert result['savings'] == 4 * G // 16384 * 56
    assert result['nodes'][0]['savings'] == result['savings']


def test_percent_per_node_is_a_share_of_the_smallest_node():
    result = plan(TWO_NODES, policy='per_node', size='50%', pagesize='1G')
    assert result['param'] == 'dmem=16G:1G'
    assert [n['dmem'] for n in result['nodes']] == [16 * G, 16 * G]


def test_percent_keep_leaves_at_least_that_share_of_every_node():
    result = plan(TWO_NODES, policy='keep', size='10%', pagesize='2M')
    # 10 % of 64G is 6553.6M, rounded up to the 128M section: 6656M on every node
    assert result['param'] == 'dmem=!6656M'
    assert [n['host'] for n in result['nodes']] == [6656 * M, 6656 * M]
    assert all(n['host'] >= n['total'] // 10 for n in result['nodes'])


@pytest.mark.parametrize('size, rule', [
    ('150%', 'a percentage must be above 0 and at most 100'),
    ('100.5%', 'a percentage must be above 0 and at most 100'),
    ('0%', 'a percentage must be above 0 and at most 100'),
    ('%', 'a percentage is a number followed by %'),
    ('-5%', 'a percentage is a number followed by %'),
    ('\uff19\uff10%', 'a percentage is a number followed by %'),
    ('0.0001%', 'less than one'),
])
def test_bad_percentages_name_size(size, rule):
    with pytest.raises(DmemError) as err:
        plan(TWO_NODES, policy='per_node', size=size)
    assert err.value.field == 'size' and rule in str(err.value)


def test_percent_is_refused_with_range():
    with pytest.raises(DmemError) as err:
        plan(TWO_NODES, policy='range', size='10%', addr='4G')
    assert err.value.field == 'size' and 'keep or per_node' in str(err.value)


@pytest.mark.parametrize('kwargs, field', [
    (dict(policy='keep', size='16G'), 'size'),
    (dict(value='!16G'), 'value'),
])
def test_a_plan_that_reserves_nothing_anywhere_fails_naming_the_field_and_the_largest_node(kwargs, field):
    with pytest.raises(DmemError) as exc:
        plan([{'id': 0, 'total': '4G'}, {'id': 1, 'total': '8G'}], **kwargs)
    assert exc.value.field == field
    assert 'reserves nothing on any node (the largest, node 1, has 8G)' in str(exc.value)
