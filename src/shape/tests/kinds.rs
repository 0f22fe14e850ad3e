//! Each inline kind, durations, and every inline syntax error message.

use super::super::ShapeError;
use super::*;

// ---------------------------------------------------------------- inline kinds

#[test]
fn huge_loads_are_capped_so_the_pacer_can_advance() {
    let s = shape("const:1e30", None);
    assert_eq!(s.value_at(0.0), 1e6);
    assert_eq!(s.max_value(10.0), 1e6);
    assert_eq!(crate::shape::Shape::constant(f64::MAX).value_at(1.0), 1e6);
}

#[test]
fn const_shape() {
    for arg in ["const:50", "const:value=50", " const: 50 "] {
        let s = shape(arg, None);
        assert_eq!(s.value_at(0.0), 50.0);
        assert_eq!(s.value_at(1e9), 50.0);
        assert_eq!(s.natural_duration(), None);
        assert_eq!(s.max_value(10.0), 50.0);
    }
    assert_eq!(shape("const:50", None).describe(), "const 50");
    assert_eq!(Shape::constant(-3.0).value_at(1.0), 0.0);
}

#[test]
fn ramp_shape() {
    let s = shape("ramp:from=0,to=100,duration=60s", None);
    assert_eq!(s.value_at(0.0), 0.0);
    assert_eq!(s.value_at(30.0), 50.0);
    assert_eq!(s.value_at(60.0), 100.0);
    assert_eq!(s.value_at(600.0), 100.0);
    assert_eq!(s.natural_duration(), Some(60.0));
    assert_eq!(s.max_value(30.0), 50.0);
    assert_eq!(s.max_value(100.0), 100.0);
    let down = shape("ramp:from=100,to=0,duration=1m", None);
    assert_eq!(down.max_value(10.0), 100.0);
    assert_eq!(down.value_at(45.0), 25.0);
    assert_eq!(shape("ramp:to=7,duration=0s", None).value_at(0.0), 7.0);
    assert_eq!(s.describe(), "ramp 0 -> 100 over 1m");
}

#[test]
fn steps_shape() {
    let s = shape("steps:10@30s,100@2m,0@30s", None);
    let expect = [
        (0.0, 0.0),
        (15.0, 5.0),
        (30.0, 10.0),
        (90.0, 55.0),
        (150.0, 100.0),
        (165.0, 50.0),
        (180.0, 0.0),
        (1e6, 0.0),
    ];
    for (t, v) in expect {
        assert_eq!(s.value_at(t), v, "t={t}");
    }
    assert_eq!(s.natural_duration(), Some(180.0));
    assert_eq!(s.max_value(100.0), 10.0 + 90.0 * 70.0 / 120.0);
    assert_eq!(s.max_value(1000.0), 100.0);
    assert_eq!(s.describe(), "steps 10@30s,100@2m,0@30s");
    // `100@0s` is a jump; the last target is held.
    let jump = shape("steps:100@0s,100@10s,20@0s", None);
    assert_eq!(jump.value_at(0.0), 100.0);
    assert_eq!(jump.value_at(9.99), 100.0);
    assert_eq!(jump.value_at(10.0), 20.0);
    assert_eq!(jump.max_value(5.0), 100.0);
}

#[test]
fn sin_shape() {
    let s = shape("sin:min=10,max=80,period=400s", None);
    assert_eq!(s.value_at(0.0), 10.0);
    assert_eq!(s.value_at(200.0), 80.0);
    assert!((s.value_at(100.0) - 45.0).abs() < 1e-9);
    assert_eq!(s.value_at(400.0), 10.0);
    assert_eq!(s.natural_duration(), None);
    assert!((s.max_value(100.0) - 45.0).abs() < 1e-9);
    assert_eq!(s.max_value(200.0), 80.0);
    let shifted = shape("sin:min=10,max=80,period=400s,phase=100s", None);
    assert!((shifted.value_at(0.0) - 45.0).abs() < 1e-9);
    assert_eq!(shifted.value_at(100.0), 80.0);
    assert_eq!(shifted.max_value(99.0), shifted.value_at(99.0));
    assert_eq!(s.describe(), "sin min=10 max=80 period=6m40s");
}

