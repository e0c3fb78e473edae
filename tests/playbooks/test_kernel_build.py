# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel_build role on localhost, run by ansible-playbook.

Most tests build the stand-in kernel tree of test_kernel_build_script.py in a
private cache. test_the_test_fleet_inputs_with_a_warm_cache uses the real cache of
kernel/build.sh: it expects the dmemfs kernel there (make kernel-test builds
it) and, if it is missing, builds it (15-30 min).
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from test_kernel_build_script import BUILD_SH, fake_kernel_tarball

PLAYBOOK = u"""---
- name: Build with the kernel_build role
  hosts: localhost
  gather_facts: false
  roles:
    - role: dmemfs.fleet.kernel_build
  tasks:
    - name: Keep the result for the test
      ansible.builtin.copy:
        content: "{{ kernel_build_result | to_nice_json }}"
        dest: "{{ test_result_file }}"
        mode: "0644"
      check_mode: false
      changed_when: false
"""


class Role(object):
    """Runs the role with kernel_build_* variables; results under tmp_path."""

    def __init__(self, ansible, tmp_path):
        self.ansible = ansible
        self.tmp_path = tmp_path
        self.playbook = tmp_path / 'build.yml'
        self.playbook.write_text(PLAYBOOK)
        self.result_file = tmp_path / 'result.json'
        self.fetch_dir = tmp_path / 'packages'
        self.count = 0

    def run(self, check=False, **variables):
        self.count += 1
        if self.result_file.exists():
            self.result_file.unlink()
        variables.setdefault('kernel_build_fetch_dir', str(self.fetch_dir))
        variables['test_result_file'] = str(self.result_file)
        extra = self.tmp_path / ('vars%d.json' % self.count)
        extra.write_text(json.dumps(variables))
        args = ['-e', '@' + str(extra)] + (['--check'] if check else [])
        proc = self.ansible.playbook(str(self.playbook), *args)
        result = json.loads(self.result_file.read_text()) if self.result_file.exists() else None
        return proc, result


@pytest.fixture
def role(ansible, tmp_path):
    return Role(ansible, tmp_path)


def recap_changed(stdout):
    match = re.search(r'localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0', stdout)
    assert match, stdout
    return int(match.group(1))


def task_status(stdout, name):
    """The status word (ok, changed, skipping, fatal) of the first result line after task NAME."""
    start = stdout.index('TASK [dmemfs.fleet.kernel_build : ' + name)
    match = re.compile(r'^(ok|changed|skipping|fatal): \[localhost\]', re.M).search(stdout, start)
    return match.group(1)


def stand_in(tmp_path, **extra):
    """Variables for the stand-in tarball in a private cache, without our patches."""
    tarball = tmp_path / 'linux-stand-in.tar.xz'
    sha = fake_kernel_tarball(tarball)
    patches = tmp_path / 'nopatches'
    if not patches.exists():
        patches.mkdir()
    variables = {
        'kernel_build_source': 'tarball',
        'kernel_build_tarball': str(tarball),
        'kernel_build_tarball_sha256': sha,
        'kernel_build_patches_dir': str(patches),
        'kernel_build_cache_dir': str(tmp_path / 'cache'),
        'kernel_build_nice': 0,
        'kernel_build_poll': 1,
        'kernel_build_config_base': 'defconfig',
    }
    variables.update(extra)
    return variables


