#!/usr/bin/env python3
"""PE helpers for tests/rebind/check_rebind.sh, written apart from tools/rebind so that the
test does not take the tool's word for its own result.

  pe_util.py sum FILE                     stored and computed checksum, in hex
  pe_util.py machine FILE                 PE32 or PE32+ and the machine
  pe_util.py image-base FILE
  pe_util.py set-dir FILE INDEX RVA SIZE  data directory INDEX (checksum kept valid if set)
  pe_util.py set-sum FILE VALUE
  pe_util.py add-bound FILE NAME          a bound-import directory naming NAME, in the
                                          headers' free space after the section table
  pe_util.py changed ORIG NEW [OFF:LEN...] exit 1, naming the bytes, if NEW differs from ORIG
                                          outside the checksum field and the ranges given
  pe_util.py mutate SRC DIR COUNT SEED [OFF...]
                                          DIR/m0 ... copies of SRC with a few bytes spoiled:
                                          in the headers, near the offsets, or anywhere
"""
import random
import struct
import sys


def headers(data):
    pe = struct.unpack_from('<I', data, 0x3c)[0]
    opt = pe + 24
    magic = struct.unpack_from('<H', data, opt)[0]
    return pe, opt, magic == 0x20b


def checksum_offset(data):
    return headers(data)[1] + 64


def file_checksum(data):
    """Sum of the file as 16-bit words, carries folded in, the CheckSum field as zero, plus
    the file's length."""
    at = checksum_offset(data)
    data = bytearray(data)
    data[at:at + 4] = b'\0\0\0\0'
    odd = len(data) % 2
    if odd:
        data.append(0)
    total = 0
    for (word,) in struct.iter_unpack('<H', data):
        total += word
        total = (total & 0xffff) + (total >> 16)
    return (total + len(data) - odd) & 0xffffffff


def stored_checksum(data):
    return struct.unpack_from('<I', data, checksum_offset(data))[0]


def write_checksum(data):
    if stored_checksum(data):
        struct.pack_into('<I', data, checksum_offset(data), file_checksum(data))


def main(argv):
    cmd, path = argv[1], argv[2]
    data = bytearray(open(path, 'rb').read())
    pe, opt, plus = headers(data)
    if cmd == 'sum':
        print('0x%08x 0x%08x' % (stored_checksum(data), file_checksum(data)))
    elif cmd == 'machine':
        print('PE32+' if plus else 'PE32', hex(struct.unpack_from('<H', data, pe + 4)[0]))
    elif cmd == 'image-base':
        base = struct.unpack_from('<Q', data, opt + 24)[0] if plus else \
            struct.unpack_from('<I', data, opt + 28)[0]
        print(hex(base))
    elif cmd == 'set-dir':
        index, rva, size = (int(x, 0) for x in argv[3:6])
        struct.pack_into('<II', data, opt + (112 if plus else 96) + 8 * index, rva, size)
        write_checksum(data)
        open(path, 'wb').write(data)
    elif cmd == 'add-bound':
        sections = opt + struct.unpack_from('<H', data, pe + 20)[0]
        at = (sections + 40 * struct.unpack_from('<H', data, pe + 6)[0] + 7) & ~7
        name = argv[3].encode() + b'\0'
        table = struct.pack('<IHH', 1, 16, 0) + bytes(8) + name
        if any(data[at:at + len(table)]):
            print('no free space for a bound-import directory at ' + hex(at), file=sys.stderr)
            return 1
        data[at:at + len(table)] = table
        struct.pack_into('<II', data, opt + (112 if plus else 96) + 8 * 11, at, len(table))
        write_checksum(data)
        open(path, 'wb').write(data)
    elif cmd == 'set-sum':
        struct.pack_into('<I', data, checksum_offset(data), int(argv[3], 0))
        open(path, 'wb').write(data)
    elif cmd == 'changed':
        new = open(argv[3], 'rb').read()
        if len(new) != len(data):
            print('%s: %d bytes, %s: %d' % (path, len(data), argv[3], len(new)))
            return 1
        allowed = [(checksum_offset(data), 4)]
        allowed += [tuple(int(x, 0) for x in r.split(':')) for r in argv[4:]]
        bad = [i for i in range(len(new)) if new[i] != data[i] and
               not any(off <= i < off + n for off, n in allowed)]
        if bad:
            print('changed outside the name and the checksum: ' +
                  ' '.join(hex(i) for i in bad[:20]))
            return 1
    elif cmd == 'mutate':
        rng = random.Random(int(argv[5]))
        hot = [int(x, 0) for x in argv[6:]] or [0]
        for n in range(int(argv[4])):
            copy = bytearray(data)
            for _ in range(rng.randint(1, 6)):
                where = rng.random()
                if where < 0.1:
                    del copy[rng.randrange(1, len(copy)):]
                    continue
                if where < 0.4:
                    off = rng.randrange(0, min(len(copy), 0x400))
                elif where < 0.8:
                    off = max(0, rng.choice(hot) + rng.randrange(-48, 48))
                else:
                    off = rng.randrange(0, len(copy))
                value = rng.choice([0, 1, 0xffffffff, 0x7fffffff, 0x80000000, rng.getrandbits(32)])
                width = rng.choice([1, 2, 4])
                copy[off:off + width] = value.to_bytes(4, 'little')[:width]
            open('%s/m%d' % (argv[3], n), 'wb').write(copy)
    else:
        print('unknown command ' + cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
