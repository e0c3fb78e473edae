# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kernel/build.sh on a stand-in kernel tree: its inputs, the hash, the unpacking and the cache.

The stand-in tree has a Makefile and the two kconfig scripts build.sh calls, so a
"build" takes a second and no real kernel is compiled. Every test has its own
DMEMFS_CACHE_DIR, so the real cache and its lock are never touched.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from conftest import HERE

BUILD_SH = os.path.abspath(os.path.join(HERE, '..', '..', 'kernel', 'build.sh'))
KERNEL_DIR = os.path.dirname(BUILD_SH)

FAKE_MAKEFILE = r"""# Stand-in for a kernel tree: the targets kernel/build.sh runs, in a second.
.RECIPEPREFIX := >
LOCALVERSION := $(shell sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"$$/\1/p' .config 2>/dev/null)
RELEASE := 6.12.0-fake$(LOCALVERSION)
.PHONY: x86_64_defconfig kvm_guest.config olddefconfig localmodconfig image bindeb-pkg binrpm-pkg kernelrelease

x86_64_defconfig:
>printf 'CONFIG_FAKE_DEFCONFIG=y\n' >.config
kvm_guest.config:
>printf 'CONFIG_FAKE_KVM_GUEST=y\n' >>.config
# like the real one, drops what it cannot satisfy (here: CONFIG_FAKE_DROPPED)
olddefconfig:
>sed -i -e '/^CONFIG_FAKE_DROPPED=/d' -e 's/^\(CONFIG_[A-Z0-9_]*\)=n$$/# \1 is not set/' .config
# like the real one, turns off each module (=m) not named in the file LSMOD;
# here a module's option is CONFIG_FAKE_MOD_<NAME>
localmodconfig:
>awk 'NR == FNR { keep["CONFIG_FAKE_MOD_" toupper($$1)] = 1; next } \
  /=m$$/ { split($$0, kv, "="); if (!(kv[1] in keep)) { print "# " kv[1] " is not set"; next } } { print }' \
  $(LSMOD) .config >.config.new && mv .config.new .config
image:
>sed -n 's|^CONFIG_FAKE_MOD_\([A-Z0-9_]*\)=m$$|kernel/fake/\1.ko|p' .config | tr A-Z a-z >modules.order
>sed -n 's|^CONFIG_FAKE_MOD_\([A-Z0-9_]*\)=y$$|kernel/fake/\1.ko|p' .config | tr A-Z a-z >modules.builtin
>mkdir -p arch/x86/boot
>echo bzImage >arch/x86/boot/bzImage
>echo System.map >System.map
bindeb-pkg: image
>for p in linux-image-$(RELEASE)_1_amd64 linux-image-$(RELEASE)-dbg_1_amd64 \
  linux-headers-$(RELEASE)_1_amd64 linux-libc-dev_1_amd64; do echo $$p >../$$p.deb; done
binrpm-pkg: image
>mkdir -p rpmbuild/RPMS/x86_64
>for p in kernel-6.12.0-1 kernel-headers-6.12.0-1 kernel-devel-6.12.0-1; do \
  echo $$p >rpmbuild/RPMS/x86_64/$$p.x86_64.rpm; done
kernelrelease:
>@echo $(RELEASE)
"""

FAKE_MERGE_CONFIG = r"""#!/bin/sh
# Stand-in for scripts/kconfig/merge_config.sh -m BASE FRAGMENT...
set -e
[ "$1" = -m ] && shift
base=$1
shift
for frag in "$@"; do
    grep -E '^CONFIG_[A-Za-z0-9_]+=' "$frag" | while IFS= read -r line; do
        name=${line%%=*}
        sed -i -e "/^$name=/d" -e "/^# $name is not set/d" "$base"
        printf '%s\n' "$line" >>"$base"
    done
done
"""

FAKE_CONFIG = r"""#!/bin/sh
# Stand-in for scripts/config --set-str NAME VALUE
[ "$1" = --set-str ] || exit 1
sed -i "s|^CONFIG_$2=.*|CONFIG_$2=\"$3\"|" .config
"""


