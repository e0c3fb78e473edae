# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's modules and filters through real ansible commands on localhost."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
# The collections directory above this copy of the collection (make stage):
# tests import the collection's own module_utils from there.
COLLECTIONS = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..', '..'))
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
HOSTS = os.path.join(HERE, '..', 'fixtures', 'hosts')
# Modules run under the interpreter running the tests, not whatever discovery finds.
INTERPRETER = 'ansible_python_interpreter=' + sys.executable


class Runner(object):
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.count = 0

    def module(self, name, args, check=False, diff=False):
        """Ad-hoc ``ansible localhost -m dmemfs.fleet.NAME``; returns (rc, result dict, stderr)."""
        self.count += 1
        tree = self.tmp_path / ('tree%d' % self.count)
        cmd = ['ansible', 'localhost', '-c', 'local', '-i', 'localhost,', '-e', INTERPRETER, '-m', 'dmemfs.fleet.' + name]
        if args:
            cmd += ['-a', json.dumps(args)]
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        # The tree callback writes each host's result as JSON.
        env = dict(ansible_env(), ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_CALLBACKS_ENABLED='ansible.builtin.tree',
                   ANSIBLE_CALLBACK_TREE_DIR=str(tree))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        with open(str(tree / 'localhost')) as handle:
            return proc.returncode, json.load(handle), proc.stdout + proc.stderr

    def playbook(self, path, *extra):
        inventory = [] if '-i' in extra else ['-i', 'localhost,', '-c', 'local']
        cmd = ['ansible-playbook'] + inventory + ['-e', INTERPRETER, path] + list(extra)
        return subprocess.run(cmd, capture_output=True, text=True, env=ansible_env(), check=False)


def ansible_env():
    env = dict(os.environ)
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', COLLECTIONS)
    env['ANSIBLE_NOCOLOR'] = '1'
    env['ANSIBLE_LOCALHOST_WARNING'] = '0'
    env['ANSIBLE_INVENTORY_UNPARSED_WARNING'] = '0'
    return env


@pytest.fixture
def ansible(tmp_path):
    return Runner(tmp_path)
