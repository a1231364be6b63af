"""Precision: what the CPU is, the CPU calibration and its cache, and why a run used its mode."""

import datetime
import json
from pathlib import Path

import pytest
import torch

from engine.errors import UserError
from engine.runtime import calibration, device, precision
from engine.runtime.calibration import ConvTimings

CPUINFO = """\
processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 vaes

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
stepping\t: 0
flags\t\t: fpu sse2 avx2
"""

TODAY = datetime.date.today().isoformat()


@pytest.fixture
def fresh_calibration(monkeypatch, tmp_path):
    """A cache file of this test's own, and no answer kept in the process from before."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calibration.fastest_cpu_precision.cache_clear()
    yield tmp_path / "image-studio" / "precision.json"
    calibration.fastest_cpu_precision.cache_clear()


def timings(fp32: float, bf16: float, rounds: int = 12, cpu_share: float = 0.98) -> ConvTimings:
    return ConvTimings(((fp32, bf16),) * rounds, cpu_share)


def measured(monkeypatch, *answers: ConvTimings) -> list[int]:
    """measure_conv_precisions answers these in turn; the list returned counts the calls."""
    calls, queue = [], list(answers)

    def fake_measure() -> ConvTimings:
        calls.append(1)
        return queue.pop(0)

    monkeypatch.setattr(calibration, "measure_conv_precisions", fake_measure)
    return calls


def test_cpu_generation_is_the_first_cpus_family_model_and_stepping(monkeypatch):
    monkeypatch.setattr(device, "cpu_info", lambda: device.parse_cpuinfo(CPUINFO))
    assert device.cpu_generation() == "family 25 model 17 stepping 1"
    assert device.cpu_model() == "AMD EPYC"
    assert device.cpu_has_bf16()
    monkeypatch.setattr(device, "cpu_info", lambda: device.parse_cpuinfo(CPUINFO.split("\n\n")[1]))
    assert device.cpu_generation() == "family 26 model 2 stepping 0"
    assert not device.cpu_has_bf16()
    monkeypatch.setattr(device, "cpu_info", dict)  # no /proc/cpuinfo (macOS, Windows)
    assert device.cpu_generation() == "" and not device.cpu_has_bf16()


@pytest.mark.parametrize(
    "fp32, bf16, mode, words",
    [(0.0105, 0.0068, "bf16", "bf16 measured 1.5x faster than fp32"), (0.010, 0.014, "fp32", "1.4x slower")],
)
def test_a_clear_margin_is_cached_with_its_figures(monkeypatch, fresh_calibration, fp32, bf16, mode, words):
    calls = measured(monkeypatch, timings(fp32, bf16))
    chosen, reason = calibration.fastest_cpu_precision()
    assert chosen == mode and words in reason and reason.endswith("on this CPU, measured now and cached")
    saved = json.loads(fresh_calibration.read_text())
    assert list(saved.values()) == [
        {
            "choice": mode,
            "bf16_speedup": round(fp32 / bf16, 3),
            "fp32_s": fp32,
            "bf16_s": bf16,
            "rounds": 12,
            "cpu_share": 0.98,
            "others_share": 0.0,
            "date": TODAY,
        }
    ]
    calibration.fastest_cpu_precision.cache_clear()  # a later process reads the file
    assert calibration.fastest_cpu_precision() == (
        mode,
        reason.replace("measured now and cached", f"cached {TODAY}"),
    )
    assert len(calls) == 1


def test_an_unclear_margin_trains_in_fp32_and_is_measured_again_next_time(monkeypatch, fresh_calibration):
    """bf16 faster by the margin in only half the rounds: noise, not a CPU's property."""
    mixed = ConvTimings(((0.012, 0.008), (0.010, 0.0095)) * 6, 0.98)
    calls = measured(monkeypatch, mixed, mixed)
    chosen, reason = calibration.fastest_cpu_precision()
    assert chosen == "fp32"
    assert reason.startswith("unclear margin") and "in only 6 of 12 rounds" in reason
    assert reason.endswith("fp32, not cached")
    assert not fresh_calibration.exists()
    assert calibration.fastest_cpu_precision()[0] == "fp32" and len(calls) == 1  # once per process
    calibration.fastest_cpu_precision.cache_clear()
    calibration.fastest_cpu_precision()
    assert len(calls) == 2