def fake_tree_files(marker='one'):
    """The stand-in tree as {relative path: (mode, text)}."""
    return {
        'Makefile': (0o644, FAKE_MAKEFILE),
        'scripts/kconfig/merge_config.sh': (0o755, FAKE_MERGE_CONFIG),
        'scripts/config': (0o755, FAKE_CONFIG),
        'README': (0o644, 'stand-in kernel tree %s\n' % marker),
    }


def fake_kernel_tarball(path, top='linux-weird-1.0', marker='one'):
    """Write the stand-in tree as a tarball (compression from the name) under TOP ('' for none)."""
    mode = 'w:xz' if str(path).endswith('.xz') else 'w:gz'
    with tarfile.open(str(path), mode) as tar:
        for name, (perm, text) in sorted(fake_tree_files(marker).items()):
            data = text.encode('utf-8')
            info = tarfile.TarInfo(os.path.join(top, name) if top else name)
            info.size = len(data)
            info.mode = perm
            tar.addfile(info, io.BytesIO(data))
    with open(str(path), 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def fake_kernel_git(path):
    """A git repository with the stand-in tree in two commits; returns (first, second) commit ids."""
    def git(*args):
        return subprocess.run(['git', '-C', str(path)] + list(args), check=True, capture_output=True,
                              text=True).stdout.strip()
    os.makedirs(str(path))
    git('init', '-q', '-b', 'main')
    git('config', 'user.email', 'test@dmemfs.invalid')
    git('config', 'user.name', 'test')
    commits = []
    for marker in ('one', 'two'):
        for name, (perm, text) in fake_tree_files(marker).items():
            full = os.path.join(str(path), name)
            if not os.path.isdir(os.path.dirname(full)):
                os.makedirs(os.path.dirname(full))
            with open(full, 'w') as handle:
                handle.write(text)
            os.chmod(full, perm)
        git('add', '-A')
        git('commit', '-q', '-m', marker)
        commits.append(git('rev-parse', 'HEAD'))
    return commits[0], commits[1]


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def fake_rpmbuild(tmp_path):
    """A directory with a do-nothing rpmbuild, for PATH (the stand-in tree makes its own .rpm files)."""
    bindir = tmp_path / 'bin'
    if not bindir.exists():
        write(bindir / 'rpmbuild', '#!/bin/sh\nexit 0\n')
        os.chmod(str(bindir / 'rpmbuild'), 0o755)
    return str(bindir)


class Script(object):
    """Runs kernel/build.sh with a private cache and the given DMEMFS_* variables."""

    def __init__(self, tmp_path):
        self.cache = tmp_path / 'cache'
        self.tmp_path = tmp_path

    def run(self, path_prefix=None, **variables):
        env = dict(os.environ, DMEMFS_CACHE_DIR=str(self.cache))
        if path_prefix:
            env['PATH'] = path_prefix + os.pathsep + env['PATH']
        for key in list(env):
            if key.startswith('DMEMFS_') and key != 'DMEMFS_CACHE_DIR':
                del env[key]
        env.update(('DMEMFS_' + key, value) for key, value in variables.items())
        proc = subprocess.run(['bash', BUILD_SH], capture_output=True, text=True, env=env, check=False)
        lines = proc.stdout.strip().splitlines()
        values = dict(line.split('=', 1) for line in lines if '=' in line)
        return proc, values

    def hash_of(self, path_prefix=None, **variables):
        proc, values = self.run(path_prefix=path_prefix, DRY_RUN='1', **variables)
        assert proc.returncode == 0, proc.stderr
        return values['HASH']

    def tarball(self, name='linux.tar.xz', top='linux-weird-1.0', marker='one'):
        """DMEMFS_* for a stand-in tarball, without our patches (they are for the real tree)."""
        path = self.tmp_path / name
        sha = fake_kernel_tarball(path, top=top, marker=marker)
        nopatches = self.tmp_path / 'nopatches'
        if not nopatches.exists():
            nopatches.mkdir()
        return dict(KERNEL_SOURCE='tarball', KERNEL_TAR=str(path), KERNEL_SHA256=sha, PATCH_DIR=str(nopatches))


@pytest.fixture
def script(tmp_path):
    return Script(tmp_path)


@pytest.mark.parametrize('variables, needle', [
    ({'KERNEL_SOURCE': 'svn'}, "DMEMFS_KERNEL_SOURCE='svn' is not valid; allowed values: debian, tarball, git"),
    ({'PACKAGE': 'zip'}, "DMEMFS_PACKAGE='zip' is not valid; allowed values: deb, rpm"),
    ({'CONFIG_BASE': 'allyes'}, "DMEMFS_CONFIG_BASE='allyes' is not valid; allowed values: defconfig, running, file"),
    ({'JOBS': 'many'}, "DMEMFS_JOBS='many' is not valid"),
    ({'KERNEL_SOURCE': 'tarball'}, 'DMEMFS_KERNEL_SOURCE=tarball needs DMEMFS_KERNEL_TAR'),
    ({'KERNEL_SOURCE': 'tarball', 'KERNEL_TAR': '/nonexistent/linux.tar.xz'},
     'DMEMFS_KERNEL_SOURCE=tarball needs DMEMFS_KERNEL_SHA256'),
    ({'KERNEL_SOURCE': 'tarball', 'KERNEL_TAR': '/nonexistent/linux.zip', 'KERNEL_SHA256': '0' * 64},
     "DMEMFS_KERNEL_TAR='/nonexistent/linux.zip' is not valid"),
    ({'KERNEL_SOURCE': 'tarball', 'KERNEL_TAR': '/nonexistent/linux.tar.xz', 'KERNEL_SHA256': 'abc'},
     "DMEMFS_KERNEL_SHA256='abc' is not valid; allowed: 64 hex digits"),
    ({'KERNEL_SOURCE': 'tarball', 'KERNEL_TAR': '/nonexistent/linux.tar.xz', 'KERNEL_SHA256': '0' * 64},
     "DMEMFS_KERNEL_TAR='/nonexistent/linux.tar.xz' is not a readable file"),
    ({'KERNEL_SOURCE': 'git'}, 'DMEMFS_KERNEL_SOURCE=git needs DMEMFS_KERNEL_GIT'),
    ({'KERNEL_SOURCE': 'git', 'KERNEL_GIT': '/'}, "DMEMFS_KERNEL_GIT='/' is not a git tree"),
    ({'CONFIG_BASE': 'file'}, 'DMEMFS_CONFIG_BASE=file needs DMEMFS_CONFIG_FILE'),
    ({'CONFIG_BASE': 'file', 'CONFIG_FILE': '/nonexistent/config'}, "DMEMFS_CONFIG_FILE='/nonexistent/config' is not"),
    ({'CONFIG_FRAGMENTS': '/nonexistent/a.config'}, "DMEMFS_CONFIG_FRAGMENTS: '/nonexistent/a.config' is not"),
    ({'PATCH_DIR': '/nonexistent'}, "DMEMFS_PATCH_DIR='/nonexistent' is not a directory"),
])
def test_bad_inputs_fail_at_once_naming_the_variable(script, variables, needle):
    proc, values = script.run(**variables)
    assert proc.returncode == 1
    assert needle in proc.stderr
    assert 'OUTPUT_DIR' not in values
    assert not script.cache.exists()


def test_tarball_with_the_wrong_sha256_is_refused_before_use(script):
    variables = script.tarball()
    variables['KERNEL_SHA256'] = 'F' * 64
    proc, _values = script.run(**variables)
    assert proc.returncode == 1
    assert 'not DMEMFS_KERNEL_SHA256=' + 'f' * 64 in proc.stderr
    assert not script.cache.exists()


@pytest.mark.skipif(shutil.which('rpmbuild') is not None, reason='rpmbuild is installed here')
def test_rpm_without_rpmbuild_names_the_variable(script):
    variables = script.tarball()
    for extra in ({}, {'DRY_RUN': '1'}):
        proc, values = script.run(PACKAGE='rpm', **dict(variables, **extra))
        assert proc.returncode == 1
        assert 'DMEMFS_PACKAGE=rpm needs rpmbuild' in proc.stderr
        assert 'OUTPUT_DIR' not in values
    assert not (script.cache / 'kernel' / 'work').exists()


@pytest.mark.parametrize('name, top', [
    ('linux.tar.xz', 'linux-weird-1.0'),
    ('kernel-src.tar.gz', './linux-6.12.5'),
    ('flat.tgz', ''),
])
def test_tarball_builds_whatever_its_top_directory_and_caches(script, name, top):
    variables = script.tarball(name=name, top=top)
    proc, values = script.run(**variables)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith('OUTPUT_DIR=')
    out = values['OUTPUT_DIR']
    assert os.path.dirname(out) == str(script.cache / 'kernel')
    with open(os.path.join(out, 'manifest.json')) as handle:
        manifest = json.load(handle)
    release = '6.12.0-fake-dmemfs'
    packages = ['linux-image-%s_1_amd64.deb' % release, 'linux-image-%s-dbg_1_amd64.deb' % release,
                'linux-headers-%s_1_amd64.deb' % release, 'linux-libc-dev_1_amd64.deb']
    assert sorted(manifest.pop('packages')) == sorted(packages)
    assert manifest == {
        'hash': os.path.basename(out),
        'kernelrelease': release,
        'package_format': 'deb',
        'image_package': packages[0],
        'headers_package': packages[2],
        'source': {'type': 'tarball', 'description': 'tarball %s sha256 %s' % (name, variables['KERNEL_SHA256'])},
        'config_base': 'x86_64_defconfig + kvm_guest.config',
        'modules_missing': None,
        'patches': [],
    }
    for item in packages + ['bzImage', 'System.map', '.config', '.complete', 'patches', 'source-version']:
        assert os.path.isfile(os.path.join(out, item)), item
    with open(os.path.join(out, 'kernelrelease')) as handle:
        assert handle.read() == release + '\n'
    with open(os.path.join(out, '.config')) as handle:
        config = handle.read()
    # base, then both fragments, =n normalised by olddefconfig
    assert 'CONFIG_FAKE_DEFCONFIG=y\nCONFIG_FAKE_KVM_GUEST=y\n' in config
    assert 'CONFIG_DMEM_FS=y\n' in config and 'CONFIG_PTDUMP_DEBUGFS=y\n' in config
    assert '# CONFIG_LOCALVERSION_AUTO is not set\n' in config
    # same inputs: a cache hit with the same directory, nothing rebuilt
    again, again_values = script.run(**variables)
    assert again.returncode == 0, again.stderr
    assert 'cache hit: ' + out in again.stderr
    assert again_values['OUTPUT_DIR'] == out


def test_dry_run_reports_the_hash_and_the_cache_state(script):
    variables = script.tarball()
    proc, values = script.run(DRY_RUN='1', **variables)
    assert proc.returncode == 0, proc.stderr
    assert values['CACHED'] == 'no'
    assert values['OUTPUT_DIR'].endswith('/' + values['HASH'])
    assert not script.cache.exists()
    built, built_values = script.run(**variables)
    assert built.returncode == 0, built.stderr
    assert built_values['OUTPUT_DIR'] == values['OUTPUT_DIR']
    _proc, values = script.run(DRY_RUN='1', **variables)
    assert values['CACHED'] == 'yes'
    _proc, values = script.run(DRY_RUN='1', FORCE='1', **variables)
    assert values['CACHED'] == 'no'


def test_every_input_is_in_the_hash(script, tmp_path):
    base = script.tarball()
    first = script.hash_of(**base)
    names = ('dmemfs.config', 'trial-boot.config', 'hypervisor.config', 'no-debug-info.config', 'qemu-guest.config')
    frags = [os.path.join(KERNEL_DIR, 'configs', name) for name in names]
    # the same fragments elsewhere (as the role copies them) give the same hash
    copies = []
    for index, frag in enumerate(frags):
        with open(frag) as handle:
            copies.append(write(tmp_path / 'elsewhere' / str(index) / os.path.basename(frag), handle.read()))
    assert script.hash_of(CONFIG_FRAGMENTS=':'.join(copies), **base) == first
    patches = tmp_path / 'patches'
    write(patches / '0001-a.patch', '--- /dev/null\n+++ b/A\n@@ -0,0 +1 @@\n+a\n')
    config = write(tmp_path / 'base.config', 'CONFIG_FAKE_BASE=y\n')
    changed = [
        dict(base, **script.tarball(name='other.tar.xz', marker='two')),
        dict(base, PACKAGE='rpm'),
        dict(base, CONFIG_BASE='file', CONFIG_FILE=config),
        dict(base, CONFIG_FRAGMENTS=frags[0]),
        dict(base, CONFIG_FRAGMENTS=':'.join(reversed(frags))),
        dict(base, CONFIG_FRAGMENTS=''),
        dict(base, PATCH_DIR=str(patches)),
        dict(base, CONFIG_BASE='file', CONFIG_FILE=config, CONFIG_MODULES=write(tmp_path / 'mods', 'kvm_amd\n')),
    ]
    hashes = [first] + [script.hash_of(path_prefix=fake_rpmbuild(tmp_path), **variables) for variables in changed]
    assert len(set(hashes)) == len(hashes)
    # a base config file counts by content
    write(tmp_path / 'base.config', 'CONFIG_FAKE_BASE=m\n')
    assert script.hash_of(**changed[2]) != hashes[3]


def test_git_source_is_the_resolved_commit(script, tmp_path):
    repo = tmp_path / 'linux'
    first, second = fake_kernel_git(repo)
    git = dict(KERNEL_SOURCE='git', KERNEL_GIT=str(repo), PATCH_DIR=script.tarball()['PATCH_DIR'])
    head = script.hash_of(**git)
    assert script.hash_of(KERNEL_GIT_REF='main', **git) == head
    assert script.hash_of(KERNEL_GIT_REF=second, **git) == head
    assert script.hash_of(KERNEL_GIT_REF='HEAD~1', **git) == script.hash_of(KERNEL_GIT_REF=first[:12], **git) != head
    proc, values = script.run(KERNEL_GIT_REF='HEAD~1', **git)
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(values['OUTPUT_DIR'], 'manifest.json')) as handle:
        manifest = json.load(handle)
    assert manifest['source'] == {'type': 'git', 'description': 'git %s HEAD~1 (%s)' % (repo, first)}
    # git archive has no top-level directory: the export is the tree; it holds the first commit
    with open(str(script.cache / 'kernel' / 'work' / 'linux-source-6.12' / 'README')) as handle:
        assert handle.read() == 'stand-in kernel tree one\n'


