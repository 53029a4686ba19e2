#!/usr/bin/python3
# `make bench`: shadow MMU figures for the address-space switching guest (tests/guests/pgswitch.c):
# shadow faults per CR3 switch and root-reuse hit rate with the shadow cache on and forced off
# (the old throw-away behaviour), and guest TSC ticks per switch (nested paging for reference).
# A benchmark, not a test: it prints figures and asserts nothing. QEMU TCG with
# -icount shift=0,sleep=off (one CPU): the guest's TSC counts instructions, guest and
# hypervisor alike, so TSC per switch is exact and repeatable (see ../../../shared/TESTING.md).
import os
import re
import sys
import tempfile

import pexpect

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from conftest import BUILD, PROMPT, QEMU, build_iso, normalize  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "256"))
RUNS = [  # VM, what it shows, config lines
    ("cache", "shadow, cache on", ["mmu = shadow"]),
    ("nocache", "shadow, cache off", ["mmu = shadow", "shadow_cache = no"]),
    ("nested", "nested paging", ["mmu = nested"]),
]
RUN_TIMEOUT = 1200


def write_config(path):
    with open(path, "w", encoding="utf-8") as f:
        for name, _, lines in RUNS:
            f.write(f"[vm {name}]\nkernel = pgswitch.elf\ncmdline = hv rounds={ROUNDS}\n")
            f.write("shadow_pages = 4096\n" if "mmu = shadow" in lines else "")
            f.write("".join(line + "\n" for line in lines))


class Shell:
    def __init__(self, iso, logpath):
        args = ["-s", "KILL", str(RUN_TIMEOUT * 2), QEMU, "-machine", "pc",
                "-cpu", "qemu64,+svm,+npt", "-smp", "1", "-m", "512M",
                "-accel", "tcg", "-icount", "shift=0,sleep=off",
                "-rtc", "base=2024-01-01T00:00:00,clock=vm",
                "-display", "none", "-no-reboot", "-monitor", "none", "-parallel", "none",
                "-cdrom", iso, "-chardev", "stdio,id=s0,signal=off", "-serial", "chardev:s0"]
        self.log = open(logpath, "w", encoding="utf-8", errors="replace")
        self.p = pexpect.spawn("timeout", args, encoding="utf-8", codec_errors="replace",
                               echo=False, timeout=120)
        self.p.logfile_read = self.log
        self.p.expect_exact(PROMPT, timeout=300)

    def run(self, cmd, timeout=60):
        self.p.send(cmd + "\r")
        self.p.expect_exact("\n" + PROMPT, timeout=timeout)
        out = normalize(self.p.before)
        return out.split("\n", 1)[1] if "\n" in out else ""

    def start_and_wait(self, vm):
        """Start a VM and wait for its end line on the console, typing nothing meanwhile."""
        self.p.send(f"vm start {vm}\r")
        self.p.expect(rf"vm {vm}: (stopped|crashed)[^\n]*\n", timeout=RUN_TIMEOUT)
        line = self.p.after
        self.p.send("\r")
        self.p.expect_exact(PROMPT, timeout=60)
        return line.strip()

    def console(self, vm):
        self.p.send(f"console {vm}\r")
        self.p.expect_exact(f"[attached to '{vm}'", timeout=60)
        text = normalize(self.p.before)
        self.p.send("\x1d")
        self.p.expect_exact(PROMPT, timeout=60)
        return text

    def close(self):
        self.p.terminate(force=True)
        self.log.close()


def number(text, label):
    mo = re.search(rf"^{label}:\s+(\d+)", text, re.M)
    return int(mo.group(1)) if mo else None


def exception_exits(text):
    mo = re.search(r"^exception\s+(\d+)", text, re.M)
    return int(mo.group(1)) if mo else 0


def main():
    guests = os.path.join(BUILD, "guests")
    work = tempfile.mkdtemp(prefix="hv-bench-")
    conf = os.path.join(work, "vms.conf")
    write_config(conf)
    iso = build_iso(modules=[conf, os.path.join(guests, "pgswitch.elf")])
    sh = Shell(iso, os.path.join(work, "serial.log"))
    results = {}
    try:
        for vm, _, _ in RUNS:
            end = sh.start_and_wait(vm)
            text = sh.console(vm)
            mo = re.search(r"pgswitch: switches (\d+) tsc_per_switch (\d+)", text)
            if "status 1" not in end or not mo:
                print(f"bench: {vm} did not pass: {end}\n{text}", file=sys.stderr)
                return 1
            results[vm] = {"switches": int(mo.group(1)), "tsc": int(mo.group(2)),
                           "mmu": sh.run(f"mmu {vm}"), "exits": sh.run(f"exits {vm}")}
    finally:
        sh.close()
    report(results)
    print(f"(serial log: {work}/serial.log)")
    return 0


def report(results):
    on, off = results["cache"], results["nocache"]
    print(f"Shadow MMU benchmark: pgswitch, 16 address spaces, {on['switches']} CR3 switches, "
          "QEMU TCG -icount shift=0,sleep=off, 1 CPU")
    print(f"{'':28}{'cache on':>14}{'cache off':>14}{'nested':>14}")
    row = {}
    for key, r in (("cache", on), ("nocache", off)):
        n, m = r["switches"], r["mmu"]
        hits, misses = number(m, "root_hits"), number(m, "root_misses")
        row[key] = {
            "fills": number(m, "shadow_fills") / n,
            "pf": exception_exits(r["exits"]) / n,
            "hit": 100.0 * hits / max(1, hits + misses),
            "wp": number(m, "wp_emulations") / n,
        }
    print(f"{'shadow faults per switch':28}{row['cache']['fills']:14.2f}{row['nocache']['fills']:14.2f}{'-':>14}")
    print(f"{'#PF exits per switch':28}{row['cache']['pf']:14.2f}{row['nocache']['pf']:14.2f}{'-':>14}")
    print(f"{'root-reuse hit rate':28}{row['cache']['hit']:13.1f}%{row['nocache']['hit']:13.1f}%{'-':>14}")
    print(f"{'table writes emulated/switch':28}{row['cache']['wp']:14.2f}{row['nocache']['wp']:14.2f}{'-':>14}")
    print(f"{'TSC per switch':28}{on['tsc']:14d}{off['tsc']:14d}{results['nested']['tsc']:14d}")
    if row["cache"]["fills"] > 0:
        print(f"the cache cuts shadow faults per switch {row['nocache']['fills'] / row['cache']['fills']:.0f}x")
    else:
        print("the cache leaves no shadow faults per switch at all")


if __name__ == "__main__":
    sys.exit(main())
