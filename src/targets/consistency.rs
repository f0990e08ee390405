//! The storage consistency check ([`Store::storage_consistency`], part of
//! [`Store::integrity_check`]): what the rules of the device mappings (`device.rs`), the NBD
//! exports (`nbd_export.rs`) and the volume statuses (`cloudstack.rs`) are meant to prevent, found
//! in data that raw SQL or older writers may have left behind. It reads across the three, so
//! it is none of theirs.

use serde::Serialize;

use crate::error::Result;
use crate::params;
use crate::store::{Store, Tx};

/// One volume whose `ossea_volumes` status disagrees with its mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeMismatch {
    /// `ossea_volumes.volume_id` (the CloudStack volume UUID).
    pub volume_id: String,
    /// `ossea_volumes.status`.
    pub status: String,
    /// The mapping of the volume, if any.
    pub mapping_id: Option<String>,
}

/// The storage consistency report ([`Store::storage_consistency`]). `ok` when every list is
/// empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageConsistency {
    /// Nothing was found.
    pub ok: bool,
    /// Export names whose volume has no mapping, whose mapping is not in oma mode, or whose
    /// device path is not the mapping's.
    pub exports_without_live_mapping: Vec<String>,
    /// Volume UUIDs of oma mappings of a context that have no export. (A mapping without a
    /// context serves no disk row of one, so it cannot have an export and is not listed.)
    pub oma_mappings_without_export: Vec<String>,
    /// Device paths held by more than one oma mapping.
    pub duplicate_device_paths: Vec<String>,
    /// Volumes attached without a mapping, or with a mapping while detached or available.
    pub volume_mismatches: Vec<VolumeMismatch>,
}

/// Run the storage consistency queries inside a transaction.
pub(crate) fn check(tx: &Tx<'_>) -> Result<StorageConsistency> {
    let strings = |sql: &str| -> Result<Vec<String>> { tx.rows(sql, params![], |r| r.get(0)) };
    let exports_without_live_mapping = strings(
        "SELECT e.export_name FROM nbd_exports e LEFT JOIN device_mappings m ON m.volume_uuid = e.volume_id \
         WHERE m.id IS NULL OR m.operation_mode <> 'oma' OR m.device_path IS NOT e.device_path \
         ORDER BY e.export_name",
    )?;
    let oma_mappings_without_export = strings(
        "SELECT m.volume_uuid FROM device_mappings m WHERE m.operation_mode = 'oma' \
         AND m.vm_context_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM nbd_exports e WHERE e.volume_id = m.volume_uuid) ORDER BY m.volume_uuid",
    )?;
    let duplicate_device_paths = strings(
        "SELECT device_path FROM device_mappings WHERE operation_mode = 'oma' AND device_path IS NOT NULL \
         GROUP BY device_path HAVING count(*) > 1 ORDER BY device_path",
    )?;
    let volume_mismatches = tx.rows(
        "SELECT v.volume_id, v.status, m.id FROM ossea_volumes v LEFT JOIN device_mappings m \
         ON m.volume_uuid = v.volume_id \
         WHERE (v.status = 'attached' AND m.id IS NULL) \
         OR (v.status IN ('detached', 'available') AND m.id IS NOT NULL) \
         ORDER BY v.volume_id",
        params![],
        |r| Ok(VolumeMismatch { volume_id: r.get(0)?, status: r.get(1)?, mapping_id: r.get(2)? }),
    )?;
    Ok(StorageConsistency {
        ok: exports_without_live_mapping.is_empty()
            && oma_mappings_without_export.is_empty()
            && duplicate_device_paths.is_empty()
            && volume_mismatches.is_empty(),
        exports_without_live_mapping,
        oma_mappings_without_export,
        duplicate_device_paths,
        volume_mismatches,
    })
}

impl Store {
    /// What the storage rules are meant to prevent, found in the data (see
    /// [`StorageConsistency`]); also part of [`Store::integrity_check`].
    pub fn storage_consistency(&self) -> Result<StorageConsistency> {
        self.reading(check)
    }
}
