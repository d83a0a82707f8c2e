#!/usr/bin/env bash
# Regenerates the Imaging test fixtures in this folder. Run once; the committed files are what
# the tests read, so this only needs re-running when a fixture is added or changed.
#
# Needs: python3 with Pillow (pip install pillow) for the JPEGs, and libturbojpeg.so.0
# (Debian: libturbojpeg0) for the YCCK JPEG, which Pillow cannot write. The PNGs come from a
# small writer below rather than Pillow so that every colour type, bit depth, tRNS form,
# filter type and Adam7 interlacing is produced exactly as specified.
#
# The pixel patterns must stay in sync with Tests/ImagingTests/FixturePatterns.swift, which
# recomputes them to check decoded pixels.
set -euo pipefail
cd "$(dirname "$0")"

python3 - <<'PY'
import ctypes, io, struct, zlib
from PIL import Image

W, H = 13, 7   # odd sizes: partial bytes at low bit depths, partial Adam7 blocks

# ---------------------------------------------------------------- patterns (see FixturePatterns.swift)
def gray8(x, y): return (x * 19 + y * 37) & 255
def alpha8(x, y): return (x * 40 + y * 11) & 255
def rgb8(x, y): return ((x * 19 + y * 37) & 255, (x * 53 + 7) & 255, (y * 61 + x * 3) & 255)
def low16(x, y): return (x * 7 + y) % 100        # low bits that png_set_scale_16 rounds away
def level(x, y, bits): return (x + 2 * y) % (1 << bits)
PALETTE = [(i * 30, 255 - i * 30, i * 17) for i in range(8)]
PALETTE_ALPHA = [0, 64, 128, 192]
def pindex(x, y): return (x + y) % 8
GRAY_KEY = gray8(3, 2)                               # tRNS key for the gray+tRNS fixture
RGB_KEY = rgb8(5, 1)

# ---------------------------------------------------------------- minimal PNG writer
def chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

def pack_row(samples, depth):
    if depth == 8: return bytes(samples)
    if depth == 16: return b"".join(struct.pack(">H", s) for s in samples)
    out, acc, nbits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s; nbits += depth
        if nbits == 8: out.append(acc); acc, nbits = 0, 0
    if nbits: out.append(acc << (8 - nbits))
    return bytes(out)

def paeth(a, b, c):
    p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)

def filter_rows(rows, bpp):
    """Filters row i with type i % 5 so every unfilter path in libpng is exercised."""
    out, prev = bytearray(), bytes(len(rows[0])) if rows else b""
    for i, row in enumerate(rows):
        ft = i % 5; f = bytearray([ft])
        for j, v in enumerate(row):
            a = row[j - bpp] if j >= bpp else 0; b = prev[j]; c = prev[j - bpp] if j >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ft]
            f.append((v - pred) & 255)
        out += f; prev = row
    return bytes(out)

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]

def write_png(name, color, depth, pixel, plte=None, trns=None, interlace=False, w=W, h=H):
    """pixel(x, y) -> tuple of samples for one pixel."""
    spp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    bpp = max(1, spp * depth // 8)
    def rows_for(xs, ys):
        return [pack_row([s for x in xs for s in pixel(x, y)], depth) for y in ys]
    if interlace:
        raw = b""
        for (x0, y0, dx, dy) in ADAM7:
            xs, ys = list(range(x0, w, dx)), list(range(y0, h, dy))
            if xs and ys: raw += filter_rows(rows_for(xs, ys), bpp)
    else:
        raw = filter_rows(rows_for(range(w), range(h)), bpp)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, int(interlace)))
    if plte: png += chunk(b"PLTE", b"".join(bytes(c) for c in plte))
    if trns is not None: png += chunk(b"tRNS", trns)
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    open(name, "wb").write(png)
    return png

def scaled16(v8, x, y): return min(65535, v8 * 257 + low16(x, y))   # still rounds to v8