#[test]
fn weibull_needs_a_long_enough_duration() {
    let spec = ShapeSpec::parse("weibull:", &TraceOptions::default()).unwrap();
    assert_eq!(
        spec.build(None).unwrap_err().to_string(),
        "the weibull shape needs the run duration (-t/--run-time with ctl load, -d/--duration with ctl shape show)"
    );
    assert!(spec.build(Some(19.0)).unwrap_err().to_string().contains("shorter than one stage"));
    // One stage: linspace(min, stop, 1) == [min], held forever.
    let one = spec.build(Some(20.0)).unwrap();
    assert_eq!(one.value_at(0.0), one.value_at(1e6));
    assert_eq!(one.natural_duration(), None);
    assert_eq!(one.max_value(1e6), one.value_at(0.0));
    assert!(spec.build(Some(f64::NAN)).is_err());
}

#[test]
fn weibull_max_value_covers_only_reached_stages() {
    let s = shape("weibull:", Some(3600.0));
    let by_hand = (0..=40).map(|t| s.value_at(t as f64)).fold(0.0, f64::max);
    assert_eq!(s.max_value(40.0), by_hand);
    let all = (0..3600).map(|t| s.value_at(t as f64)).fold(0.0, f64::max);
    assert_eq!(s.max_value(3600.0), all);
}

