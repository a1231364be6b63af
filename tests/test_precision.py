"""Precision: the CPU calibration and its cache."""

import json


def test_precision_auto_measures_once_and_caches(monkeypatch, tmp_path):
    import engine.precision as precision

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    precision.fastest_cpu_precision.cache_clear()
    calls = []

    def fake_measure():
        calls.append(1)
        return {"fp32": 0.01, "bf16": 0.02}

    monkeypatch.setattr(precision, "measure_conv_precisions", fake_measure)
    try:
        assert precision.fastest_cpu_precision() == "fp32"
        precision.fastest_cpu_precision.cache_clear()
        assert precision.fastest_cpu_precision() == "fp32"
        assert len(calls) == 1  # the second answer came from the file
        saved = json.loads((tmp_path / "image-studio" / "precision.json").read_text())
        assert list(saved.values()) == [{"fp32": 0.01, "bf16": 0.02}]
    finally:
        precision.fastest_cpu_precision.cache_clear()


def test_precision_auto_measures_again_on_another_cpu_generation(monkeypatch, tmp_path):
    """Two CPUs that a virtual machine names alike are measured apart."""
    import engine.precision as precision

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(precision, "cpu_model", lambda: "AMD EPYC")
    answers = iter([{"fp32": 0.01, "bf16": 0.02}, {"fp32": 0.02, "bf16": 0.01}])
    monkeypatch.setattr(precision, "measure_conv_precisions", lambda: next(answers))
    try:
        for generation, expected in [("family 25 model 17", "fp32"), ("family 26 model 2", "bf16")]:
            monkeypatch.setattr(precision, "cpu_generation", lambda g=generation: g)
            precision.fastest_cpu_precision.cache_clear()
            assert precision.fastest_cpu_precision() == expected
        saved = json.loads((tmp_path / "image-studio" / "precision.json").read_text())
        assert len(saved) == 2 and all("AMD EPYC (family" in key for key in saved)
    finally:
        precision.fastest_cpu_precision.cache_clear()


def test_cpu_generation_reads_family_model_stepping():
    from engine.precision import cpu_generation

    generation = cpu_generation()
    assert generation == "" or generation.startswith("family ")


def test_conv_calibration_times_both_precisions():
    from engine.precision import measure_conv_precisions

    times = measure_conv_precisions(repeats=1)
    assert set(times) == {"fp32", "bf16"} and all(0 < t < 10 for t in times.values())
