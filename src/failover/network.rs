//! Network mappings (docs/DOMAIN.md section 6; docs/SCHEMA.md section 2, `network_mappings`):
//! which CloudStack network each VMware network of a VM lands on, per failover kind.
//!
//! Rules enforced here (every refusal changes nothing):
//! - a mapping is keyed by (context, source network name, kind), the kind being `live` or
//!   `test`; [`Store::network_mapping_set`] creates or updates that row, and `both` creates or
//!   updates one row per kind in one transaction;
//! - `mapping_type` is the kind and `is_test_network` is derived from it, so the two never
//!   disagree (a CHECK of the schema is the backstop);
//! - `vm_id` is a legacy column: it always holds the context's VMware VM id (never a name), as
//!   does `vmware_vm_id`;
//! - a changed destination makes the row `pending` again (its validation was of the old one);
//!   [`Store::network_mapping_validate`] marks it `valid` or `invalid`, stamping
//!   `last_validated`;
//! - the context must exist, names must not be blank; validating or deleting a mapping that
//!   does not exist is NOT_FOUND naming it (for `both`, when either kind is missing);
//! - deleting a context deletes its mappings (the schema's cascade).

use serde::{Deserialize, Serialize};

use crate::error::{echo, Error, Result};
use crate::replication::context;
use crate::store::{Store, Tx};
use crate::value::{check_id, check_name, Timestamp};
use crate::{params, record, string_enum};

string_enum! {
    /// The failover kind one mapping row serves (`network_mappings.mapping_type`).
    pub enum NetworkKind: "network mapping kind" {
        /// Used by live failovers.
        Live = "live",
        /// Used by test failovers.
        Test = "test",
    }
}

string_enum! {
    /// The kinds a request addresses: one of them, or `both` (one row per kind).
    pub enum MappingType: "mapping_type" {
        /// The live row.
        Live = "live",
        /// The test row.
        Test = "test",
        /// The live row and the test row.
        Both = "both",
    }
}

impl MappingType {
    /// The row kinds this request addresses, live first.
    pub fn kinds(self) -> &'static [NetworkKind] {
        match self {
            MappingType::Live => &[NetworkKind::Live],
            MappingType::Test => &[NetworkKind::Test],
            MappingType::Both => &[NetworkKind::Live, NetworkKind::Test],
        }
    }
}

string_enum! {
    /// Whether a mapping's destination was checked (`network_mappings.validation_status`).
    pub enum ValidationStatus: "validation status" {
        /// Not checked since its destination was set.
        Pending = "pending",
        /// The destination network exists and fits.
        Valid = "valid",
        /// The destination network was found unusable.
        Invalid = "invalid",
    }
}

record! {
    /// A `network_mappings` row. JSON keys are the column names.
    #[allow(missing_docs)]
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct NetworkMapping in "network_mappings" {
        pub id: i64,
        pub vm_id: String,
        pub source_network_name: String,
        pub destination_network_id: String,
        pub destination_network_name: String,
        pub is_test_network: bool,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
        pub vm_context_id: String,
        pub vmware_vm_id: Option<String>,
        pub validation_status: ValidationStatus,
        pub mapping_type: NetworkKind,
        pub network_strategy: Option<String>,
        pub last_validated: Option<Timestamp>,
    }
}

/// A mapping to create or update (JSON input of `sendense_network_mapping_set`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNetworkMapping {
    /// The context whose VM has the network; must exist.
    pub vm_context_id: String,
    /// The VMware network's name.
    pub source_network_name: String,
    /// The CloudStack network's id.
    pub destination_network_id: String,
    /// The CloudStack network's name.
    pub destination_network_name: String,
    /// live, test, or both (one row per kind).
    pub mapping_type: MappingType,
    /// How the network is provided (free text, e.g. an L2 or isolated network); replaced on
    /// every set (absent clears it).
    #[serde(default)]
    pub network_strategy: Option<String>,
}

impl NewNetworkMapping {
    /// A mapping of `source` in `context_id` to the CloudStack network `destination_id`
    /// (named `destination_name`) for `mapping_type`, without a strategy.
    pub fn new(
        context_id: impl Into<String>,
        source: impl Into<String>,
        destination_id: impl Into<String>,
        destination_name: impl Into<String>,
        mapping_type: MappingType,
    ) -> NewNetworkMapping {
        NewNetworkMapping {
            vm_context_id: context_id.into(),
            source_network_name: source.into(),
            destination_network_id: destination_id.into(),
            destination_network_name: destination_name.into(),
            mapping_type,
            network_strategy: None,
        }
    }

    fn validate(&self) -> Result<()> {
        check_id("vm_context_id", &self.vm_context_id)?;
        check_name("source_network_name", &self.source_network_name)?;
        check_id("destination_network_id", &self.destination_network_id)?;
        check_name("destination_network_name", &self.destination_network_name)?;
        if let Some(s) = &self.network_strategy {
            check_name("network_strategy", s)?;
        }
        Ok(())
    }
}

fn find(tx: &Tx<'_>, context_id: &str, source: &str, kind: NetworkKind) -> Result<Option<NetworkMapping>> {
    tx.record(
        "WHERE vm_context_id = :context_id AND source_network_name = :source AND mapping_type = :kind",
        params![context_id, source, kind],
    )
}