def test_a_measurement_on_a_busy_cpu_is_not_cached(monkeypatch, fresh_calibration):
    """The figures a loaded machine once cached for good: bf16 3.3x slower, consistently."""
    measured(monkeypatch, timings(0.024, 0.078, cpu_share=0.45))
    chosen, reason = calibration.fastest_cpu_precision()
    assert chosen == "fp32"
    assert reason.startswith("CPU busy while measuring: this process got 45%")
    assert "bf16 measured 3.2x slower than fp32" in reason and reason.endswith("not cached")
    assert not fresh_calibration.exists()


def test_too_few_rounds_decide_nothing():
    verdict = calibration.judge(timings(0.0105, 0.0068, rounds=calibration.MIN_ROUNDS - 1))
    assert verdict.mode == "fp32" and not verdict.keep
    assert verdict.reason.startswith(f"unclear: only {calibration.MIN_ROUNDS - 1} calibration rounds")


def test_an_entry_without_a_decision_from_an_older_version_is_measured_again(monkeypatch, fresh_calibration):
    fresh_calibration.parent.mkdir(parents=True)
    key = calibration.calibration_key()
    fresh_calibration.write_text(json.dumps({key: {"fp32": 0.024, "bf16": 0.078}, "other CPU": {"x": 1}}))
    calls = measured(monkeypatch, timings(0.0105, 0.0068))
    assert calibration.fastest_cpu_precision()[0] == "bf16" and len(calls) == 1
    saved = json.loads(fresh_calibration.read_text())
    assert saved[key]["choice"] == "bf16" and saved["other CPU"] == {"x": 1}


def test_another_cpu_generation_is_measured_apart(monkeypatch, fresh_calibration):
    """Two CPUs that a virtual machine names alike are measured apart."""
    monkeypatch.setattr(calibration, "cpu_model", lambda: "AMD EPYC")
    measured(monkeypatch, timings(0.010, 0.020), timings(0.020, 0.010))
    for generation, expected in [("family 25 model 17", "fp32"), ("family 26 model 2", "bf16")]:
        monkeypatch.setattr(calibration, "cpu_generation", lambda g=generation: g)
        calibration.fastest_cpu_precision.cache_clear()
        assert calibration.fastest_cpu_precision()[0] == expected
    saved = json.loads(fresh_calibration.read_text())
    assert len(saved) == 2 and all("AMD EPYC (family" in key for key in saved)


def test_conv_calibration_times_both_precisions_and_leaves_the_rng_alone():
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    measure = calibration.measure_conv_precisions(rounds=2, budget_s=30)
    assert torch.equal(torch.rand(4), expected)  # a run's seeded start does not depend on the cache
    assert len(measure.rounds) == 2 and all(0 < t < 10 for pair in measure.rounds for t in pair)
    assert 0 < measure.cpu_share


def test_precision_says_why_it_chose_its_mode(monkeypatch):
    cpu = torch.device("cpu")
    assert precision.choose_precision("bf16", cpu) == ("bf16", "asked for with --precision bf16")
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert precision.Precision(cpu).describe() == "fp32 (CPU without native bf16 (no AVX512-BF16 or AMX))"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    monkeypatch.setattr(precision, "fastest_cpu_precision", lambda: ("bf16", "measured faster"))
    chosen = precision.Precision(cpu)
    assert (chosen.mode, chosen.reason, chosen.dtype) == ("bf16", "measured faster", torch.bfloat16)
    assert precision.resolve_precision("auto", torch.device("mps")) == "fp32"
    with pytest.raises(UserError):
        precision.choose_precision("fp8", cpu)


