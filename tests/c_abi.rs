//! C ABI tests: the C programs under `tests/c/` are compiled with the system C compiler against
//! `include/sendense.h` and the static library `libsendense.a` that this `cargo test` built,
//! then run three ways: plainly, under AddressSanitizer + UndefinedBehaviorSanitizer +
//! LeakSanitizer, and under valgrind's memcheck with leak checking. Each program takes a
//! scratch directory, prints one line per group of checks and closes with "N passed, M failed".
//!
//! Also checks that the header compiles on its own as C99 and as C++11.
//!
//! Needs `cc`, `c++` and `valgrind`; a missing tool fails the test (it is never skipped).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::static_lib;

/// The C test programs: `tests/c/<name>.c`, each a complete program.
const PROGRAMS: &[&str] = &["store_abi"];

/// Warnings are errors: the header must be clean for strict C99 consumers.
const CFLAGS: &[&str] = &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-pthread", "-g"];

/// What Rust's standard library needs from the system when linking `libsendense.a`
/// (`cargo rustc --lib --crate-type staticlib -- --print native-static-libs` on Linux).
const NATIVE_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"];

const SANITIZE: &[&str] = &["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"];

const VALGRIND: &[&str] =
    &["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99"];

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Run a command to completion; a tool that is not installed fails the test with a clear message.
fn output_of(cmd: &mut Command) -> Output {
    let tool = cmd.get_program().to_string_lossy().into_owned();
    cmd.output().unwrap_or_else(|e| match e.kind() {
        std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed ({e}). The C ABI tests need cc, c++ and valgrind: run the test command \
             from the README, which installs them (on Debian: apt-get install gcc g++ valgrind)"
        ),
        _ => panic!("cannot run `{tool}`: {e}"),
    })
}

fn describe(cmd: &Command, out: &Output) -> String {
    format!(
        "command: {cmd:?}\nexit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Run `cmd` and require exit status 0.
fn run_ok(cmd: &mut Command) -> Output {
    let out = output_of(cmd);
    assert!(out.status.success(), "failed:\n{}", describe(cmd, &out));
    out
}

/// Compile `tests/c/<program>.c` with `extra` compiler flags against the static library into
/// `out_dir`; returns the executable.
fn compile(program: &str, out_dir: &Path, extra: &[&str]) -> PathBuf {
    let exe = out_dir.join(program);
    let mut cmd = Command::new("cc");
    cmd.args(CFLAGS)
        .args(extra)
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(crate_dir().join("tests/c").join(format!("{program}.c")))
        .arg(static_lib())
        .args(NATIVE_LIBS)
        .arg("-o")
        .arg(&exe);
    run_ok(&mut cmd);
    exe
}

/// `exe` run through `wrapper` (e.g. valgrind and its options; nothing when empty) with `env`.
fn command(exe: &Path, wrapper: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = match wrapper.split_first() {
        Some((tool, args)) => {
            let mut c = Command::new(tool);
            c.args(args).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.envs(env.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))));
    cmd
}

/// Run a compiled test program (through `wrapper`, e.g. valgrind, when not empty) with a fresh
/// scratch directory; require exit status 0 and the closing line "N passed, 0 failed".
fn run_program(exe: &Path, wrapper: &[&str], env: &[(&str, &str)]) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut cmd = command(exe, wrapper, env);
    cmd.arg(scratch.path());
    let out = run_ok(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("");
    let passed = last.strip_suffix(" passed, 0 failed").and_then(|n| n.parse::<u64>().ok());
    assert!(
        matches!(passed, Some(n) if n > 0),
        "the program exited 0 but did not close with \"N passed, 0 failed\":\n{}",
        describe(&cmd, &out)
    );
    println!("{}{}:\n{stdout}", wrapper.first().map(|w| format!("{w} ")).unwrap_or_default(), exe.display());
}

/// The leak checker in use must catch a store handle that `tests/c/leak_canary.c` leaks on
/// purpose: exit status `exit_code` and `report` on stderr. Otherwise a checker that silently
/// does not run (or does not see the Rust library's allocations) would prove nothing.
fn leak_is_detected(
    build_dir: &Path,
    extra: &[&str],
    wrapper: &[&str],
    env: &[(&str, &str)],
    exit_code: i32,
    report: &str,
) {
    let exe = compile("leak_canary", build_dir, extra);
    let mut cmd = command(&exe, wrapper, env);
    let out = output_of(&mut cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(exit_code)
            && stderr.contains(report)
            && stderr.contains("sendense_store_open_in_memory"),
        "the leak checker did not report the deliberate leak of leak_canary.c (expected exit status {exit_code} \
         and \"{report}\" with a stack through sendense_store_open_in_memory):\n{}",
        describe(&cmd, &out)
    );
}

/// Compile every program with `extra` flags and run each with `wrapper` and `env`.
fn build_and_run_all(build_dir: &Path, extra: &[&str], wrapper: &[&str], env: &[(&str, &str)]) {
    for program in PROGRAMS {
        let exe = compile(program, build_dir, extra);
        run_program(&exe, wrapper, env);
    }
}

#[test]
fn c_programs_pass() {
    let build = tempfile::tempdir().expect("tempdir");
    build_and_run_all(build.path(), &[], &[], &[]);
}

#[test]
fn c_programs_pass_under_address_undefined_and_leak_sanitizers() {
    let build = tempfile::tempdir().expect("tempdir");
    let env = [
        ("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0"),
        ("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1"),
        ("LSAN_OPTIONS", "exitcode=23"),
    ];
    leak_is_detected(build.path(), SANITIZE, &[], &env, 23, "ERROR: LeakSanitizer: detected memory leaks");
    build_and_run_all(build.path(), SANITIZE, &[], &env);
}

#[test]
fn c_programs_pass_under_valgrind() {
    let build = tempfile::tempdir().expect("tempdir");
    leak_is_detected(build.path(), &[], VALGRIND, &[], 99, "definitely lost in loss record");
    build_and_run_all(build.path(), &[], VALGRIND, &[]);
}

#[test]
fn header_compiles_standalone_as_c99_and_cpp11() {
    let header = crate_dir().join("include/sendense.h");
    assert!(header.is_file(), "{} is missing", header.display());
    for (compiler, flags) in [
        ("cc", &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only", "-x", "c"][..]),
        ("c++", &["-std=c++11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-x", "c++"][..]),
    ] {
        run_ok(Command::new(compiler).args(flags).arg(&header));
    }
}
