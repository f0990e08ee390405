//! What the C examples (`examples/c/*.c`) must print, beyond what every example is checked for
//! (it builds, runs on a new database file, refuses one that exists, and runs as cleanly under
//! the sanitizers): the checks of an example's output, keyed by its file name. An example
//! without an entry here is still built and run.

use std::path::Path;

use crate::{command, run_ok};

/// Checks the output of an example's plain run: `plain` is that build (to run it again with
/// other arguments), `stdout` what it printed.
pub type OutputCheck = fn(plain: &Path, stdout: &str);

/// The output checks, by file stem (`examples/c/<stem>.c`).
pub const OUTPUT_CHECKS: &[(&str, OutputCheck)] =
    &[("lifecycle", lifecycle), ("backup", backup), ("targets", targets), ("failover", failover)];

fn lifecycle(_plain: &Path, stdout: &str) {
    let lines: Vec<&str> = stdout.lines().collect();
    let opened = format!(", schema version {})", sendense::SCHEMA_VERSION);
    assert!(lines.first().is_some_and(|l| l.starts_with("opened ") && l.ends_with(&opened)), "{stdout}");
    for prefix in [
        "added VM web-01: context ",
        "added VM db-01: context ",
        "web-01: initial job ",
        "  progress 100%",
        "web-01 disk-2000: {\"mode\":\"incremental\",\"base_change_id\":\"52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77/10\",\"reason\":\"base_recorded\"}",
        "web-01: incremental job ",
        "CBT lineage of web-01:",
        "  disk-2000 incremental 52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77/25 <- 52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77/10",
        "  lineage check: {\"ok\":true,",
        "db-01: auto job ",
        "db-01: a second start is refused: CONFLICT: context ",
        "  db-01   failed              jobs 2 (1 completed, 1 failed), last good job ",
        "db-01: cleaned up and deleted job ",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(prefix)), "no line starting with {prefix:?} in:\n{stdout}");
    }
    let last_two: Vec<&str> =
        lines.iter().rev().take(2).rev().map(|l| &l[..l.find(", last good job").unwrap_or(l.len())]).collect();
    assert_eq!(
        last_two,
        [
            "  web-01  ready_for_failover  jobs 2 (2 completed, 0 failed)",
            "  db-01   ready_for_failover  jobs 1 (1 completed, 0 failed)"
        ],
        "{stdout}"
    );
}