def test_runs_show_prints_the_precision_a_run_used_and_why(
    monkeypatch, fresh_calibration, aligned_dataset, capsys
):
    from engine.cli import main
    from engine.training.loop import TrainSettings, train
    from support.tiny import TINY_PIX2PIX

    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)  # so 'auto' calibrates on any CPU
    measured(monkeypatch, timings(0.0105, 0.0068))
    settings = TrainSettings(
        data=str(aligned_dataset), max_steps=1, batch_size=2, sample_size=2, device="cpu"
    )
    run_id = train("pix2pix", settings, TINY_PIX2PIX)
    capsys.readouterr()
    assert main(["runs", "show", run_id]) == 0
    lines = capsys.readouterr().out.splitlines()
    why = "bf16 measured 1.5x faster than fp32 on this CPU, measured now and cached"
    assert lines[1] == f"precision: bf16 ({why})"
    assert any(
        line.split()[0] == "started" and line.endswith(f"precision: bf16 ({why})") for line in lines[2:]
    )


def test_rounds_that_contradict_each_other_decide_nothing(monkeypatch, fresh_calibration):
    """bf16 twice as fast in one round and twice as slow in the next: no verdict is kept."""
    measured(monkeypatch, ConvTimings(((0.010, 0.005), (0.005, 0.010)) * 6, 0.98))
    chosen, reason = calibration.fastest_cpu_precision()
    assert chosen == "fp32" and reason.startswith("unclear margin") and reason.endswith("not cached")
    assert not fresh_calibration.exists()


def test_a_measurement_while_other_processes_used_the_machine_is_not_cached(monkeypatch, fresh_calibration):
    """This process got its threads' time (two vCPUs can be one core's hyperthreads), but others
    used half of the machine meanwhile."""
    measured(monkeypatch, ConvTimings(((0.0105, 0.0068),) * 12, 0.98, others_share=0.5))
    chosen, reason = calibration.fastest_cpu_precision()
    assert chosen == "fp32"
    assert reason.startswith("CPU busy while measuring: other processes used 50% of the machine's CPU time")
    assert not fresh_calibration.exists()


@pytest.mark.parametrize(
    "loaded", [{"cpu_share": 0.437}, {"others_share": 0.6}, {"rounds": 3}, {"cpu_share": None}]
)
def test_a_cached_verdict_measured_under_load_is_measured_again(monkeypatch, fresh_calibration, loaded):
    """Such an entry (an earlier version cached one: bf16 at 44% CPU share) is not trusted."""
    key = calibration.calibration_key()
    entry = {
        "choice": "fp32",
        "bf16_speedup": 0.31,
        "fp32_s": 0.024,
        "bf16_s": 0.078,
        "rounds": 12,
        "cpu_share": 0.98,
        "others_share": 0.0,
        "date": "2026-12-01",
    }
    fresh_calibration.parent.mkdir(parents=True)
    fresh_calibration.write_text(json.dumps({key: {**entry, **loaded}}))
    calls = measured(monkeypatch, timings(0.0105, 0.0068))
    chosen, reason = calibration.fastest_cpu_precision()
    assert (chosen, len(calls)) == ("bf16", 1) and reason.endswith("measured now and cached")
    assert json.loads(fresh_calibration.read_text())[key]["choice"] == "bf16"
    calibration.fastest_cpu_precision.cache_clear()  # the clean entry it wrote is trusted
    assert calibration.fastest_cpu_precision()[0] == "bf16" and len(calls) == 1


def test_the_calibration_counts_other_processes_cpu_time(monkeypatch):
    """The machine's CPU seconds (/proc/stat) grew far beyond this process's own: others ran."""
    readings = iter([1000.0, 1000.0 + 50.0])
    monkeypatch.setattr(calibration, "machine_cpu_seconds", lambda: next(readings))
    measure = calibration.measure_conv_precisions(rounds=2, budget_s=30)
    assert measure.others_share > calibration.MAX_OTHERS_SHARE


def test_machine_cpu_seconds_reads_proc_stat_where_there_is_one():
    seconds = calibration.machine_cpu_seconds()
    if not Path("/proc/stat").exists():
        assert seconds is None
    else:
        assert seconds is not None and seconds > 0
