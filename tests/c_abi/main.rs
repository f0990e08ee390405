//! C ABI tests: C programs compiled with the system C compiler against `include/sendense.h`
//! and the static library `libsendense.a` that this `cargo test` built.
//!
//! - The test programs, every `tests/c/*_abi.c` (the directory is read: a new file is a new
//!   program), run three ways: plainly, under AddressSanitizer + UndefinedBehaviorSanitizer +
//!   LeakSanitizer, and under valgrind's memcheck with leak checking. Each takes a scratch
//!   directory, prints one line per group of checks and closes with "N passed, M failed".
//!   `tests/c/leak_canary.c` leaks on purpose: the sanitizer and valgrind runs first check
//!   that their leak checker reports it.
//! - The C examples, every `examples/c/*.c`, each run on a new database file plainly and under
//!   the sanitizers, and must refuse a database that exists; what an example must print is
//!   checked by the function its file name has in `examples.rs` (`OUTPUT_CHECKS`).
//! - The header compiles on its own as C99 and as C++11.
//! - `scripts/install.sh` installs into a temporary prefix, `pkg-config` answers the flags of
//!   the installed `sendense.pc`, and a test program linked with them against the shared
//!   library runs.
//!
//! The programs of one run are compiled and run on as many threads as the machine has cores.
//! Needs `cc`, `c++`, `valgrind`, `objdump` and `pkg-config`; a missing tool fails the test (it is
//! never skipped).

use std::ffi::OsStr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Condvar, Mutex};

#[path = "../common/mod.rs"]
mod common;
mod examples;

use common::static_lib;

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
            "`{tool}` is not installed ({e}). The C ABI tests need cc, c++, valgrind, objdump and pkg-config: run \
             the test command from the README, which installs them (on Debian: apt-get install gcc g++ valgrind \
             binutils pkgconf)"
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

/// The C files in `dir` (relative to the crate directory) whose names end with `suffix`, in
/// name order; at least one.
fn c_sources(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let dir = crate_dir().join(dir);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut sources: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.file_name().and_then(OsStr::to_str).is_some_and(|n| n.ends_with(suffix)))
        .collect();
    sources.sort();
    assert!(!sources.is_empty(), "no *{suffix} file in {}", dir.display());
    sources
}

/// The file name of `source` without its extension.
fn stem(source: &Path) -> String {
    source.file_stem().expect("a source file name").to_string_lossy().into_owned()
}

/// A piece of work of a run, named for the failure report.
type Job<'a> = (String, Box<dyn FnOnce() + Send + 'a>);