/// The existing rows of (context, source network) for `mapping_type`'s kinds, after checking
/// the arguments and the context; NOT_FOUND naming the first missing kind.
fn load_each(tx: &Tx<'_>, context_id: &str, source: &str, mapping_type: MappingType) -> Result<Vec<NetworkMapping>> {
    check_id("context_id", context_id)?;
    check_name("source_network_name", source)?;
    context::load(tx, context_id)?;
    mapping_type
        .kinds()
        .iter()
        .map(|&kind| {
            find(tx, context_id, source, kind)?.ok_or_else(|| {
                Error::not_found(format!(
                    "context {:?} has no {kind} mapping of network {:?}",
                    echo(context_id),
                    echo(source)
                ))
            })
        })
        .collect()
}

impl Store {
    /// Create or update the mapping of a source network of a context, for one kind or (with
    /// `both`) one row per kind, in one transaction; returns the rows written, live first.
    /// A changed destination resets the row's validation to `pending`. Safe to retry.
    pub fn network_mapping_set(&self, new: &NewNetworkMapping) -> Result<Vec<NetworkMapping>> {
        new.validate()?;
        self.writing(|tx| {
            let ctx = context::load(tx, &new.vm_context_id)?;
            let now = self.now_ms();
            let (context_id, source) = (&new.vm_context_id, &new.source_network_name);
            for &kind in new.mapping_type.kinds() {
                tx.execute(
                    "INSERT INTO network_mappings (vm_id, source_network_name, destination_network_id, \
                     destination_network_name, is_test_network, created_at, updated_at, vm_context_id, \
                     vmware_vm_id, mapping_type, network_strategy) \
                     VALUES (:vm_id, :source, :destination_id, :destination_name, :is_test, :now, :now, \
                     :context_id, :vm_id, :kind, :strategy) \
                     ON CONFLICT (vm_context_id, source_network_name, is_test_network) DO UPDATE SET \
                     validation_status = CASE WHEN destination_network_id = excluded.destination_network_id \
                       AND destination_network_name = excluded.destination_network_name \
                       THEN validation_status ELSE 'pending' END, \
                     last_validated = CASE WHEN destination_network_id = excluded.destination_network_id \
                       AND destination_network_name = excluded.destination_network_name \
                       THEN last_validated ELSE NULL END, \
                     destination_network_id = excluded.destination_network_id, \
                     destination_network_name = excluded.destination_network_name, \
                     network_strategy = excluded.network_strategy, \
                     vm_id = excluded.vm_id, vmware_vm_id = excluded.vmware_vm_id, \
                     updated_at = excluded.updated_at",
                    params![
                        vm_id = ctx.vmware_vm_id,
                        source,
                        destination_id = new.destination_network_id,
                        destination_name = new.destination_network_name,
                        is_test = kind == NetworkKind::Test,
                        now,
                        context_id,
                        kind,
                        strategy = new.network_strategy
                    ],
                )?;
            }
            load_each(tx, context_id, source, new.mapping_type)
        })
    }

    /// Record the outcome of checking a mapping's destination (`valid` or `invalid`),
    /// stamping `last_validated`; `both` marks both rows. NOT_FOUND when a row is missing.
    pub fn network_mapping_validate(
        &self,
        context_id: &str,
        source_network_name: &str,
        mapping_type: MappingType,
        valid: bool,
    ) -> Result<Vec<NetworkMapping>> {
        let status = if valid { ValidationStatus::Valid } else { ValidationStatus::Invalid };
        self.writing(|tx| {
            let now = self.now_ms();
            for row in load_each(tx, context_id, source_network_name, mapping_type)? {
                tx.execute(
                    "UPDATE network_mappings SET validation_status = :status, last_validated = :now, \
                     updated_at = :now WHERE id = :id",
                    params![status, now, id = row.id],
                )?;
            }
            load_each(tx, context_id, source_network_name, mapping_type)
        })
    }

    /// The mappings of a context, of one kind or (with `None`) both, by source network name
    /// then kind (live first). NOT_FOUND for an unknown context.
    pub fn network_mapping_list(&self, context_id: &str, kind: Option<NetworkKind>) -> Result<Vec<NetworkMapping>> {
        check_id("context_id", context_id)?;
        self.reading(|tx| {
            context::load(tx, context_id)?;
            tx.records(
                "WHERE vm_context_id = :context_id AND (:kind IS NULL OR mapping_type = :kind) \
                 ORDER BY source_network_name, is_test_network",
                params![context_id, kind],
            )
        })
    }

    /// Delete the mapping of a source network of a context for one kind or (with `both`) both;
    /// NOT_FOUND, deleting nothing, when a row is missing.
    pub fn network_mapping_delete(
        &self,
        context_id: &str,
        source_network_name: &str,
        mapping_type: MappingType,
    ) -> Result<()> {
        self.writing(|tx| {
            for row in load_each(tx, context_id, source_network_name, mapping_type)? {
                tx.execute("DELETE FROM network_mappings WHERE id = :id", params![id = row.id])?;
            }
            Ok(())
        })
    }
}