fn backup(_plain: &Path, stdout: &str) {
    let lines: Vec<&str> = stdout.lines().collect();
    let opened = format!(", schema version {})", sendense::SCHEMA_VERSION);
    assert!(lines.first().is_some_and(|l| l.starts_with("opened ") && l.ends_with(&opened)), "{stdout}");
    let field = |line: &str, n: usize| line.split_whitespace().nth(n).unwrap_or("").trim_end_matches(',').to_string();

    // Seven VM backups of two points each: a full and three incrementals, then a full and two
    // incrementals.
    let backups: Vec<&str> = lines.iter().copied().filter(|l| l.contains(" backup web-01-backup-")).collect();
    assert_eq!(backups.len(), 7, "{stdout}");
    for (i, line) in backups.iter().enumerate() {
        let kind = if i == 0 || i == 4 { "full" } else { "incremental" };
        assert!(line.starts_with(&format!("{kind} backup web-01-backup-{}: disk 0 ", i + 1)), "{line}");
    }
    let full_1 = field(backups[0], 8);
    let first_incremental_1 = field(backups[1], 8);
    let newest = field(backups[3], 8);
    assert!(line_with(&lines, "policy: {").contains("\"copy_rules\":[{"), "{stdout}");
    assert!(line_with(&lines, "  chain of disk 0: ").starts_with("  chain of disk 0: 4 points, 49392123904 bytes"));
    assert!(line_with(&lines, "  chain of disk 1: ").contains(&format!(", latest {newest}")), "{stdout}");

    // The restore chain of the newest point: disk 1's full and the three incrementals in order.
    let at = lines.iter().position(|l| *l == format!("restore chain of {newest}:")).expect(stdout);
    let links: Vec<String> = lines[at + 1..at + 5].iter().map(|l| format!("{} {}", field(l, 0), field(l, 1))).collect();
    let expected: Vec<String> = backups[..4]
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{} {}", if i == 0 { "full" } else { "incremental" }, field(l, 8)))
        .collect();
    assert_eq!(links, expected, "{stdout}");

    // The full is refused with its reason; a copy is claimed.
    assert_eq!(
        line_with(&lines, "delete "),
        format!(
            "delete {full_1} refused with status 4: CONFLICT: backup {full_1} cannot be deleted: backup \
             {first_incremental_1} builds on it (delete the dependents first)"
        ),
        "{stdout}"
    );
    assert!(line_with(&lines, "claimed copy ").ends_with(": copying"), "{stdout}");

    // The retention plan keeps the second generation of each disk with its reasons, removes the
    // first, and is applied.
    assert_eq!(line_with(&lines, "retention plan: "), "retention plan: 14 points, keep 6, remove 8", "{stdout}");
    for n in [5, 8] {
        let (full, second, newest) = (field(backups[4], n), field(backups[5], n), field(backups[6], n));
        for (id, reasons) in [
            (full, format!("[\"ancestor of {newest}\"]")),
            (second, "[\"keep-last 2\"]".into()),
            (newest.clone(), "[\"keep-last 1\"]".into()),
        ] {
            assert!(lines.contains(&format!("  keep   {id}: {reasons}").as_str()), "{id} {reasons}:\n{stdout}");
        }
        for backup in &backups[..4] {
            assert!(lines.contains(&format!("  remove {}", field(backup, n)).as_str()), "{backup}:\n{stdout}");
        }
    }
    assert!(lines.contains(&"retention applied: 8 points removed"), "{stdout}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("  chain of disk ") && l.contains(": 3 points, ")).count(), 2);
}

fn targets(plain: &Path, stdout: &str) {
    let lines: Vec<&str> = stdout.lines().collect();
    let opened = line_with(&lines, "opened ");
    let key_id = opened.split(" with key ").nth(1).and_then(|r| r.split(' ').next()).unwrap_or("");
    assert!(key_id.len() == 16 && key_id.bytes().all(|b| b.is_ascii_hexdigit()), "{stdout}");
    assert!(line_with(&lines, "key file ").ends_with(&format!(".key: created (key {key_id})")), "{stdout}");
    assert!(opened.ends_with(&format!(", schema version {})", sendense::SCHEMA_VERSION)), "{stdout}");

    // The read-out names the sealing key and carries no secret; the secrets open on request
    // only, and not without the key.
    let config = line_with(&lines, "CloudStack configuration 1: {");
    assert!(config.contains(&format!("\"sealed_with_key\":\"{key_id}\"")), "{stdout}");
    assert!(!stdout.contains("EXAMPLE-"), "a secret was printed:\n{stdout}");
    for line in [
        format!("  secrets sealed with key {key_id} (the handle's key: {key_id})"),
        "  secrets opened on request: api key AKEX..., secret 20 characters".to_string(),
        format!(
            "opening the secrets without the key refused with status 13: SECRET_KEY: ossea_configs.api_key of row 1 is sealed \
             with key {key_id}, but the store was opened without a secret key"
        ),
        "configuration 1 active again; configuration 2 is_active false".to_string(),
        "  disk row disk-2000 -> volume 1".to_string(),
        "  disk row disk-2001 -> volume 2".to_string(),
    ] {
        assert!(lines.contains(&line.as_str()), "no line {line:?} in:\n{stdout}");
    }
    let job = lines[3].strip_prefix("web-01: initial job ").expect(stdout);
    let (vol_0, vol_1) = ("6f1c0c1e-0000-4000-8000-000000000000", "6f1c0c1e-0000-4000-8000-000000000001");
    for prefix in [
        "volume 1 for disk-2000: created, available, linked".to_string(),
        "volume 2 for disk-2001: created, available, linked".to_string(),
        "deleting the configuration refused with status 4: CONFLICT: CloudStack configuration 1 is used by 2 volume(s)"
            .to_string(),
        "moving an available volume back to creating refused with status 5: INVALID_STATE: ".to_string(),
        // The hub side: a leased port, attach with its export and its recorded operation.
        format!("leased backup NBD port 10100 to job {job} until "),
        format!("attached volume {vol_0} at /dev/vdb: mapping "),
        format!("attached volume {vol_1} at /dev/vdc: mapping "),
        format!("  export migration-vol-{vol_0}: /dev/vdb on port 10100, disk row 1, job {job}, active"),
        format!("attaching another volume at /dev/vdb refused with status 4: CONFLICT: device path /dev/vdb is held by the oma mapping of volume {vol_0}"),
        "switching to mode \"sideways\" refused with status 1: INVALID_ARGUMENT: ".to_string(),
        "switching back to oma without the device paths refused with status 1: INVALID_ARGUMENT: ".to_string(),
        format!("  volume 1 {vol_0}: detached, device null, snapshot none (null)"),
        format!("  volume 2 {vol_1}: detached, device null, snapshot none (null)"),
        format!("released the port: leases of job {job}: []"),
        "storage consistency: {\"ok\":true,".to_string(),
        "volume daemon metrics: 4 operations, error rate 0.0%, 0 active mappings, average response ".to_string(),
    ] {
        assert!(lines.iter().any(|l| l.starts_with(&prefix)), "no line starting with {prefix:?} in:\n{stdout}");
    }
    // The operation's history is every status change, in order.
    let history = lines.iter().position(|l| l.starts_with("  history of operation ")).expect(stdout);
    assert_eq!(
        lines[history + 1..history + 4],
        ["    null -> pending", "    pending -> executing", "    executing -> completed"]
    );
    // The typed snapshot of the mapping, before and during the test failover's snapshot.
    let mappings: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("  mapping ")).collect();
    assert_eq!(mappings.len(), 2, "{stdout}");
    for (line, snapshot) in mappings.iter().zip(["none", "ready"]) {
        assert!(
            line.ends_with(&format!(
                ": volume {vol_0}, oma at /dev/vdb (slot 1, detected, /dev/mapper/sendense-web-01-disk-2000), \
                 42949672960 bytes, snapshot {snapshot}"
            )),
            "{line}"
        );
    }
    // The mode switch moves both mappings and their exports, and back.
    let block = |title: &str| -> Vec<&str> {
        let at = lines.iter().position(|l| *l == title).unwrap_or_else(|| panic!("no {title:?} in:\n{stdout}"));
        lines[at + 1..at + 4].to_vec()
    };
    assert_eq!(
        block("switched web-01 to failover:"),
        [
            format!("  {vol_0}: failover, device null"),
            format!("  {vol_1}: failover, device null"),
            "  0 NBD export(s)".into()
        ]
    );
    assert_eq!(
        block("switched web-01 back to oma:"),
        [
            format!("  {vol_0}: oma, device /dev/vdb"),
            format!("  {vol_1}: oma, device /dev/vdc"),
            "  2 NBD export(s)".into()
        ]
    );
    assert_eq!(block("detached both volumes")[0], "  0 NBD export(s)");
    assert!(lines
        .last()
        .is_some_and(|l| l.starts_with("web-01: job ") && l.ends_with(" completed, context ready_for_failover")));

    // The secrets are in neither the database file nor its WAL; a key file given as the second
    // argument is used as it is.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("targets.db");
    let key = dir.path().join("given.key");
    std::fs::write(&key, "42".repeat(32)).expect("write the key file");
    // A key file must be private to its owner.
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod the key file");
    let mut cmd = command(plain, &[], &[]);
    cmd.arg(&db).arg(&key);
    let out = run_ok(&mut cmd);
    let given = String::from_utf8_lossy(&out.stdout);
    assert!(given.contains(&format!("key file {}: reused", key.display())), "{given}");
    let expected_id = sendense::store::secret::SecretKey::from_bytes(&[0x42; 32]).expect("a key").id().to_string();
    assert!(given.contains(&format!(" with key {expected_id} ")), "{given}");
    for file in [db.clone(), dir.path().join("targets.db-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("EXAMPLE-"), "a secret in plaintext in {}", file.display());
        }
    }
    assert!(String::from_utf8_lossy(&std::fs::read(&db).expect("the database")).contains("sndsec2:"));
}

