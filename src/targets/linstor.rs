//! Linstor configurations (docs/DOMAIN.md section 5; docs/SCHEMA.md section 10): the
//! controller the hub's replicated block storage is managed through.
//!
//! Rules enforced here (the configuration rules of `cloudstack.rs`, whose helpers they share):
//! - the API key and secret of a configuration, when given, are stored only sealed
//!   ([`crate::store::secret`]): creating one with a secret needs a store opened with a secret
//!   key, and the JSON read-outs never carry them ([`Store::linstor_config_secrets`] hands them
//!   out explicitly);
//! - a configuration name is unique: a taken one is ALREADY_EXISTS naming the holder;
//! - `api_url` carries no user name or password (INVALID_ARGUMENT, without repeating it);
//! - the port is 1-65535, the protocol http or https, the timeout at least 1 s, the retries
//!   not negative;
//! - deleting a configuration leaves the failover jobs that named it without the reference.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{echo, Error, Result};
use crate::params;
use crate::store::query::{require_row, update_columns};
use crate::store::secret::{envelope_key_id, Slot};
use crate::store::{Record, Row, Store, Tx};
use crate::targets::cloudstack::{check_no_userinfo, check_secret, name_taken, sealed_columns};
use crate::value::{check_name, Timestamp};

/// A `linstor_configs` row without its secrets. JSON keys are the column names, plus
/// `sealed_with_key` (the key that sealed its API key or secret, if it has one).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinstorConfig {
    pub id: i64,
    pub name: String,
    pub api_url: String,
    pub api_port: i64,
    pub api_protocol: String,
    pub connection_timeout_seconds: i64,
    pub retry_attempts: i64,
    pub description: Option<String>,
    pub is_active: bool,
    pub sealed_with_key: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The columns in field order, the sealed API key (or, without one, the sealed secret)
/// standing for `sealed_with_key` (the key id is read from its envelope).
impl Record for LinstorConfig {
    const TABLE: &'static str = "linstor_configs";
    const COLUMNS: &'static str = "id, name, api_url, api_port, api_protocol, connection_timeout_seconds, \
        retry_attempts, description, is_active, coalesce(api_key, api_secret), created_at, updated_at";

    fn from_row(r: &Row<'_>) -> Result<LinstorConfig> {
        let sealed: Option<String> = r.get(9)?;
        Ok(LinstorConfig {
            id: r.get(0)?,
            name: r.get(1)?,
            api_url: r.get(2)?,
            api_port: r.get(3)?,
            api_protocol: r.get(4)?,
            connection_timeout_seconds: r.get(5)?,
            retry_attempts: r.get(6)?,
            description: r.get(7)?,
            is_active: r.get(8)?,
            sealed_with_key: sealed.as_deref().and_then(envelope_key_id).map(str::to_string),
            created_at: r.get(10)?,
            updated_at: r.get(11)?,
        })
    }
}

/// The secrets of a Linstor configuration, opened. Its `Debug` hides them.
#[derive(Clone, PartialEq, Serialize)]
pub struct LinstorSecrets {
    /// The controller API key, if set.
    pub api_key: Option<Zeroizing<String>>,
    /// The controller API secret, if set.
    pub api_secret: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for LinstorSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinstorSecrets { .. }")
    }
}

fn default_api_port() -> i64 {
    3370
}

fn default_protocol() -> String {
    "http".to_string()
}

fn default_timeout() -> i64 {
    30
}

fn default_retries() -> i64 {
    3
}

fn default_active() -> bool {
    true
}

/// A new Linstor configuration (JSON input of `sendense_linstor_config_create`): the column
/// names, with the schema's defaults (port 3370, http, 30 s, 3 retries, active).
#[allow(missing_docs)]
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLinstorConfig {
    pub name: String,
    pub api_url: String,
    #[serde(default = "default_api_port")]
    pub api_port: i64,
    #[serde(default = "default_protocol")]
    pub api_protocol: String,
    #[serde(default)]
    pub api_key: Option<Zeroizing<String>>,
    #[serde(default)]
    pub api_secret: Option<Zeroizing<String>>,
    #[serde(default = "default_timeout")]
    pub connection_timeout_seconds: i64,
    #[serde(default = "default_retries")]
    pub retry_attempts: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "default_active")]
    pub is_active: bool,
}

impl std::fmt::Debug for NewLinstorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewLinstorConfig").field("name", &self.name).field("api_url", &self.api_url).finish()
    }
}

