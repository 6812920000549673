#!/usr/bin/env bash
# Flash and RAM of the mps2-an386 firmware by component, from the linker's
# map file (what was linked after --gc-sections, not object sizes):
#   bash bench/size-firmware.sh [build/firmware]      (after make firmware)
# Components: Postie (src/: engines, drivers, rawcb), the port (ports/lwip,
# ports/mbedtls), lwIP, mbed TLS, the board (firmware/mps2-an386: startup,
# UART, LAN9118, main with its static buffers), the C library (newlib-nano,
# libgcc). Flash = .text + .rodata + .data's initial values (+ vectors);
# RAM = .data + .bss (the mail task's stack is the .stack section, counted
# on its own line).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/firmware}
MAP=$OUT/postie-fw.map
[ -f "$MAP" ] || { echo "size-firmware: no $MAP (run make firmware)" >&2; exit 1; }
python3 - "$MAP" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split("\n")
start = next(i for i, l in enumerate(lines) if l.startswith("Linker script and memory map"))
comp = {}
def who(path):
    if "libpostie.a" in path: return "Postie (src/)"
    if "libport.a(lwip_raw.o)" in path: return "port: ports/lwip"
    if "libport.a(tls_mbedtls.o)" in path: return "port: ports/mbedtls"
    if "liblwip.a" in path: return "lwIP 2.1.3"
    if "libmbedtls.a" in path: return "mbed TLS 2.28.3"
    if "/obj/board/" in path: return "board (firmware/mps2-an386)"
    return "C library (newlib-nano, libgcc)"
sec_re = re.compile(r"^ (\.[\w.$-]+|COMMON)\s*(0x[0-9a-f]+)?\s*(0x[0-9a-f]+)?\s*(\S.*)?$")
pending = None
for l in lines[start:]:
    m = sec_re.match(l)
    if m and m.group(2) is None:
        pending = m.group(1); continue
    if pending and re.match(r"^\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+\S", l):
        addr, size, path = l.split(None, 2)
        name = pending; pending = None
    elif m and m.group(3):
        name, addr, size, path = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        pending = None
    else:
        pending = None; continue
    size = int(size, 16)
    if size == 0 or not path or path.startswith("*"): continue
    c = comp.setdefault(who(path), {"flash": 0, "ram": 0})
    if name.startswith((".text", ".rodata", ".vectors", ".ARM.exidx", ".ARM.extab")):
        c["flash"] += size
    elif name.startswith(".data"):
        c["flash"] += size; c["ram"] += size
    elif name.startswith((".bss", "COMMON")):
        c["ram"] += size
order = ["Postie (src/)", "port: ports/lwip", "port: ports/mbedtls", "lwIP 2.1.3",
         "mbed TLS 2.28.3", "board (firmware/mps2-an386)", "C library (newlib-nano, libgcc)"]
print("| component | flash (bytes) | static RAM (bytes) |")
print("|---|---:|---:|")
tf = tr = 0
for k in order:
    c = comp.get(k, {"flash": 0, "ram": 0})
    tf += c["flash"]; tr += c["ram"]
    print(f"| {k} | {c['flash']} | {c['ram']} |")
stack = 0
for l in lines[start:]:
    m = re.match(r"^\.stack\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)", l)
    if m: stack = int(m.group(1), 16)
print(f"| **total** | **{tf}** | **{tr}** (+ {stack} stack) |")
PY
