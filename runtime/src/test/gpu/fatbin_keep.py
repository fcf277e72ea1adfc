"""Zeroes the GPU code of every architecture but the ones kept in a CUDA shared library.

    python3 fatbin_keep.py LIB.so 90 [ARCH ...]

libtorch_cuda.so carries one cubin per kernel and per architecture (sm_75 ... sm_121) in its
.nv_fatbin section, and no PTX. The driver loads the cubin of the GPU's own architecture, so on a
Hopper card (H100, H200: sm_90) the others are dead weight. Each fatbin entry keeps its header (the
fatbin stays well formed; an entry of another architecture is never chosen) and only its payload
is overwritten with zeros, so the file keeps its size and layout but compresses to a fraction.
Prints what it zeroed per architecture.
"""

import collections
import struct
import sys

FATBIN_MAGIC = 0xBA55ED50
KIND_ELF = 2


def section(data, wanted):
    """(offset, size) of the ELF64 section named `wanted`."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        sys.exit("not an ELF64 file")
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    def header(i):
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        return name, offset, size
    strtab = header(shstrndx)[1]
    for i in range(shnum):
        name, offset, size = header(i)
        end = data.index(b"\0", strtab + name)
        if data[strtab + name:end].decode() == wanted:
            return offset, size
    sys.exit(f"no section {wanted}")


def main():
    path, keep = sys.argv[1], {int(a) for a in sys.argv[2:]}
    if not keep:
        sys.exit(__doc__)
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        start, size = section(data, ".nv_fatbin")
        kept, zeroed = collections.Counter(), collections.Counter()
        pos, end = start, start + size
        while pos < end:
            magic, _version, header_size, fat_size = struct.unpack_from("<IHHQ", data, pos)
            if magic != FATBIN_MAGIC:
                pos += 8  # fatbins are 8-byte aligned; padding between them
                continue
            entry, fat_end = pos + header_size, pos + header_size + fat_size
            while entry < fat_end:
                kind, _, entry_header, payload = struct.unpack_from("<HHIQ", data, entry)
                arch = struct.unpack_from("<I", data, entry + 28)[0]
                body = entry + entry_header
                if kind == KIND_ELF and arch not in keep:
                    data[body:body + payload] = bytes(payload)
                    zeroed[arch] += payload
                else:
                    kept[(kind, arch)] += payload
                entry = body + payload
            pos = fat_end
        f.seek(0)
        f.write(data)
    for arch, n in sorted(zeroed.items()):
        print(f"  sm_{arch}: {n / 1e6:.1f} MB zeroed")
    for (kind, arch), n in sorted(kept.items()):
        print(f"  sm_{arch} ({'cubin' if kind == KIND_ELF else 'ptx'}): {n / 1e6:.1f} MB kept")


if __name__ == "__main__":
    main()
