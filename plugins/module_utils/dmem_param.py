# -*- coding: utf-8 -*-
# Copyright: dmemfs.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dmem= kernel parameter: parse, validate and render its value.

Grammar (DESIGN.md, "The ABI we keep"):

    [!]SIZE[:ALIGN]          per NUMA node; "!" keeps SIZE for the kernel
    SIZE@ADDR[:ALIGN]        one physical range; "!" is illegal here
    SIZE:ALIGN@ADDR          "@ADDR" and ":ALIGN" in either order
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dmemfs.fleet.plugins.module_utils.dmem_size import (
    U64_MAX, DmemError, format_size, is_power_of_two, scan_number)

# x86_64 SECTION_SIZE_BITS is 27: the kernel's default and minimum alignment.
DEFAULT_SECTION_SIZE = 128 << 20


class DmemSpec(object):
    """One dmem= value. ``align`` is None when the value names none."""

    __slots__ = ('size', 'addr', 'align', 'keep_for_kernel')

    def __init__(self, size, addr=None, align=None, keep_for_kernel=False):
        self.size = size
        self.addr = addr
        self.align = align
        self.keep_for_kernel = keep_for_kernel

    def effective_align(self, section_size=DEFAULT_SECTION_SIZE):
        return self.align if self.align is not None else section_size

    def as_dict(self, section_size=DEFAULT_SECTION_SIZE):
        return {
            'size': self.size,
            'addr': self.addr,
            'align': self.effective_align(section_size),
            'align_given': self.align is not None,
            'keep_for_kernel': self.keep_for_kernel,
            'form': self.form,
            'value': render(self),
        }

    @property
    def form(self):
        if self.addr is not None:
            return 'range'
        return 'keep' if self.keep_for_kernel else 'per_node'

    def __eq__(self, other):
        return isinstance(other, DmemSpec) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return 'DmemSpec(%r)' % render(self)


def parse(value, field='dmem', section_size=DEFAULT_SECTION_SIZE):
    """Parse and validate one dmem= value (with or without the "dmem=" prefix)."""
    if not isinstance(value, str):
        raise DmemError(field, 'must be a string such as "!8G:1G", not %s' % type(value).__name__, value)
    text = value[len('dmem='):] if value.startswith('dmem=') else value
    if text == '':
        raise DmemError(field, 'must not be empty; forms: SIZE, !SIZE, SIZE:ALIGN, SIZE@ADDR, SIZE@ADDR:ALIGN', value)

    keep = text.startswith('!')
    size, pos = scan_number(text, 1 if keep else 0, field)
    attrs = {}
    while pos < len(text):
        mark = text[pos]
        if mark not in '@:':
            raise DmemError(field, 'unknown character %r at position %d; after SIZE only "@ADDR" and ":ALIGN" may follow' % (mark, pos), value)
        name = 'addr' if mark == '@' else 'align'
        if name in attrs:
            raise DmemError(field, '"%s" given twice' % mark, value)
        attrs[name], pos = scan_number(text, pos + 1, field)

    spec = DmemSpec(size, attrs.get('addr'), attrs.get('align'), keep)
    return validate(spec, field, section_size, shown=value)


def validate(spec, field='dmem', section_size=DEFAULT_SECTION_SIZE, parts=None, shown=None):
    """Apply every rule of the ABI; the first broken one raises DmemError.

    ``parts`` maps "size", "addr" and "align" to the argument names that a
    caller built the spec from, so its error names what the user wrote;
    ``shown`` is the text the user wrote, quoted in the error.
    """
    def name(part):
        return (parts or {}).get(part, field)

    value = render(spec) if shown is None else shown
    if spec.size == 0:
        raise DmemError(name('size'), 'SIZE must not be 0', value)
    if spec.addr is not None and spec.keep_for_kernel:
        raise DmemError(field, '"!" (keep for the kernel) is illegal with @ADDR', value)
    if spec.addr == 0:
        raise DmemError(name('addr'), 'ADDR must not be 0', value)
    if spec.align == 0:
        raise DmemError(name('align'), 'ALIGN must not be 0', value)
    align = spec.effective_align(section_size)
    if not is_power_of_two(align):
        raise DmemError(name('align'), 'ALIGN %s is not a power of two' % format_size(align), value)
    if align < section_size:
        raise DmemError(name('align'), 'ALIGN %s is below the memory section size %s' % (
            format_size(align), format_size(section_size)), value)
    if spec.size % align:
        raise DmemError(name('size'), 'SIZE %s is not a multiple of ALIGN %s' % (
            format_size(spec.size), format_size(align)), value)
    if spec.addr is not None:
        if spec.addr % align:
            raise DmemError(name('addr'), 'ADDR %s is not aligned to ALIGN %s' % (hex(spec.addr), format_size(align)), value)
        if spec.addr + spec.size - 1 > U64_MAX:
            raise DmemError(name('addr'), 'ADDR + SIZE overflows 64 bits', value)
    return spec


def render(spec):
    """The canonical value text: shortest suffixes, addresses in hex, ALIGN last."""
    text = '!' if spec.keep_for_kernel else ''
    text += format_size(spec.size)
    if spec.addr is not None:
        text += '@' + (hex(spec.addr) if spec.addr % 1024 else format_size(spec.addr))
    if spec.align is not None:
        text += ':' + format_size(spec.align)
    return text


def parse_cmdline(cmdline, section_size=DEFAULT_SECTION_SIZE):
    """Every dmem= of a kernel command line, each parsed or with its error.

    Returns a list of dicts: {"value", "valid", "spec" or "error"}; a bad one
    does not hide the others, as the kernel also looks at each on its own.
    """
    found = []
    for word in cmdline.split():
        if not word.startswith('dmem='):
            continue
        raw = word[len('dmem='):]
        try:
            spec = parse(raw, 'dmem', section_size)
        except DmemError as exc:
            found.append({'value': raw, 'valid': False, 'error': str(exc)})
        else:
            found.append({'value': raw, 'valid': True, 'spec': spec.as_dict(section_size)})
    return found
