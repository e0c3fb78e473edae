# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip.py that ansible-test downloads to bootstrap its venvs.

ansible-test fetches get-pip.py from a host this project's machines cannot
reach; it looks in ~/.ansible/test/cache first, where `make` puts this file.
It does what get-pip.py does -- install the pip (and friends) asked for on the
command line -- with the interpreter's own ensurepip and then PyPI.
"""

import ensurepip
import os
import subprocess
import sys

if __name__ == '__main__':
    ensurepip.bootstrap(upgrade=True)
    # ensurepip hides pip's configuration (PIP_CONFIG_FILE=/dev/null); the
    # machine's pip.conf may name the CA bundle or a mirror, so bring it back.
    os.environ.pop('PIP_CONFIG_FILE', None)
    args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
    sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install', '--quiet'] + args))