#[test]
fn durations() {
    for (text, secs) in [
        ("30s", 30.0),
        ("2m", 120.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("45", 45.0),
        ("2.5", 2.5),
    ] {
        assert_eq!(super::super::parse_duration(text), Some(secs), "{text}");
    }
    assert_eq!(super::super::parse_duration("-5"), None);
    assert_eq!(super::super::parse_duration("5x"), None);
}

// ---------------------------------------------------------------- inline errors

#[test]
fn inline_error_messages() {
    assert_eq!(
        parse_err("const:abc"),
        "--shape 'const:abc': column 7: expected a finite number >= 0, found 'abc'"
    );
    assert_eq!(
        parse_err("const:NaN"),
        "--shape 'const:NaN': column 7: expected a finite number >= 0, found 'NaN'"
    );
    assert_eq!(
        parse_err("ramp:from=0,to=-5,duration=1s"),
        "--shape 'ramp:from=0,to=-5,duration=1s': column 16: expected a finite number >= 0, found '-5'"
    );
    assert_eq!(
        parse_err("ramp:to=5,duration=10x"),
        "--shape 'ramp:to=5,duration=10x': column 20: expected a duration like 30s, 2m, 1h30m, 500ms or 45 (seconds), found '10x'"
    );
    assert_eq!(
        parse_err("sin:min=1,max=2,period=10s,foo=3"),
        "--shape 'sin:min=1,max=2,period=10s,foo=3': column 28: unknown key 'foo' for sin; valid keys: min, max, period, phase"
    );
    assert_eq!(
        parse_err("square:period=10"),
        "--shape 'square:period=10': column 1: unknown shape kind 'square'; valid kinds: const, ramp, steps, sin, weibull, trace \
         (anything else is a trace CSV path; write ./square:period=10 or trace:square:period=10 for a file name with ':')"
    );
    assert_eq!(
        parse_err("ramp:from=1"),
        "--shape 'ramp:from=1': ramp needs 'to'; valid keys: from, to, duration"
    );
    assert_eq!(
        parse_err("ramp:to=1,to=2,duration=1s"),
        "--shape 'ramp:to=1,to=2,duration=1s': column 11: expected each key once ('to' is repeated), found 'to'"
    );
    assert_eq!(
        parse_err("steps:10@30s,100"),
        "--shape 'steps:10@30s,100': column 14: expected a stage target@duration (e.g. 100@2m), found '100'"
    );
    assert_eq!(
        parse_err("const:"),
        "--shape 'const:': column 7: expected a finite number >= 0, found end of input"
    );
    assert_eq!(
        parse_err("sin:min=50,max=10,period=1s"),
        "--shape 'sin:min=50,max=10,period=1s': column 16: expected a value >= min (50), found '10'"
    );
    assert_eq!(
        parse_err("sin"),
        "--shape 'sin': column 4: expected ':' and arguments after 'sin' (e.g. sin:min=10,max=80,period=400s), found end of input"
    );
    assert_eq!(
        parse_err(""),
        "--shape '': column 1: expected a shape (kind:args, e.g. const:50, or a trace CSV path), found end of input"
    );
    assert!(parse_err("weibull:seed=-1").contains("column 14: expected an integer seed"));
    assert!(parse_err("weibull:k=0").contains("column 11: expected a shape k > 0, found '0'"));
    assert!(parse_err("weibull:min=500,max=400").contains("column 21: expected min < max"));
    assert!(
        parse_err("ramp:to=5;duration=1s")
            .contains("column 9: expected a finite number >= 0, found '5;duration=1s'")
    );
    // Columns count characters, not bytes.
    assert!(parse_err("const:é").contains("column 7"));
    assert!(parse_err("sin:min=1,max=2,period=10s,é=3,x=1").contains("column 28: unknown key 'é'"));
}

#[test]
fn trace_flags_are_checked() {
    let opts = TraceOptions { fit: true, ..TraceOptions::default() };
    assert_eq!(
        ShapeSpec::parse("const:5", &opts).unwrap_err().to_string(),
        "--fit only applies to trace shapes, not to 'const:5'"
    );
    let opts = TraceOptions { amplitude: Some(-1.0), ..TraceOptions::default() };
    assert_eq!(
        ShapeSpec::parse("sin400.csv", &opts).unwrap_err().to_string(),
        "--amplitude: expected a finite number >= 0, found '-1'"
    );
    let opts = TraceOptions { step: Some(0.0), ..TraceOptions::default() };
    assert!(
        ShapeSpec::parse("sin400.csv", &opts)
            .unwrap_err()
            .to_string()
            .starts_with("--step: expected")
    );
    let fit =
        ShapeSpec::parse("sin400.csv", &TraceOptions { fit: true, ..TraceOptions::default() })
            .unwrap();
    assert_eq!(
        fit.build(None).unwrap_err().to_string(),
        "--fit (stretching the trace over the run) needs the run duration (-t/--run-time with ctl load, -d/--duration with ctl shape show)"
    );
}

#[test]
fn trace_files_resolve_to_builtins() {
    let d = TraceOptions::default();
    for arg in ["sin400.csv", "workloads/sin800.csv", "trace:twitter.csv"] {
        let spec = ShapeSpec::parse(arg, &d).unwrap();
        assert!(spec.is_trace());
    }
    assert!(!ShapeSpec::parse("const:1", &d).unwrap().is_trace());
    let missing = ShapeSpec::parse("nope/missing.csv", &d).unwrap_err().to_string();
    assert_eq!(
        missing,
        "cannot read trace file 'nope/missing.csv': no such file (built-in traces: sin400.csv, sin800.csv, twitter.csv)"
    );
    assert!(matches!(ShapeSpec::parse("other/sin400.csv", &d), Err(ShapeError::Read { .. })));
    let compat_sin = built("sin400.csv", &compat(19.0, 1.0, false), 800.0);
    assert_eq!(
        compat_sin.describe(),
        "trace sin400.csv (799 rows, step 1s, looped, scaled to 1..20, locust-compat)"
    );
    assert_eq!(
        shape("sin400.csv", None).describe(),
        "trace sin400.csv (800 rows, step 1s, looped)"
    );
    // CRLF file, first line "10" is a number: kept without --locust-compat.
    let s = shape("sin400.csv", None);
    assert_eq!(s.natural_duration(), Some(800.0));
    assert_eq!(s.value_at(0.0), 10.0);
    assert_eq!(s.max_value(1e9), 79.0);
}