/// How many jobs run at once in this process, across the tests that run in parallel.
static RUNNING: Mutex<usize> = Mutex::new(0);
/// Signalled when a job ends.
static JOB_ENDED: Condvar = Condvar::new();

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run the jobs in the given order on as many threads as the machine has cores, and never more
/// jobs at once than cores in the whole process (the tests run in parallel too, and more
/// compilers and programs than cores only make the threaded programs slower, above all under
/// valgrind). After all have run, panic naming those that panicked (their messages are printed
/// as they happen).
fn run_jobs(jobs: Vec<Job<'_>>) {
    let queue = Mutex::new(jobs.into_iter());
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..cores() {
            s.spawn(|| loop {
                let mut running = RUNNING.lock().unwrap();
                while *running >= cores() {
                    running = JOB_ENDED.wait(running).unwrap();
                }
                let Some((name, job)) = queue.lock().unwrap().next() else { break };
                *running += 1;
                drop(running);
                let started = std::time::Instant::now();
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(job));
                *RUNNING.lock().unwrap() -= 1;
                JOB_ENDED.notify_all();
                match outcome {
                    Ok(()) => println!("{name}: ok ({:.1} s)", started.elapsed().as_secs_f64()),
                    Err(_) => failed.lock().unwrap().push(name),
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap();
    assert!(failed.is_empty(), "failed: {failed:?} (the messages are above)");
}

/// Compile the C program `source` with `extra` compiler flags against the header and the static
/// library into `out_dir`; returns the executable (named after the source file).
fn compile_source(source: &Path, out_dir: &Path, extra: &[&str]) -> PathBuf {
    let exe = out_dir.join(source.file_stem().expect("a source file name"));
    let mut cmd = Command::new("cc");
    cmd.args(CFLAGS)
        .args(extra)
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(source)
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
    let exe = compile_source(&crate_dir().join("tests/c/leak_canary.c"), build_dir, extra);
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

/// Compile every test program with `extra` flags and run each with `wrapper` and `env`; with
/// `leak_check` (the exit status and report of the leak checker), also check first that the
/// checker reports the leak of `tests/c/leak_canary.c`.
fn build_and_run_all(
    build_dir: &Path,
    extra: &[&str],
    wrapper: &[&str],
    env: &[(&str, &str)],
    leak_check: Option<(i32, &str)>,
) {
    let mut jobs: Vec<Job<'_>> = Vec::new();
    if let Some((exit_code, report)) = leak_check {
        jobs.push((
            "leak_canary".into(),
            Box::new(move || leak_is_detected(build_dir, extra, wrapper, env, exit_code, report)),
        ));
    }
    // The largest programs first: the longer runs start first, and the short ones fill in.
    let mut sources = c_sources("tests/c", "_abi.c");
    sources.sort_by_key(|source| std::cmp::Reverse(std::fs::metadata(source).map_or(0, |m| m.len())));
    for source in sources {
        jobs.push((
            stem(&source),
            Box::new(move || run_program(&compile_source(&source, build_dir, extra), wrapper, env)),
        ));
    }
    run_jobs(jobs);
}

#[test]
fn c_programs_pass() {
    let build = tempfile::tempdir().expect("tempdir");
    build_and_run_all(build.path(), &[], &[], &[], None);
}

#[test]
fn c_programs_pass_under_address_undefined_and_leak_sanitizers() {
    let build = tempfile::tempdir().expect("tempdir");
    let env = [
        ("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0"),
        ("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1"),
        ("LSAN_OPTIONS", "exitcode=23"),
    ];
    let leak_check = (23, "ERROR: LeakSanitizer: detected memory leaks");
    build_and_run_all(build.path(), SANITIZE, &[], &env, Some(leak_check));
}

#[test]
fn c_programs_pass_under_valgrind() {
    let build = tempfile::tempdir().expect("tempdir");
    build_and_run_all(build.path(), &[], VALGRIND, &[], Some((99, "definitely lost in loss record")));
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

/// The shared library as installed: `scripts/install.sh` puts the header, both libraries (the
/// shared one under the name its soname gives, with the `libsendense.so` link for `-lsendense`)
/// and `sendense.pc` under a temporary prefix; `pkg-config` answers the flags; a test program
/// built with exactly those flags links `libsendense.so`, passes, and cannot start without the
/// library on the loader's path (so it really is the shared library that it runs).
#[test]
fn a_c_program_links_the_installed_shared_library_through_pkg_config() {
    let built = static_lib().parent().expect("target/<profile>");
    let prefix = tempfile::tempdir().expect("tempdir");
    let prefix = prefix.path();
    run_ok(Command::new("bash").arg(crate_dir().join("scripts/install.sh")).arg(prefix).arg(built));
    let lib = prefix.join("lib");
    let soname = format!("libsendense.so.{}", sendense::ffi::SENDENSE_ABI_VERSION);
    assert!(lib.join(&soname).is_file(), "{soname} is not installed");
    assert_eq!(std::fs::read_link(lib.join("libsendense.so")).expect("libsendense.so is a link"), Path::new(&soname));
    assert!(prefix.join("include/sendense.h").is_file() && lib.join("libsendense.a").is_file());
    let dynamic = run_ok(Command::new("objdump").arg("-p").arg(lib.join(&soname)));
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    assert!(
        dynamic.lines().any(|l| l.split_whitespace().eq(["SONAME", soname.as_str()])),
        "the installed library's soname is not {soname}:\n{dynamic}"
    );

    let pkg_config = |args: &[&str]| -> Vec<String> {
        let mut cmd = Command::new("pkg-config");
        cmd.args(args).arg("sendense").env("PKG_CONFIG_PATH", lib.join("pkgconfig"));
        String::from_utf8_lossy(&run_ok(&mut cmd).stdout).split_whitespace().map(str::to_string).collect()
    };
    let flags = pkg_config(&["--cflags", "--libs"]);
    let include = format!("-I{}", prefix.join("include").display());
    assert_eq!(flags, [include, format!("-L{}", lib.display()), "-lsendense".to_string()]);
    let static_flags = pkg_config(&["--static", "--libs"]);
    for native in NATIVE_LIBS {
        assert!(static_flags.iter().any(|f| f == native), "Libs.private lacks {native}: {static_flags:?}");
    }

    let build = tempfile::tempdir().expect("tempdir");
    let exe = build.path().join("store_abi_shared");
    let mut cc = Command::new("cc");
    cc.args(CFLAGS).arg(crate_dir().join("tests/c/store_abi.c")).args(&flags).arg("-o").arg(&exe);
    run_ok(&mut cc);
    run_program(&exe, &[], &[("LD_LIBRARY_PATH", lib.to_str().expect("a UTF-8 path"))]);

    let scratch = tempfile::tempdir().expect("tempdir");
    let mut alone = Command::new(&exe);
    alone.arg(scratch.path()).env_remove("LD_LIBRARY_PATH");
    let out = output_of(&mut alone);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains(&soname),
        "without the prefix on the loader's path the program must fail to load {soname}:\n{}",
        describe(&alone, &out)
    );
}

/// Run a C example on a new database file in a fresh directory; returns its output.
fn run_example(exe: &Path, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join(format!("{}.db", stem(exe)));
    let mut cmd = command(exe, &[], env);
    cmd.arg(&db);
    let out = run_ok(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(db.is_file(), "the example left no database at {}", db.display());
    // It refuses a database that already exists rather than mixing runs.
    let mut again = command(exe, &[], env);
    again.arg(&db);
    let out = output_of(&mut again);
    assert_eq!(out.status.code(), Some(2), "a second run on the same file:\n{}", describe(&again, &out));
    stdout
}

#[test]
fn c_examples_build_and_run() {
    let sources = c_sources("examples/c", ".c");
    let stems: Vec<String> = sources.iter().map(|s| stem(s)).collect();
    for (name, _) in examples::OUTPUT_CHECKS {
        assert!(stems.iter().any(|s| s == name), "examples.rs checks the output of examples/c/{name}.c, which is gone");
    }
    let build = tempfile::tempdir().expect("tempdir");
    let build = build.path();
    run_jobs(
        sources
            .into_iter()
            .map(|source| -> Job<'_> { (stem(&source), Box::new(move || example(&source, build))) })
            .collect(),
    );
}

/// Build the C example `source` in `build_dir`, run it, check its output when `examples.rs`
/// has checks for it, then build it with the sanitizers and run it again.
fn example(source: &Path, build_dir: &Path) {
    let plain = compile_source(source, build_dir, &[]);
    let stdout = run_example(&plain, &[]);
    if let Some((_, check)) = examples::OUTPUT_CHECKS.iter().find(|(name, _)| *name == stem(source)) {
        check(&plain, &stdout);
    }

    // The example frees everything it gets and has no undefined behaviour.
    let sanitized_dir = build_dir.join("sanitized");
    std::fs::create_dir_all(&sanitized_dir).expect("mkdir");
    let sanitized = compile_source(source, &sanitized_dir, SANITIZE);
    let env = [("ASAN_OPTIONS", "detect_leaks=1"), ("UBSAN_OPTIONS", "halt_on_error=1")];
    assert_eq!(run_example(&sanitized, &env).lines().count(), stdout.lines().count());
}
