//! Backup policies: their retention settings and their copy rules (docs/DOMAIN.md section 4).
//!
//! Rules enforced here:
//! - a policy and its copy rules are created and changed in one transaction; every rule's
//!   destination exists, differs from the policy's primary repository, appears once in the
//!   policy, and has priority >= 1. Rules are read back ordered by priority, then id.
//!
//! Deleting a policy is allowed: its copy rules go with it, backups that named it keep
//! existing with `policy_id` NULL and copies that named a rule keep existing with
//! `copy_rule_id` NULL (the schema's ON DELETE clauses).

use serde::{Deserialize, Serialize};

use crate::backup::repository::{check_id_free, check_name_free, default_true, non_negative};
use crate::backup::retention::RetentionRules;
use crate::error::{echo, Error, Result};
use crate::store::query::{require_row, update_columns, Select};
use crate::store::{Param, Record, Row, Store, Tx};
use crate::value::{check_id, check_name, new_id, present, Timestamp};
use crate::{params, record, string_enum};

string_enum! {
    /// When a copy rule copies a completed backup (`backup_copy_rules.copy_mode`).
    pub enum CopyMode: "copy mode" {
        /// As soon as the backup completes.
        Immediate = "immediate",
        /// At the next scheduled copy window.
        Scheduled = "scheduled",
        /// Only when asked.
        Manual = "manual",
    }
}

record! {
    /// A `backup_copy_rules` row. Fields and JSON keys are the column names.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct CopyRule in "backup_copy_rules" {
        pub id: String,
        pub policy_id: String,
        pub destination_repository_id: String,
        pub copy_mode: CopyMode,
        pub priority: i64,
        pub enabled: bool,
        pub verify_after_copy: bool,
        pub created_at: Timestamp,
    }
}

/// A `backup_policies` row with its copy rules (ordered by priority, then id). JSON keys are
/// the column names plus `copy_rules`.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub primary_repository_id: String,
    pub retention_days: i64,
    pub keep_last: Option<i64>,
    pub keep_daily: Option<i64>,
    pub keep_weekly: Option<i64>,
    pub keep_monthly: Option<i64>,
    pub keep_yearly: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub copy_rules: Vec<CopyRule>,
}

/// The retention count columns of a policy, in the order the planner applies them.
const KEEP_COLUMNS: [&str; 5] = ["keep_last", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"];

/// A `backup_policies` row, read without its copy rules (`load_policy` adds them).
impl Record for Policy {
    const TABLE: &'static str = "backup_policies";
    const COLUMNS: &'static str = "id, name, enabled, primary_repository_id, retention_days, keep_last, keep_daily, \
        keep_weekly, keep_monthly, keep_yearly, created_at, updated_at";

    fn from_row(r: &Row<'_>) -> Result<Policy> {
        Ok(Policy {
            id: r.get(0)?,
            name: r.get(1)?,
            enabled: r.get(2)?,
            primary_repository_id: r.get(3)?,
            retention_days: r.get(4)?,
            keep_last: r.get(5)?,
            keep_daily: r.get(6)?,
            keep_weekly: r.get(7)?,
            keep_monthly: r.get(8)?,
            keep_yearly: r.get(9)?,
            created_at: r.get(10)?,
            updated_at: r.get(11)?,
            copy_rules: Vec::new(),
        })
    }
}

impl Policy {
    /// The policy's retention settings for the planner ([`crate::backup::plan`]): the keep-* counts
    /// and retention_days (0 or NULL: the rule is not used).
    pub fn retention_rules(&self) -> RetentionRules {
        let rule = |v: Option<i64>| v.filter(|&n| n > 0).map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        RetentionRules {
            keep_last: rule(self.keep_last),
            keep_daily: rule(self.keep_daily),
            keep_weekly: rule(self.keep_weekly),
            keep_monthly: rule(self.keep_monthly),
            keep_yearly: rule(self.keep_yearly),
            retention_days: rule(Some(self.retention_days)),
        }
    }
}

/// A copy rule of a new or changed policy. `id` is generated unless given; `copy_mode`
/// defaults to immediate, `enabled` and `verify_after_copy` to true; `priority` is required
/// (>= 1, lower runs first).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCopyRule {
    #[serde(default)]
    pub id: Option<String>,
    pub destination_repository_id: String,
    #[serde(default = "default_copy_mode")]
    pub copy_mode: CopyMode,
    pub priority: i64,
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_true")]
    pub verify_after_copy: bool,
}

fn default_copy_mode() -> CopyMode {
    CopyMode::Immediate
}

