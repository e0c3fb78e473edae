# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report role over trees captured from QEMU VMs, run by ansible-playbook."""

import json
import os
import shutil

from conftest import HERE, HOSTS, INTERPRETER


def write_inventory(tmp_path, names, report_dir):
    lines = ['[captured]']
    for name in names:
        lines.append('%s ansible_connection=local dmem_report_root=%s' % (name, os.path.join(HOSTS, name)))
    lines += ['', '[all:vars]', INTERPRETER, 'dmem_report_dir=%s' % report_dir]
    path = tmp_path / 'hosts.ini'
    path.write_text(u'\n'.join(lines) + u'\n')
    return str(path)


def test_report_writes_json_and_html_and_is_idempotent(ansible, tmp_path):
    names = sorted(os.listdir(HOSTS))
    report_dir = tmp_path / 'report'
    inventory = write_inventory(tmp_path, names, report_dir)
    first = ansible.playbook(os.path.join(HERE, 'report.yml'), '-i', inventory)
    assert first.returncode == 0, first.stdout + first.stderr
    with open(str(report_dir / 'fleet.json')) as handle:
        report = json.load(handle)
    assert sorted(report['hosts']) == names
    for name in names:
        result = report['hosts'][name]
        assert result['predicted'] == result['dmem_total'] // 4096 * 64
    fleet = report['fleet']
    assert fleet['hosts'] == len(names)
    assert fleet['dmem_total'] == sum(r['dmem_total'] for r in report['hosts'].values())
    assert fleet['summary'] in first.stdout
    html = (report_dir / 'index.html').read_text()
    assert fleet['summary'] in html
    for name in names:
        assert '<td>%s</td>' % name in html
    assert html.count('class="measured" x="150"') == len(names)
    # nothing changes on a second run
    second = ansible.playbook(os.path.join(HERE, 'report.yml'), '-i', inventory)
    assert second.returncode == 0, second.stdout + second.stderr
    assert 'changed=0' in second.stdout and 'changed=1' not in second.stdout


def test_report_lists_every_host_with_its_state(ansible, tmp_path):
    """A failed and a not reached host (their rollout results), and one that cannot be reached at all."""
    names = sorted(os.listdir(HOSTS))[:3]
    report_dir = tmp_path / 'report'
    inventory = write_inventory(tmp_path, names, report_dir)
    with open(inventory, 'a') as handle:
        handle.write('[captured]\ngone ansible_host=127.0.0.1 ansible_port=9 ansible_connection=ssh '
                     'ansible_ssh_common_args="-o ConnectTimeout=2"\n')
    results = tmp_path / 'results.yml'
    results.write_text(
        u'dmem_reboot_result: "{{ {%r: {\'status\': \'failed\', \'reason\': \'trial guard: red\'}, '
        u'%r: {\'status\': \'not_reached\', \'reason\': \'rollout halted\'}}[inventory_hostname] | default({\'status\': \'ok\'}) }}"\n'
        % (names[0], names[1]))
    run = ansible.playbook(os.path.join(HERE, 'report.yml'), '-i', inventory, '-e', '@' + str(results))
    # the unreachable host is counted by ansible; the report is written all the same
    assert run.returncode == 4, run.stdout + run.stderr
    with open(str(report_dir / 'fleet.json')) as handle:
        fleet = json.load(handle)['fleet']
    states = dict((item['host'], (item['state'], item['reason'])) for item in fleet['failed'])
    assert states == {names[0]: ('failed', 'trial guard: red'), names[1]: ('not_reached', 'rollout halted'),
                      'gone': ('unreachable', 'could not be reached, so it was left out')}
    # the failed and the not reached host run their verified configurations: measured all the same
    assert fleet['hosts'] == 3
    html = (report_dir / 'index.html').read_text()
    assert html.count('<td>not_reached</td>') == 1 and html.count('<td>unreachable</td>') == 1


def test_report_flags_guests_whose_configuration_fails_on_dmemfs(ansible, tmp_path):
    """A captured host with dmemfs mounted and two QEMU guests on it: one with an O_DIRECT disk, one without."""
    src = os.path.join(HOSTS, 'dmemfs6.12-2node-keep512M')
    tree = tmp_path / 'hosts' / 'hv1'
    shutil.copytree(src, str(tree))
    with open(str(tree / 'proc' / 'mounts'), 'a') as handle:
        handle.write('none /srv/dmem dmemfs rw,relatime,pagesize=2M 0 0\n')
    ram = 'memory-backend-file,id=ram0,size=1G,mem-path=/srv/dmem/%s,share=on,align=2M'
    guests = {
        '4242': ['qemu-system-x86_64', '-name', 'guest=db1', '-object', ram % 'db1',
                 '-drive', 'file=/var/lib/vm/db1.img,id=disk0,if=virtio,cache=none,aio=native'],
        '4343': ['qemu-system-x86_64', '-name', 'guest=web1', '-object', ram % 'web1',
                 '-drive', 'file=/var/lib/vm/web1.img,id=disk0,if=virtio,cache=writeback'],
    }
    for pid, argv in guests.items():
        (tree / 'proc' / pid).mkdir()
        (tree / 'proc' / pid / 'cmdline').write_bytes(b'\0'.join(a.encode() for a in argv) + b'\0')
    report_dir = tmp_path / 'report'
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text(u'[captured]\nhv1 ansible_connection=local dmem_report_root=%s\n\n[all:vars]\n%s\n'
                         u'dmem_report_dir=%s\n' % (tree, INTERPRETER, report_dir))
    run = ansible.playbook(os.path.join(HERE, 'report.yml'), '-i', str(inventory))
    assert run.returncode == 0, run.stdout + run.stderr
    with open(str(report_dir / 'fleet.json')) as handle:
        report = json.load(handle)
    at_risk = report['hosts']['hv1']['guests_at_risk']
    assert [(g['pid'], g['name'], g['dmemfs_ram']) for g in at_risk] == [(4242, 'db1', ['/srv/dmem/db1'])]
    assert [p['option'] for p in at_risk[0]['problems']] == ['-drive disk0: cache=none']
    assert report['fleet']['guests_at_risk'] == [
        {'host': 'hv1', 'pid': 4242, 'name': 'db1', 'problems': ['-drive disk0: cache=none']}]
    assert '1 guest(s) on dmemfs with a configuration known to fail: hv1 pid 4242' in report['fleet']['summary']
    html = (report_dir / 'index.html').read_text()
    assert '<table id="guests">' in html and '<td>db1</td>' in html and 'web1' not in html
