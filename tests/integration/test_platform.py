# Host platform at boot: ACPI MADT, LAPIC/IOAPIC, TSC and LAPIC-timer calibration (HPET or PIT).
import re
import shutil

import pytest

# QEMU's LAPIC timer runs on a 1 GHz clock; divided by 16 that is 62.5 MHz.
QEMU_LAPIC_HZ = 62_500_000
# Bochs: ips=50000000 in the harness; its TSC counts emulated instructions, its
# APIC bus runs at the same rate.
BOCHS_TSC_HZ = 50_000_000
BOCHS_LAPIC_HZ = BOCHS_TSC_HZ // 16


def platform_figures(out):
    """The figures of the boot lines from acpi_init, time_init and the summary line."""
    s = re.search(r"platform: (\d+) CPUs in the MADT, (\d+) IOAPICs, LAPIC (\w+), HPET (yes|no), "
                  r"clock by (\w+)", out)
    assert s, out
    t = re.search(r"time: TSC (\d+)\.(\d{3}) MHz, LAPIC timer (\d+) Hz \(bus / (\d+)\), "
                  r"calibrated by (HPET|PIT)", out)
    assert t, out
    return {
        "cpus": int(s.group(1)), "ioapics": int(s.group(2)), "lapic_mode": s.group(3),
        "hpet": s.group(4) == "yes", "reference": t.group(5),
        "tsc_hz": int(t.group(1)) * 1_000_000 + int(t.group(2)) * 1000,
        "lapic_hz": int(t.group(3)), "divider": int(t.group(4)),
    }


def assert_timer_check_ok(out):
    g = re.search(r"time: LAPIC timer check (\w+): (\d+) interrupts at 1000 Hz, "
                  r"median interval (\d+) us", out)
    assert g, out
    assert g.group(1) == "ok", out
    assert 900 <= int(g.group(3)) <= 1100, out


def near(value, want, tolerance):
    return abs(value - want) <= want * tolerance


@pytest.mark.parametrize("smp", [1, 4])
def test_qemu_madt_and_calibration(boot, smp):
    m = boot(smp=smp, mem="256M")
    out = m.boot_output
    f = platform_figures(out)
    assert f["cpus"] == smp, out
    assert f["ioapics"] == 1, out
    assert f["lapic_mode"] == "xAPIC", out  # QEMU 7.2 TCG has no x2APIC
    assert f["hpet"] and f["reference"] == "HPET", out
    assert 100_000_000 <= f["tsc_hz"] <= 20_000_000_000, out
    assert f["divider"] == 16, out
    assert near(f["lapic_hz"], QEMU_LAPIC_HZ, 0.01), out
    assert re.search(r"ioapic: id \d+ at 0xfec00000, GSIs 0-23, all masked", out), out
    assert re.search(r"acpi: HPET 0xfed00000, PM1a_CNT 0x604, .*\\_S5 found \(SLP_TYP 0\)", out), out
    assert_timer_check_ok(out)
    # The log clock runs once the TSC is calibrated.
    assert re.search(r"^\[\s*0\.0*[1-9]\d*\] cpu0: time: LAPIC timer check", out, re.M), out


def test_qemu_pit_fallback_agrees_with_hpet(boot):
    with_hpet = platform_figures(boot(smp=2, mem="256M").boot_output)
    m = boot(smp=2, mem="256M", extra=["-machine", "hpet=off"])
    f = platform_figures(m.boot_output)
    assert not f["hpet"] and f["reference"] == "PIT", m.boot_output
    assert "calibrated by PIT channel 2" in m.boot_output, m.boot_output
    assert near(f["tsc_hz"], with_hpet["tsc_hz"], 0.02), (f, with_hpet)
    assert near(f["lapic_hz"], QEMU_LAPIC_HZ, 0.01), m.boot_output
    assert_timer_check_ok(m.boot_output)


@pytest.mark.bochs
@pytest.mark.skipif(shutil.which("bochs") is None, reason="bochs not installed")
def test_bochs_madt_and_calibration(boot):
    m = boot(emulator="bochs", smp=2, mem="256M")
    out = m.boot_output
    f = platform_figures(out)
    assert f["cpus"] == 2 and f["ioapics"] == 1, out
    assert f["lapic_mode"] == "x2APIC", out
    assert f["reference"] == "HPET", out
    assert near(f["tsc_hz"], BOCHS_TSC_HZ, 0.01), out
    assert near(f["lapic_hz"], BOCHS_LAPIC_HZ, 0.01), out
    assert_timer_check_ok(out)