impl NewCopyRule {
    /// An enabled, verified, immediate rule to `destination_repository_id`.
    pub fn new(destination_repository_id: impl Into<String>, priority: i64) -> NewCopyRule {
        NewCopyRule {
            id: None,
            destination_repository_id: destination_repository_id.into(),
            copy_mode: CopyMode::Immediate,
            priority,
            enabled: true,
            verify_after_copy: true,
        }
    }
}

/// A new policy (JSON input of `sendense_policy_create`): the policy columns plus its copy
/// rules. `id` is generated unless given; `enabled` defaults to true, `retention_days` to 30.
///
/// `retention_days` keeps every point of the last that many days on its own, next to the
/// `keep_*` counts (see [`crate::backup::plan`]): a policy meant to keep only, say, the last 7
/// points sets `retention_days` to 0 as well as `keep_last` to 7.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPolicy {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default = "default_true")]
    pub enabled: bool,
    pub primary_repository_id: String,
    #[serde(default = "default_retention_days")]
    pub retention_days: i64,
    #[serde(default)]
    pub keep_last: Option<i64>,
    #[serde(default)]
    pub keep_daily: Option<i64>,
    #[serde(default)]
    pub keep_weekly: Option<i64>,
    #[serde(default)]
    pub keep_monthly: Option<i64>,
    #[serde(default)]
    pub keep_yearly: Option<i64>,
    #[serde(default)]
    pub copy_rules: Vec<NewCopyRule>,
}

fn default_retention_days() -> i64 {
    30
}

impl NewPolicy {
    /// An enabled policy keeping 30 days, without copy rules.
    pub fn new(name: impl Into<String>, primary_repository_id: impl Into<String>) -> NewPolicy {
        NewPolicy {
            id: None,
            name: name.into(),
            enabled: true,
            primary_repository_id: primary_repository_id.into(),
            retention_days: default_retention_days(),
            keep_last: None,
            keep_daily: None,
            keep_weekly: None,
            keep_monthly: None,
            keep_yearly: None,
            copy_rules: Vec::new(),
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some(id) = &self.id {
            check_id("policy id", id)?;
        }
        check_name("policy name", &self.name)?;
        check_id("primary_repository_id", &self.primary_repository_id)?;
        non_negative("retention_days", self.retention_days)?;
        check_keeps(&[self.keep_last, self.keep_daily, self.keep_weekly, self.keep_monthly, self.keep_yearly])?;
        validate_copy_rules(&self.primary_repository_id, &self.copy_rules)
    }
}

/// The keep-* counts, in [`KEEP_COLUMNS`] order: each absent or >= 0.
fn check_keeps(keeps: &[Option<i64>]) -> Result<()> {
    for (column, value) in KEEP_COLUMNS.iter().zip(keeps) {
        if let Some(v) = value {
            non_negative(column, *v)?;
        }
    }
    Ok(())
}

/// The rules of one policy, on their own: each rule's ids are well-formed, its priority is at
/// least 1, its destination differs from `primary_repository_id`, and no destination or rule id
/// appears twice. Each refusal is INVALID_ARGUMENT naming the rule (`copy_rules[i]`, 0-based).
pub fn validate_copy_rules(primary_repository_id: &str, rules: &[NewCopyRule]) -> Result<()> {
    for (i, rule) in rules.iter().enumerate() {
        let name = rule_name(i, rule);
        if let Some(id) = &rule.id {
            check_id("id", id).map_err(|e| e.context(&name))?;
        }
        check_id("destination_repository_id", &rule.destination_repository_id).map_err(|e| e.context(&name))?;
        if rule.priority < 1 {
            return Err(Error::invalid_argument(format!("{name}: priority must be >= 1 (got {})", rule.priority)));
        }
        if rule.destination_repository_id == primary_repository_id {
            return Err(Error::invalid_argument(format!(
                "{name}: the destination is the policy's primary repository; a copy must go elsewhere"
            )));
        }
        if let Some(j) = rules[..i].iter().position(|r| r.destination_repository_id == rule.destination_repository_id) {
            return Err(Error::invalid_argument(format!("{name}: copy_rules[{j}] already copies to that repository")));
        }
        if let Some(id) = &rule.id {
            if let Some(j) = rules[..i].iter().position(|r| r.id.as_deref() == Some(id.as_str())) {
                return Err(Error::invalid_argument(format!("{name}: copy_rules[{j}] already has id {:?}", echo(id))));
            }
        }
    }
    Ok(())
}

fn rule_name(i: usize, rule: &NewCopyRule) -> String {
    format!("copy_rules[{i}] (destination {:?})", echo(&rule.destination_repository_id))
}

/// A change of a policy (JSON input of `sendense_policy_update`). An absent key leaves the
/// column alone. `copy_rules`, when present, replaces the whole list atomically: a rule whose
/// destination the policy already copies to keeps its row and id (so copies made under it
/// keep their link) and takes the new mode, priority and flags; the other old rules are
/// deleted and the new destinations inserted. A new primary repository is checked against the
/// rules the policy ends up with.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyUpdate {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub retention_days: Option<i64>,
    /// `Some(None)` (JSON `null`) clears the rule.
    #[serde(default, deserialize_with = "present")]
    pub keep_last: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub keep_daily: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub keep_weekly: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub keep_monthly: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub keep_yearly: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub primary_repository_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub copy_rules: Option<Vec<NewCopyRule>>,
}

