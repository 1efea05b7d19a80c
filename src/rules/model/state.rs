//! The whole state: a directory of accounts and one instance. The engine
//! (`rules::engine`) applies requests to it; `rules::integrity` checks it at load.

use super::directory::Directory;
use super::instance::InstanceRecord;
use serde::{Deserialize, Serialize};

/// A directory of accounts and the KMS instance being simulated: the whole state.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The organisation around the instance.
    pub directory: Directory,
    /// The instance.
    pub instance: InstanceRecord,
}