write_png("gray1.png", 0, 1, lambda x, y: (level(x, y, 1),))
write_png("gray2.png", 0, 2, lambda x, y: (level(x, y, 2),))
write_png("gray4.png", 0, 4, lambda x, y: (level(x, y, 4),))
write_png("gray8.png", 0, 8, lambda x, y: (gray8(x, y),))
write_png("gray16.png", 0, 16, lambda x, y: (scaled16(gray8(x, y), x, y),))
write_png("gray_trns.png", 0, 8, lambda x, y: (gray8(x, y),), trns=struct.pack(">H", GRAY_KEY))
write_png("gray_alpha8.png", 4, 8, lambda x, y: (gray8(x, y), alpha8(x, y)))
write_png("gray_alpha16.png", 4, 16, lambda x, y: (scaled16(gray8(x, y), x, y), scaled16(alpha8(x, y), x, y)))
write_png("rgb8.png", 2, 8, rgb8)
write_png("rgb16.png", 2, 16, lambda x, y: tuple(scaled16(v, x, y) for v in rgb8(x, y)))
write_png("rgb_trns.png", 2, 8, rgb8, trns=struct.pack(">HHH", *RGB_KEY))
write_png("rgba8.png", 6, 8, lambda x, y: rgb8(x, y) + (alpha8(x, y),))
write_png("rgba16.png", 6, 16, lambda x, y: tuple(scaled16(v, x, y) for v in rgb8(x, y) + (alpha8(x, y),)))
write_png("palette4.png", 3, 4, lambda x, y: (pindex(x, y),), plte=PALETTE)
write_png("palette4_trns.png", 3, 4, lambda x, y: (pindex(x, y),), plte=PALETTE, trns=bytes(PALETTE_ALPHA))
write_png("palette8.png", 3, 8, lambda x, y: (pindex(x, y),), plte=PALETTE)
write_png("interlaced_rgba8.png", 6, 8, lambda x, y: rgb8(x, y) + (alpha8(x, y),), interlace=True)
write_png("interlaced_gray2.png", 0, 2, lambda x, y: (level(x, y, 2),), interlace=True)

# ---------------------------------------------------------------- corrupt PNGs
good = open("rgb8.png", "rb").read()
idat = good.index(b"IDAT")
idat_len = struct.unpack(">I", good[idat - 4:idat])[0]
bad = bytearray(good); bad[idat + 4 + idat_len] ^= 0x55         # IDAT's CRC wrong, data intact
open("corrupt_bad_crc.png", "wb").write(bytes(bad))
open("corrupt_truncated.png", "wb").write(good[: idat + 30])   # cut inside IDAT
# IHDR claims more rows than IDAT holds; CRC recomputed so only the data is wrong.
ihdr = struct.pack(">IIBBBBB", W, H * 3, 8, 2, 0, 0, 0)
open("corrupt_wrong_dims.png", "wb").write(good[:8] + chunk(b"IHDR", ihdr) + good[33:])
# Fuzzer find: an ancillary chunk declaring 2 GB in a tiny file (libpng would allocate it).
open("corrupt_huge_chunk.png", "wb").write(good[:33] + struct.pack(">I", 0x7FFFFFF0) + b"tEXtComment\x00seed" + good[33:])
# zlib bomb after the image data: a 1x1 gray PNG whose IDAT stream inflates to 10 MB.
open("zlib_bomb_idat.png", "wb").write(
    b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(b"\x00\x80" + b"\x00" * 10_000_000, 9)) + chunk(b"IEND", b""))
# Decompression bomb: 100000 x 100000 RGBA (40 GB decoded) in a ~100-byte file.
bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000, 9)) + chunk(b"IEND", b""))
open("bomb.png", "wb").write(bomb)