impl PolicyUpdate {
    fn keeps(&self) -> [Option<Option<i64>>; 5] {
        [self.keep_last, self.keep_daily, self.keep_weekly, self.keep_monthly, self.keep_yearly]
    }
}

/// Which policies [`Store::policy_list`] returns; ordered by name, then id.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFilter {
    #[serde(default, deserialize_with = "present")]
    pub enabled: Option<bool>,
    /// Policies using this repository as primary or as a copy destination.
    #[serde(default)]
    pub repository_id: Option<String>,
}
/// Load a policy with its rules inside a transaction; NOT_FOUND naming the id.
pub(crate) fn load_policy(tx: &Tx<'_>, id: &str) -> Result<Policy> {
    let mut policy: Policy = tx
        .record("WHERE id = :id", params![id])?
        .ok_or_else(|| Error::not_found(format!("policy {:?} does not exist", echo(id))))?;
    policy.copy_rules = load_rules(tx, id)?;
    Ok(policy)
}

fn load_rules(tx: &Tx<'_>, policy_id: &str) -> Result<Vec<CopyRule>> {
    tx.records("WHERE policy_id = :policy_id ORDER BY priority, id", params![policy_id])
}

/// Check the rules against the database (destinations exist, supplied rule ids are free or,
/// for `existing`, belong to the rule kept for the same destination) and write them for
/// `policy_id`, keeping the rows of `existing` rules whose destination stays.
fn write_rules(tx: &Tx<'_>, policy_id: &str, rules: &[NewCopyRule], existing: &[CopyRule], now: i64) -> Result<()> {
    for (i, rule) in rules.iter().enumerate() {
        let name = rule_name(i, rule);
        require_row(
            tx,
            "backup_repositories",
            "id",
            &rule.destination_repository_id,
            &format!("destination repository {:?}", echo(&rule.destination_repository_id)),
        )
        .map_err(|e| e.context(&name))?;
        let kept = existing.iter().find(|r| r.destination_repository_id == rule.destination_repository_id);
        if let Some(id) = &rule.id {
            match kept {
                Some(k) if &k.id == id => {}
                Some(k) => {
                    return Err(Error::invalid_argument(format!(
                        "{name}: the policy's rule for that destination is {:?}; a rule's id cannot change",
                        echo(&k.id)
                    )))
                }
                None => {
                    let holder: Option<String> =
                        tx.optional("SELECT policy_id FROM backup_copy_rules WHERE id = :id", params![id], |r| {
                            r.get(0)
                        })?;
                    if let Some(p) = holder {
                        return Err(Error::already_exists(format!(
                            "{name}: copy rule {:?} already exists (in policy {p})",
                            echo(id)
                        )));
                    }
                }
            }
        }
    }
    for old in existing {
        if !rules.iter().any(|r| r.destination_repository_id == old.destination_repository_id) {
            tx.execute("DELETE FROM backup_copy_rules WHERE id = :id", params![id = old.id])?;
        }
    }
    for rule in rules {
        match existing.iter().find(|r| r.destination_repository_id == rule.destination_repository_id) {
            Some(old) => {
                tx.execute(
                    "UPDATE backup_copy_rules SET copy_mode = :copy_mode, priority = :priority, enabled = :enabled, \
                     verify_after_copy = :verify_after_copy WHERE id = :id",
                    params![
                        id = old.id,
                        copy_mode = rule.copy_mode,
                        priority = rule.priority,
                        enabled = rule.enabled,
                        verify_after_copy = rule.verify_after_copy
                    ],
                )?;
            }
            None => {
                tx.execute(
                    "INSERT INTO backup_copy_rules (id, policy_id, destination_repository_id, copy_mode, priority, \
                     enabled, verify_after_copy, created_at) \
                     VALUES (:id, :policy_id, :destination_repository_id, :copy_mode, :priority, :enabled, \
                     :verify_after_copy, :now)",
                    params![
                        id = rule.id.clone().unwrap_or_else(new_id),
                        policy_id,
                        destination_repository_id = rule.destination_repository_id,
                        copy_mode = rule.copy_mode,
                        priority = rule.priority,
                        enabled = rule.enabled,
                        verify_after_copy = rule.verify_after_copy,
                        now
                    ],
                )?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// Create a policy and its copy rules in one transaction; returns the policy id (the given
    /// one, or a new UUIDv7). A duplicate id or name (case-insensitive) is ALREADY_EXISTS
    /// naming the holder; a missing primary or destination repository is NOT_FOUND naming it;
    /// a bad rule is INVALID_ARGUMENT naming it ([`validate_copy_rules`]).
    /// A taken id or name is ALREADY_EXISTS naming it, so it is safe to retry after
    /// [`crate::Status::CommitUnknown`].
    pub fn policy_create(&self, new: &NewPolicy) -> Result<String> {
        new.validate()?;
        self.writing(|tx| {
            let now = self.now_ms();
            if let Some(id) = &new.id {
                check_id_free(tx, "backup_policies", "policy", id)?;
            }
            check_name_free(tx, "backup_policies", "policy", &new.name, None)?;
            require_row(
                tx,
                "backup_repositories",
                "id",
                &new.primary_repository_id,
                &format!("primary repository {:?}", echo(&new.primary_repository_id)),
            )?;
            let id = new.id.clone().unwrap_or_else(new_id);
            tx.execute(
                "INSERT INTO backup_policies (id, name, enabled, primary_repository_id, retention_days, keep_last, \
                 keep_daily, keep_weekly, keep_monthly, keep_yearly, created_at, updated_at) \
                 VALUES (:id, :name, :enabled, :primary_repository_id, :retention_days, :keep_last, :keep_daily, \
                 :keep_weekly, :keep_monthly, :keep_yearly, :now, :now)",
                params![
                    id,
                    name = new.name,
                    enabled = new.enabled,
                    primary_repository_id = new.primary_repository_id,
                    retention_days = new.retention_days,
                    keep_last = new.keep_last,
                    keep_daily = new.keep_daily,
                    keep_weekly = new.keep_weekly,
                    keep_monthly = new.keep_monthly,
                    keep_yearly = new.keep_yearly,
                    now
                ],
            )?;
            write_rules(tx, &id, &new.copy_rules, &[], now)?;
            Ok(id)
        })
    }

    /// The policy with this id and its copy rules (NOT_FOUND when there is none).
    pub fn policy_get(&self, id: &str) -> Result<Policy> {
        self.reading(|tx| load_policy(tx, id))
    }

    /// The policies matching `filter` with their copy rules, ordered by name, then id.
    pub fn policy_list(&self, filter: &PolicyFilter) -> Result<Vec<Policy>> {
        let query = Select::new(Policy::COLUMNS, "backup_policies p")
            .eq("enabled", filter.enabled)
            .when(filter.repository_id.as_ref(), |p| {
                format!(
                    "(primary_repository_id = {p} OR EXISTS (SELECT 1 FROM backup_copy_rules r \
                     WHERE r.policy_id = p.id AND r.destination_repository_id = {p}))"
                )
            })
            .order("name, id", None);
        self.reading(|tx| {
            let mut policies = query.records_in::<Policy>(tx)?;
            for p in &mut policies {
                p.copy_rules = load_rules(tx, &p.id)?;
            }
            Ok(policies)
        })
    }

    /// Change a policy and, optionally, replace its copy rules, in one transaction; returns
    /// the updated policy (see [`PolicyUpdate`] for how rules are replaced). The same checks
    /// as [`Store::policy_create`] apply to the policy it would become.
    pub fn policy_update(&self, id: &str, update: &PolicyUpdate) -> Result<Policy> {
        if let Some(name) = &update.name {
            check_name("policy name", name)?;
        }
        if let Some(days) = update.retention_days {
            non_negative("retention_days", days)?;
        }
        let keeps = update.keeps();
        check_keeps(&keeps.map(Option::flatten))?;
        if let Some(primary) = &update.primary_repository_id {
            check_id("primary_repository_id", primary)?;
        }
        self.writing(|tx| {
            let now = self.now_ms();
            let current = load_policy(tx, id)?;
            let primary = update.primary_repository_id.as_deref().unwrap_or(&current.primary_repository_id);
            match &update.copy_rules {
                Some(rules) => validate_copy_rules(primary, rules)?,
                None => {
                    if let Some(rule) = current.copy_rules.iter().find(|r| r.destination_repository_id == primary) {
                        return Err(Error::invalid_argument(format!(
                            "copy rule {} already copies to repository {:?}, so it cannot become the \
                             policy's primary repository",
                            rule.id,
                            echo(primary)
                        )));
                    }
                }
            }
            let mut set: Vec<(&'static str, Box<dyn Param>)> = Vec::new();
            if let Some(name) = &update.name {
                check_name_free(tx, "backup_policies", "policy", name, Some(id))?;
                set.push(("name", Box::new(name.clone())));
            }
            if let Some(p) = &update.primary_repository_id {
                require_row(tx, "backup_repositories", "id", p, &format!("primary repository {:?}", echo(p)))?;
                set.push(("primary_repository_id", Box::new(p.clone())));
            }
            if let Some(e) = update.enabled {
                set.push(("enabled", Box::new(e)));
            }
            if let Some(d) = update.retention_days {
                set.push(("retention_days", Box::new(d)));
            }
            for (column, keep) in KEEP_COLUMNS.iter().zip(keeps) {
                if let Some(value) = keep {
                    set.push((column, Box::new(value)));
                }
            }
            if let Some(rules) = &update.copy_rules {
                write_rules(tx, id, rules, &current.copy_rules, now)?;
            }
            if !set.is_empty() || update.copy_rules.is_some() {
                update_columns(tx, "backup_policies", &id, now, &set)?;
            }
            load_policy(tx, id)
        })
    }

    /// Delete a policy and its copy rules. Allowed while backups name it: they keep existing
    /// with `policy_id` NULL, and copies made under its rules keep existing with
    /// `copy_rule_id` NULL.
    pub fn policy_delete(&self, id: &str) -> Result<()> {
        self.writing(|tx| {
            let n = tx.execute("DELETE FROM backup_policies WHERE id = :id", params![id])?;
            if n == 0 {
                return Err(Error::not_found(format!("policy {:?} does not exist", echo(id))));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<()>) -> String {
        r.unwrap_err().message().to_string()
    }

    #[test]
    fn copy_rules_are_validated_on_their_own_naming_the_rule() {
        let rules = vec![NewCopyRule::new("b", 1), NewCopyRule::new("c", 2)];
        validate_copy_rules("a", &rules).unwrap();
        let e = msg(validate_copy_rules("a", &[NewCopyRule::new("b", 1), NewCopyRule::new("c", 0)]));
        assert_eq!(e, "copy_rules[1] (destination \"c\"): priority must be >= 1 (got 0)");
        let e = msg(validate_copy_rules("a", &[NewCopyRule::new("a", 1)]));
        assert!(e.starts_with("copy_rules[0] (destination \"a\"): the destination is the policy's primary"), "{e}");
        let e = msg(validate_copy_rules("a", &[NewCopyRule::new("b", 1), NewCopyRule::new("b", 2)]));
        assert_eq!(e, "copy_rules[1] (destination \"b\"): copy_rules[0] already copies to that repository");
        let mut dup_id = vec![NewCopyRule::new("b", 1), NewCopyRule::new("c", 2)];
        dup_id[0].id = Some("r1".into());
        dup_id[1].id = Some("r1".into());
        assert!(msg(validate_copy_rules("a", &dup_id)).contains("copy_rules[0] already has id \"r1\""));
        let e = msg(validate_copy_rules("a", &[NewCopyRule::new("", 1)]));
        assert_eq!(e, "copy_rules[0] (destination \"\"): destination_repository_id is empty");
    }

    #[test]
    fn inputs_refuse_unknown_keys_and_take_defaults() {
        let p: NewPolicy = crate::value::from_json(
            "policy",
            r#"{"name":"p","primary_repository_id":"a","copy_rules":[{"destination_repository_id":"b","priority":1}]}"#,
        )
        .unwrap();
        assert!(p.enabled);
        assert_eq!(p.retention_days, 30);
        assert_eq!(p.copy_rules[0].copy_mode, CopyMode::Immediate);
        assert!(p.copy_rules[0].enabled && p.copy_rules[0].verify_after_copy);
        let e = crate::value::from_json::<NewPolicy>(
            "policy",
            r#"{"name":"p","primary_repository_id":"a","copy_rules":[{"destination_repository_id":"b","priority":1,"x":1}]}"#,
        )
        .unwrap_err();
        assert!(e.message().contains("unknown field `x`"), "{e}");
        let e = serde_json::from_str::<PolicyUpdate>(r#"{"copy_rule":[]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `copy_rule`"), "{e}");
    }
}