/// The first line starting with `prefix` (empty when there is none).
fn line_with<'a>(lines: &[&'a str], prefix: &str) -> &'a str {
    lines.iter().copied().find(|l| l.starts_with(prefix)).unwrap_or("")
}

/// The whole failover walk, line by line: ids are read from the lines that print them first,
/// the summaries' times are masked.
fn failover(_plain: &Path, stdout: &str) {
    let lines: Vec<String> = stdout.lines().map(mask_time).collect();
    let field = |prefix: &str, n: usize| {
        let line =
            lines.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in:\n{stdout}"));
        line.split_whitespace().nth(n).unwrap_or("").trim_end_matches([',', ':']).to_string()
    };
    let (ctx, job) = (field("web-01: context ", 2), field("web-01: context ", 5));
    let (test, live) = (field("test failover 0", 2), field("live failover 0", 2));
    let (vol_0, vol_1) = ("6f1c0c1e-0000-4000-8000-00000000f000", "6f1c0c1e-0000-4000-8000-00000000f001");
    let devices = |mode: &str, at: [&str; 2]| {
        [format!("  device {vol_0}: {mode}, at {}", at[0]), format!("  device {vol_1}: {mode}, at {}", at[1])]
    };
    let network =
        |name: &str, dest: &str| ["live", "test"].map(|kind| format!("  network {name} ({kind}) -> {dest}: valid"));
    let context = |status: &str, id: &str, kind: &str, operation: &str| {
        format!(
            "  context: {status}, last operation {{\"at\":\"T\",\"error\":null,\"failover_id\":\"{id}\",\
             \"job_type\":\"{kind}\",\"operation\":\"{operation}\",\"outcome\":\"completed\",\"step\":\"completed\"}}"
        )
    };
    let steps = "validating snapshotting creating_vm switching_volume powering_on completed";
    let mut expected = vec![format!("web-01: context {ctx}, replication job {job} completed")];
    expected.extend(devices("oma", ["/dev/vdb", "/dev/vdc"]));
    expected.push("network mappings:".into());
    expected.extend(network("VM Network", "cs-guest-net"));
    expected.push(format!(
        "test failover refused with status 5: INVALID_STATE: context {ctx} cannot fail over (test): no test \
         mapping for network backend"
    ));
    expected.extend(network("backend", "cs-backend-net"));
    expected.push(format!("test failover {test}: {steps}"));
    expected.push("  test failover completed, destination VM cs-vm-web-01".into());
    expected.extend(devices("failover", ["null", "null"]));
    expected.push(context("failed_over_test", &test, "test", "failover"));
    expected.push(format!("rolled back test failover {test}"));
    expected.extend(devices("oma", ["/dev/vdb", "/dev/vdc"]));
    expected.push(context("ready_for_failover", &test, "test", "rollback"));
    expected.push(format!("live failover {live}: {steps}"));
    expected.push("  live failover completed, destination VM cs-vm-web-01".into());
    expected.extend(devices("failover", ["null", "null"]));
    expected.push(context("failed_over_live", &live, "live", "failover"));
    expected.push(format!("committed live failover {live}"));
    expected.push(context("completed", &live, "live", "commit"));
    assert_eq!(lines[1..], expected[..], "{stdout}");
}

/// `line` with the value of its `"at":"..."` (a time) replaced by `T`.
fn mask_time(line: &str) -> String {
    match line.split_once("\"at\":\"").and_then(|(head, rest)| rest.split_once('"').map(|(_, tail)| (head, tail))) {
        Some((head, tail)) => format!("{head}\"at\":\"T\"{tail}"),
        None => line.to_string(),
    }
}