# ---------------------------------------------------------------- JPEGs (Pillow)
JW, JH = 32, 24
def jrgb(x, y): return (x * 255 // (JW - 1), y * 255 // (JH - 1), (x + y) * 255 // (JW + JH - 2))
def jgray(x, y): return (x * 5 + y * 3) * 255 // ((JW - 1) * 5 + (JH - 1) * 3)

rgb = Image.new("RGB", (JW, JH)); rgb.putdata([jrgb(x, y) for y in range(JH) for x in range(JW)])
gray = Image.new("L", (JW, JH)); gray.putdata([jgray(x, y) for y in range(JH) for x in range(JW)])
rgb.save("baseline_rgb.jpg", quality=90)                       # Pillow default: 4:2:0
rgb.save("pillow_default.jpg")                                   # all defaults: q75, 4:2:0
rgb.save("progressive_rgb.jpg", quality=90, progressive=True)
gray.save("gray.jpg", quality=90)

# CMYK: four flat 16x16 quadrants of ink (C, M, Y, K); expected RGB in FixturePatterns.swift.
INKS = [(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 0, 128), (0, 128, 255, 64)]
CW = CH = 32
def ink(x, y): return INKS[(x >= 16) + 2 * (y >= 16)]
cmyk = Image.new("CMYK", (CW, CH)); cmyk.putdata([ink(x, y) for y in range(CH) for x in range(CW)])
cmyk.save("cmyk_adobe.jpg", quality=95)     # Pillow stores CMYK inverted + Adobe APP14 marker

def strip_app14(data):
    out, pos = bytearray(data[:2]), 2
    while data[pos] == 0xFF and data[pos + 1] != 0xDA:
        n = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if data[pos + 1] != 0xEE: out += data[pos:pos + 2 + n]
        pos += 2 + n
    return bytes(out + data[pos:])

# Plain (non-inverted) CMYK without an Adobe marker: save the inverted inks, so Pillow's own
# inversion stores the true ink values, then drop APP14.
inv = Image.new("CMYK", (CW, CH)); inv.putdata([tuple(255 - v for v in ink(x, y)) for y in range(CH) for x in range(CW)])
buf = io.BytesIO(); inv.save(buf, "JPEG", quality=95)
open("cmyk_plain.jpg", "wb").write(strip_app14(buf.getvalue()))

# YCCK through TurboJPEG (tjCompress2 with TJPF_CMYK writes YCCK + Adobe marker, transform 2).
tj = ctypes.CDLL("libturbojpeg.so.0")
tj.tjInitCompress.restype = ctypes.c_void_p
h = ctypes.c_void_p(tj.tjInitCompress())
src = bytes(255 - v for y in range(CH) for x in range(CW) for v in ink(x, y))   # Adobe: inverted
out, size = ctypes.c_void_p(), ctypes.c_ulong(0)
TJPF_CMYK, TJSAMP_444 = 11, 0
assert tj.tjCompress2(h, src, CW, 0, CH, TJPF_CMYK, ctypes.byref(out), ctypes.byref(size), TJSAMP_444, 95, 0) == 0
open("ycck_adobe.jpg", "wb").write(ctypes.string_at(out, size.value))
tj.tjFree(out); tj.tjDestroy(h)

# ---------------------------------------------------------------- corrupt JPEGs
good = open("baseline_rgb.jpg", "rb").read()
sos = good.index(b"\xff\xda")
open("corrupt_truncated.jpg", "wb").write(good[: (sos + len(good)) // 2])   # cut inside the scan
dht = good.index(b"\xff\xc4")
bad = bytearray(good); bad[dht + 5:dht + 21] = b"\xff" * 16    # code counts sum > 256
open("corrupt_bad_huffman.jpg", "wb").write(bytes(bad))
sof = good.index(b"\xff\xc0")
bad = bytearray(good); bad[sof + 5:sof + 7] = struct.pack(">H", JH * 4)   # height x4: data runs out
open("corrupt_wrong_dims.jpg", "wb").write(bytes(bad))
# Decompression bomb: 65000 x 65000 (4.2 gigapixels) declared by an 8x8 file's SOF.
tiny = io.BytesIO(); Image.new("RGB", (8, 8), (200, 30, 30)).save(tiny, "JPEG"); tiny = tiny.getvalue()
sof = tiny.index(b"\xff\xc0")
bomb = bytearray(tiny); bomb[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
open("bomb.jpg", "wb").write(bytes(bomb))
PY

# Arithmetic-coded JPEGs (refused: see make_arithmetic.c and docs/IMAGING.md); needs a C
# compiler and libjpeg62-turbo-dev.
cc -O2 make_arithmetic.c -o "${TMPDIR:-/tmp}/vg_make_arithmetic" -ljpeg
"${TMPDIR:-/tmp}/vg_make_arithmetic"
rm -f "${TMPDIR:-/tmp}/vg_make_arithmetic"
ls -l . | awk '{ total += $5 } END { print "total fixture bytes:", total }'