impl NewLinstorConfig {
    fn validate(&self) -> Result<()> {
        check_name("name", &self.name)?;
        check_no_userinfo("api_url", &self.api_url)?;
        check_name("api_url", &self.api_url)?;
        if !(1..=65535).contains(&self.api_port) {
            return Err(Error::invalid_argument(format!("api_port {} is not a port (1-65535)", self.api_port)));
        }
        if !matches!(self.api_protocol.as_str(), "http" | "https") {
            return Err(Error::invalid_argument(format!(
                "api_protocol {:?} is not http or https",
                echo(&self.api_protocol)
            )));
        }
        if self.connection_timeout_seconds < 1 {
            return Err(Error::invalid_argument("connection_timeout_seconds must be at least 1"));
        }
        if self.retry_attempts < 0 {
            return Err(Error::invalid_argument("retry_attempts is negative"));
        }
        for (what, v) in [("api_key", &self.api_key), ("api_secret", &self.api_secret)] {
            if let Some(v) = v {
                check_secret(what, v)?;
            }
        }
        Ok(())
    }
}

fn load_linstor(tx: &Tx<'_>, id: i64) -> Result<LinstorConfig> {
    tx.record("WHERE id = :id", params![id])?
        .ok_or_else(|| Error::not_found(format!("Linstor configuration {id} does not exist")))
}

impl Store {
    /// Create a Linstor configuration, its API key and secret (when given) sealed with the
    /// store's key; returns its id. A taken name is ALREADY_EXISTS.
    /// A taken name is ALREADY_EXISTS naming it, so it is safe to retry after
    /// [`crate::Status::CommitUnknown`].
    pub fn linstor_config_create(&self, new: &NewLinstorConfig) -> Result<i64> {
        new.validate()?;
        self.writing(|tx| {
            let now = self.now_ms();
            name_taken(tx, "linstor_configs", "Linstor configuration", &new.name, None)?;
            tx.execute(
                "INSERT INTO linstor_configs (name, api_url, api_port, api_protocol, \
                 connection_timeout_seconds, retry_attempts, description, created_at, updated_at, is_active) \
                 VALUES (:name, :api_url, :api_port, :api_protocol, \
                 :connection_timeout_seconds, :retry_attempts, :description, :now, :now, :is_active)",
                params![
                    name = new.name,
                    api_url = new.api_url,
                    api_port = new.api_port,
                    api_protocol = new.api_protocol,
                    connection_timeout_seconds = new.connection_timeout_seconds,
                    retry_attempts = new.retry_attempts,
                    description = new.description,
                    now,
                    is_active = new.is_active
                ],
            )?;
            let id = tx.last_insert_rowid();
            let secrets = [("api_key", new.api_key.as_ref()), ("api_secret", new.api_secret.as_ref())];
            update_columns(
                tx,
                "linstor_configs",
                &id,
                now,
                &sealed_columns(self, tx, "linstor_configs", id, secrets)?,
            )?;
            Ok(id)
        })
    }

    /// The Linstor configuration with this id, without its secrets.
    pub fn linstor_config_get(&self, id: i64) -> Result<LinstorConfig> {
        self.reading(|tx| load_linstor(tx, id))
    }

    /// The opened API key and secret of a Linstor configuration.
    pub fn linstor_config_secrets(&self, id: i64) -> Result<LinstorSecrets> {
        let (api_key, api_secret): (Option<String>, Option<String>) = self.reading(|tx| {
            load_linstor(tx, id)?;
            tx.one("SELECT api_key, api_secret FROM linstor_configs WHERE id = :id", params![id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })?;
        Ok(LinstorSecrets {
            api_key: api_key
                .map(|v| self.unseal(Slot { table: "linstor_configs", column: "api_key", row: id }, &v))
                .transpose()?,
            api_secret: api_secret
                .map(|v| self.unseal(Slot { table: "linstor_configs", column: "api_secret", row: id }, &v))
                .transpose()?,
        })
    }

    /// Every Linstor configuration, by name.
    pub fn linstor_config_list(&self) -> Result<Vec<LinstorConfig>> {
        self.reading(|tx| tx.records("ORDER BY name, id", params![]))
    }

    /// Delete a Linstor configuration (failover jobs naming it lose the reference).
    pub fn linstor_config_delete(&self, id: i64) -> Result<()> {
        self.writing(|tx| {
            require_row(tx, "linstor_configs", "id", &id, &format!("Linstor configuration {id}"))?;
            tx.execute("DELETE FROM linstor_configs WHERE id = :id", params![id])?;
            Ok(())
        })
    }
}