def test_patches_base_config_and_fragment_checks(script, tmp_path):
    variables = script.tarball()
    patches = tmp_path / 'patches'
    write(patches / '0002-second.patch', '--- a/README\n+++ b/README\n@@ -1 +1,2 @@\n stand-in kernel tree one\n+second\n')
    write(patches / '0001-first.patch', '--- /dev/null\n+++ b/NEWFILE\n@@ -0,0 +1 @@\n+first\n')
    write(patches / 'notes.txt', 'not a patch\n')
    config = write(tmp_path / 'base.config',
                   'CONFIG_FAKE_BASE=y\nCONFIG_SYSTEM_TRUSTED_KEYS="debian/certs/debian-uefi-certs.pem"\n')
    frag = write(tmp_path / 'extra.config', '# extra\nCONFIG_EXTRA=m\nCONFIG_GONE=n\n')
    variables['PATCH_DIR'] = str(patches)
    proc, values = script.run(CONFIG_BASE='file', CONFIG_FILE=config, CONFIG_FRAGMENTS=frag, **variables)
    assert proc.returncode == 0, proc.stderr
    out = values['OUTPUT_DIR']
    tree = script.cache / 'kernel' / 'work' / 'linux-source-6.12'
    assert (tree / 'NEWFILE').read_text() == 'first\n'
    assert (tree / 'README').read_text() == 'stand-in kernel tree one\nsecond\n'
    with open(os.path.join(out, 'patches')) as handle:
        assert handle.read() == '0001-first.patch\n0002-second.patch\n'
    with open(os.path.join(out, '.config')) as handle:
        config_text = handle.read()
    assert config_text == ('CONFIG_FAKE_BASE=y\nCONFIG_SYSTEM_TRUSTED_KEYS=""\n'
                           'CONFIG_EXTRA=m\n# CONFIG_GONE is not set\n')
    assert 'CONFIG_SYSTEM_TRUSTED_KEYS="debian/certs/debian-uefi-certs.pem" is not in the tree, cleared' in proc.stderr
    with open(os.path.join(out, 'manifest.json')) as handle:
        manifest = json.load(handle)
    assert manifest['kernelrelease'] == '6.12.0-fake'
    assert manifest['config_base'] == 'config file ' + config
    # a fragment line that olddefconfig drops fails the build
    dropped = write(tmp_path / 'dropped.config', 'CONFIG_FAKE_DROPPED=y\n')
    proc, values = script.run(CONFIG_FRAGMENTS=dropped, **variables)
    assert proc.returncode == 1
    assert 'config not applied: CONFIG_FAKE_DROPPED=y' in proc.stderr
    assert 'OUTPUT_DIR' not in values
    # a patch that does not apply fails the build
    write(patches / '0003-bad.patch', '--- a/README\n+++ b/README\n@@ -1 +1 @@\n-no such line\n+x\n')
    proc, values = script.run(**variables)
    assert proc.returncode == 1
    assert 'patch 0003-bad.patch does not apply' in proc.stderr
    assert proc.stdout == ''