@pytest.mark.parametrize('variables, needle', [
    ({'kernel_build_source': 'tarball', 'kernel_build_tarball': '/srv/linux-6.12.tar.xz'},
     'kernel_build_tarball_sha256 is required when kernel_build_source is tarball'),
    ({'kernel_build_source': 'tarball', 'kernel_build_tarball': '/srv/linux-6.12.tar.xz',
      'kernel_build_tarball_sha256': 'abc123'},
     "kernel_build_tarball_sha256 must be 64 hex digits, got 'abc123'"),
    ({'kernel_build_source': 'tarball', 'kernel_build_tarball': '/srv/linux-6.12.zip',
      'kernel_build_tarball_sha256': 'a' * 64},
     'kernel_build_tarball must end in .tar.xz or .tar.gz, got /srv/linux-6.12.zip'),
    ({'kernel_build_source': 'tarball', 'kernel_build_tarball_sha256': 'a' * 64},
     'kernel_build_tarball is required when kernel_build_source is tarball'),
    ({'kernel_build_package_format': 'zip'}, 'kernel_build_package_format must be one of: deb, rpm'),
    ({'kernel_build_config_base': 'allyes'}, 'kernel_build_config_base must be one of: fleet, defconfig, running, file'),
    ({'kernel_build_source': 'svn'}, 'kernel_build_source must be one of: debian, tarball, git'),
    ({'kernel_build_source': 'git'}, 'kernel_build_git_repo is required when kernel_build_source is git'),
    ({'kernel_build_source': 'git', 'kernel_build_git_repo': '/srv/linux', 'kernel_build_git_ref': ''},
     'kernel_build_git_ref is required when kernel_build_source is git'),
    ({'kernel_build_config_base': 'file'}, "kernel_build_config_file must be a kernel .config on the controller"),
    ({'kernel_build_config_fragments': ['/nonexistent/extra.config']},
     'kernel_build_config_fragments must be config fragments on the controller; not files: /nonexistent/extra.config'),
    ({'kernel_build_patches_dir': '/nonexistent'}, "kernel_build_patches_dir must be a directory on the controller"),
    ({'kernel_build_jobs': 'many'}, 'kernel_build_jobs'),
    ({'kernel_build_nice': 25}, 'kernel_build_nice 0 to 19 (got 25)'),
])
def test_bad_input_fails_before_anything_happens(role, tmp_path, variables, needle):
    variables = dict(variables, kernel_build_cache_dir=str(tmp_path / 'cache'))
    proc, result = role.run(**variables)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert needle in ' '.join(output.split()), output
    assert 'Traceback' not in output
    # nothing ran on the builder, nothing came to the controller
    assert "Read the builder's user" not in output
    assert not (tmp_path / 'cache').exists()
    assert not role.fetch_dir.exists()
    assert result is None


def test_builder_side_refusals_name_the_role_variable(role, tmp_path):
    variables = stand_in(tmp_path, kernel_build_tarball_sha256='0' * 64)
    proc, _result = role.run(**variables)
    output = ' '.join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "kernel_build_tarball: DMEMFS_KERNEL_TAR='%s' has sha256" % variables['kernel_build_tarball'] in output
    assert not (tmp_path / 'cache' / 'kernel').exists()
    missing = stand_in(tmp_path, kernel_build_source='git', kernel_build_git_repo=str(tmp_path))
    proc, _result = role.run(**missing)
    output = ' '.join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "kernel_build_git_repo: DMEMFS_KERNEL_GIT='%s' is not a git tree" % tmp_path in output


@pytest.mark.skipif(shutil.which('rpmbuild') is not None, reason='rpmbuild is installed here')
def test_rpm_without_rpmbuild_names_the_package_format(role, tmp_path):
    proc, _result = role.run(**stand_in(tmp_path, kernel_build_package_format='rpm', kernel_build_install_deps=False))
    output = ' '.join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert 'kernel_build_package_format: DMEMFS_PACKAGE=rpm needs rpmbuild' in output


