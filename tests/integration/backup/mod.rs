//! The backup area (`src/backup/`): repositories and policies, backup points and chains,
//! VM-level restore points, copies, and retention.

mod cascade;
mod copy;
mod point;
mod repository;
mod restore_point;
mod retention;

use serde_json::json;

use sendense::backup::{NewRepository, RepositoryType};
use sendense::replication::NewContext;
use sendense::Store;

/// A local repository at `/srv/<name>`.
fn local(name: &str) -> NewRepository {
    NewRepository::new(name, RepositoryType::Local, json!({"path": format!("/srv/{name}")}))
}

/// What most backup tests start from: the context of VM `web-01` and the local repository
/// `main`; returns (context id, repository id).
fn web_01_and_main(store: &Store) -> (String, String) {
    let ctx = store.context_create(&NewContext::new("web-01", "vm-1", "/dc/vm/web-01", "vc", "dc")).unwrap();
    let repo = store.repository_create(&local("main")).unwrap();
    (ctx, repo)
}