def test_a_base_config_trimmed_to_the_modules_a_fleet_uses(script, tmp_path):
    variables = script.tarball()
    config = write(tmp_path / 'base.config', 'CONFIG_FAKE_BASE=y\nCONFIG_FAKE_MOD_KVM_AMD=m\nCONFIG_FAKE_MOD_NVME=m\n'
                   'CONFIG_FAKE_MOD_I915=m\nCONFIG_FAKE_MOD_EXT4=y\n')
    frag = write(tmp_path / 'hv.config', 'CONFIG_FAKE_MOD_VHOST_NET=m\n')
    # lsmod output, - for _, duplicates: the same set as a sorted list
    lsmod = write(tmp_path / 'lsmod', 'Module                  Size  Used by\nnvme 1 0\nkvm-amd 2 0\nzfs 3 0\nkvm_amd 2 0\n')
    listed = write(tmp_path / 'list', 'kvm_amd\nnvme\nzfs\n')
    trimmed = dict(variables, CONFIG_BASE='file', CONFIG_FILE=config, CONFIG_FRAGMENTS=frag)
    assert script.hash_of(CONFIG_MODULES=lsmod, **trimmed) == script.hash_of(CONFIG_MODULES=listed, **trimmed)
    assert script.hash_of(CONFIG_MODULES=listed, **trimmed) != script.hash_of(**trimmed)
    proc, values = script.run(CONFIG_MODULES=lsmod, **trimmed)
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(values['OUTPUT_DIR'], '.config')) as handle:
        lines = handle.read().splitlines()
    # the modules the fleet uses stay, the others go, built-ins and the fragments' modules stay
    assert 'CONFIG_FAKE_MOD_KVM_AMD=m' in lines and 'CONFIG_FAKE_MOD_NVME=m' in lines
    assert '# CONFIG_FAKE_MOD_I915 is not set' in lines
    assert 'CONFIG_FAKE_MOD_EXT4=y' in lines and 'CONFIG_FAKE_MOD_VHOST_NET=m' in lines
    assert 'localmodconfig kept 2 of 3 modules for the 3 the fleet uses' in proc.stderr
    # a module no config option builds (out of tree) is named, in the log and the manifest
    assert 'the fleet uses modules this build does not provide: zfs' in proc.stderr
    with open(os.path.join(values['OUTPUT_DIR'], 'manifest.json')) as handle:
        manifest = json.load(handle)
    assert manifest['modules_missing'] == ['zfs']
    assert manifest['config_base'] == 'config file %s, trimmed to 3 modules' % config
    # a list that names nothing is refused, naming the variable
    empty = write(tmp_path / 'empty', 'Module Size Used by\n\n')
    proc, values = script.run(DRY_RUN='1', CONFIG_MODULES=empty, **trimmed)
    assert proc.returncode == 1 and "DMEMFS_CONFIG_MODULES='%s' names no module" % empty in proc.stderr


def test_rpm_packages(script, tmp_path):
    variables = script.tarball()
    proc, values = script.run(path_prefix=fake_rpmbuild(tmp_path), PACKAGE='rpm', **variables)
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(values['OUTPUT_DIR'], 'manifest.json')) as handle:
        manifest = json.load(handle)
    assert manifest['package_format'] == 'rpm'
    assert manifest['image_package'] == 'kernel-6.12.0-1.x86_64.rpm'
    assert manifest['headers_package'] == 'kernel-devel-6.12.0-1.x86_64.rpm'
    assert len(manifest['packages']) == 3
    for name in manifest['packages']:
        assert os.path.isfile(os.path.join(values['OUTPUT_DIR'], name))