def test_builds_once_fetches_once_and_check_mode_builds_nothing(role, tmp_path):
    variables = stand_in(tmp_path)
    # check mode on a fresh builder: would build, builds and fetches nothing
    proc, result = role.run(check=True, **variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert task_status(proc.stdout, 'Say what would be built') == 'changed'
    assert result['would_build'] is True and result['built'] is False and result['hash'] is None
    assert not (tmp_path / 'cache').exists()
    assert not role.fetch_dir.exists()
    # a real run builds
    proc, result = role.run(**variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert task_status(proc.stdout, 'Build the kernel') == 'changed'
    release = '6.12.0-fake-dmemfs'
    assert result == {
        'hash': result['hash'],
        'release': release,
        'package_format': 'deb',
        'packages': [str(role.fetch_dir / result['hash'] / ('linux-%s-%s_1_amd64.deb' % (kind, release)))
                     for kind in ('image', 'headers')],
        'output_dir': str(tmp_path / 'cache' / 'kernel' / result['hash']),
        'built': True,
        'would_build': False,
        'source': 'tarball linux-stand-in.tar.xz sha256 ' + variables['kernel_build_tarball_sha256'],
        'config_base': 'x86_64_defconfig + kvm_guest.config',
        'fleet': None,
        'modules_missing': None,
    }
    for package in result['packages']:
        assert os.path.isfile(package)
    assert 'build-progress.log' in proc.stdout
    first = result
    # again: a cache hit, nothing changes anywhere
    proc, result = role.run(**variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap_changed(proc.stdout) == 0
    assert result == dict(first, built=False)
    # check mode now knows the hash and has nothing to do
    proc, result = role.run(check=True, **variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap_changed(proc.stdout) == 0
    assert result == dict(first, built=False)


def test_patches_removed_from_the_inputs_leave_the_builder(role, tmp_path):
    patches = tmp_path / 'patches'
    patches.mkdir()
    (patches / '0001-add.patch').write_text(u'--- /dev/null\n+++ b/ADDED\n@@ -0,0 +1 @@\n+added\n')
    variables = stand_in(tmp_path, kernel_build_patches_dir=str(patches))
    proc, with_patch = role.run(**variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tree = tmp_path / 'cache' / 'kernel' / 'work' / 'linux-source-6.12'
    assert (tree / 'ADDED').read_text() == u'added\n'
    (patches / '0001-add.patch').unlink()
    proc, without = role.run(**variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert without['built'] is True and without['hash'] != with_patch['hash']
    assert not (tree / 'ADDED').exists()
    assert os.listdir(str(tmp_path / 'cache' / 'kernel-build' / 'patches')) == []


def test_the_test_fleet_inputs_with_a_warm_cache(role):
    """The kernel of inventories/local (and of the pipeline scenario) is build.sh's default, make kernel-test's."""
    with open(os.path.join(os.path.dirname(BUILD_SH), '..', 'inventories', 'local', 'group_vars', 'all.yml')) as handle:
        local = yaml.safe_load(handle)
    test_fleet = dict((k, v) for k, v in local.items() if k.startswith('kernel_build_'))
    assert test_fleet['kernel_build_config_base'] == 'defconfig'
    with open(os.path.join(os.path.dirname(BUILD_SH), '..', 'molecule', 'pipeline', 'molecule.yml')) as handle:
        scenario = yaml.safe_load(handle)['provisioner']['inventory']['group_vars']['all']
    assert scenario['kernel_build_config_base'] == 'defconfig'
    assert ([os.path.basename(f) for f in scenario['kernel_build_config_fragments']]
            == [os.path.basename(f) for f in test_fleet['kernel_build_config_fragments']])
    # what the default inputs hash to, and whether the real cache has them (make kernel-test builds them)
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('DMEMFS_') or k == 'DMEMFS_CACHE_DIR')
    dry = subprocess.run(['bash', BUILD_SH], env=dict(env, DMEMFS_DRY_RUN='1'), capture_output=True, text=True,
                         check=False)
    assert dry.returncode == 0, dry.stderr
    values = dict(line.split('=', 1) for line in dry.stdout.splitlines())
    warm = values['CACHED'] == 'yes'
    proc, result = role.run(**test_fleet)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # with a cold cache the role builds it once, here (15-30 min)
    if warm:
        assert task_status(proc.stdout, 'Take the build from the cache') == 'ok'
        assert task_status(proc.stdout, 'Build the kernel') == 'skipping'
    else:
        assert task_status(proc.stdout, 'Build the kernel') == 'changed'
    assert result['built'] is not warm
    assert result['hash'] == values['HASH']
    assert result['output_dir'] == values['OUTPUT_DIR']
    assert result['package_format'] == 'deb'
    release = result['release']
    with open(os.path.join(result['output_dir'], 'kernelrelease')) as handle:
        assert handle.read().strip() == release
    image = result['packages'][0]
    assert os.path.dirname(image) == str(role.fetch_dir / result['hash'])
    assert os.path.basename(image).startswith('linux-image-%s_' % release) and image.endswith('.deb')
    assert os.path.isfile(image) and os.path.getsize(image) > 1 << 20
    # a second run changes nothing: the packages are not fetched again
    proc, again = role.run(**test_fleet)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap_changed(proc.stdout) == 0
    assert task_status(proc.stdout, 'Take the build from the cache') == 'ok'
    assert again == dict(result, built=False)


# the fleet's facts read from captured trees, then PLAYBOOK's play
FLEET_PLAYBOOK = u"""---
- name: Read the fleet's facts from captured trees
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Read the dmem facts
      dmemfs.fleet.dmem_facts:
        root: "{{ test_tree }}"

""" + PLAYBOOK.split(u'---\n', 1)[1]


def fleet_tree(path, release, config, modules):
    """A host's tree: a Debian-captured /proc and /sys, the running RELEASE, its config and loaded MODULES."""
    if not path.exists():
        shutil.copytree(os.path.join(os.path.dirname(BUILD_SH), '..', 'tests', 'fixtures', 'hosts', 'debian6.1-1node'),
                        str(path))
    (path / 'boot').mkdir(exist_ok=True)
    (path / 'boot' / ('vmlinuz-' + release)).write_text(u'not a kernel\n')
    (path / 'boot' / ('config-' + release)).write_text(config)
    (path / 'proc' / 'sys' / 'kernel' / 'osrelease').write_text(release + u'\n')
    (path / 'proc' / 'modules').write_text(u''.join(u'%s 16384 0 - Live 0x0\n' % m for m in modules))
    return path


def test_the_fleet_config_trimmed_to_the_modules_the_fleet_uses(ansible, tmp_path):
    """The default base (fleet) on a 2-host fleet of captured trees, built from the stand-in tree.

    The hosts are trees read by dmem_facts (root=), not VMs: what is tested is the role's choice of the
    config and the module set, and that a build stays the same while the fleet loads less than it kept."""
    config = (u'CONFIG_FAKE_BASE=y\nCONFIG_FAKE_MOD_KVM_AMD=m\nCONFIG_FAKE_MOD_NVME=m\nCONFIG_FAKE_MOD_XFS=m\n'
              u'CONFIG_FAKE_MOD_I915=m\n')
    hv1 = fleet_tree(tmp_path / 'hv1', '6.1.0-50-amd64', config, ['kvm_amd', 'nvme'])
    hv2 = fleet_tree(tmp_path / 'hv2', '6.1.0-50-amd64', u'CONFIG_OTHER=y\n', ['kvm_amd'])
    inventory = tmp_path / 'hosts.yml'
    local = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
    inventory.write_text(json.dumps({'all': {'children': {'fleet': {'hosts': {
        'hv1': dict(local, test_tree=str(hv1)), 'hv2': dict(local, test_tree=str(hv2))}}}}}))
    playbook = tmp_path / 'fleet.yml'
    playbook.write_text(FLEET_PLAYBOOK)
    result_file = tmp_path / 'result.json'
    fetch = tmp_path / 'packages'
    variables = stand_in(tmp_path, kernel_build_config_base='fleet', kernel_build_fleet='fleet',
                         kernel_build_fetch_dir=str(fetch), test_result_file=str(result_file),
                         kernel_build_config_fragments=[])
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps(variables))

    def run(*args):
        if result_file.exists():
            result_file.unlink()
        proc = ansible.playbook(str(playbook), '-i', str(inventory), '-e', '@' + str(extra), *args)
        return proc, json.loads(result_file.read_text()) if result_file.exists() else None

    proc, first = run()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert first['built'] is True
    with open(os.path.join(first['output_dir'], '.config')) as handle:
        built = handle.read().splitlines()
    # hv1's config (the first host), keeping what hv1 and hv2 load: kvm_amd, nvme; not xfs, i915
    assert 'CONFIG_FAKE_BASE=y' in built and 'CONFIG_OTHER=y' not in built
    assert 'CONFIG_FAKE_MOD_KVM_AMD=m' in built and 'CONFIG_FAKE_MOD_NVME=m' in built
    assert '# CONFIG_FAKE_MOD_XFS is not set' in built and '# CONFIG_FAKE_MOD_I915 is not set' in built
    assert first['modules_missing'] == []
    assert first['fleet'] == {'host': 'hv1', 'config': str(hv1 / 'boot' / 'config-6.1.0-50-amd64'), 'modules': 2}
    assert first['config_base'] == 'config file %s, trimmed to 2 modules' % (tmp_path / 'cache' / 'kernel-build' / 'base.config')
    assert (fetch / 'fleet-modules').read_text() == u'kvm_amd\nnvme\n'
    # a second run changes nothing
    proc, again = run()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap_changed(proc.stdout) == 0 and again == dict(first, built=False)
    # hv1 unloads nvme today: the build stays the same (what was kept is kept)
    fleet_tree(hv1, '6.1.0-50-amd64', config, ['kvm_amd'])
    proc, fewer = run()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert fewer['hash'] == first['hash'] and recap_changed(proc.stdout) == 0
    # hv2 loads xfs: check mode says a new build would be made, and makes nothing
    fleet_tree(hv2, '6.1.0-50-amd64', u'CONFIG_OTHER=y\n', ['kvm_amd', 'xfs'])
    proc, preview = run('--check')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert preview['would_build'] is True
    assert (fetch / 'fleet-modules').read_text() == u'kvm_amd\nnvme\n'
    proc, more = run()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert more['built'] is True and more['hash'] != first['hash']
    with open(os.path.join(more['output_dir'], '.config')) as handle:
        assert 'CONFIG_FAKE_MOD_XFS=m' in handle.read().splitlines()
    assert (fetch / 'fleet-modules').read_text() == u'kvm_amd\nnvme\nxfs\n'


@pytest.mark.parametrize('fleet', ['localhost', ['localhost']])
def test_a_fleet_build_without_the_fleet_s_facts_names_the_variable(role, tmp_path, fleet):
    # a pattern, or a list of patterns as hosts: takes
    proc, result = role.run(**stand_in(tmp_path, kernel_build_config_base='fleet', kernel_build_fleet=fleet))
    assert proc.returncode != 0 and result is None
    assert "kernel_build_fleet=['localhost']: no host of it has dmem facts in this run" in proc.stdout
    # nothing was written on the builder
    assert not (tmp_path / 'cache').exists()
