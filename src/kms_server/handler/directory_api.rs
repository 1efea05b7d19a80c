//! ResourceManager (`2020-03-31`) as far as an instance's rules read it: `MoveAccount`,
//! a member account joining a folder of the resource directory (R-Q-2: a share with
//! that folder as a principal gains the account, and the quota it takes). The directory
//! is the platform's here, as billing is: an operator's AccessKey of the seed calls it.

use super::{Call, Endpoint, Failure, Logged, Refusal};
use crate::kms_server::instances::Instance;
use crate::rules::model::request::{Action, JoinFolder};
use serde_json::{json, Value};

/// The ResourceManager API version served.
pub const VERSION: &str = "2020-03-31";

impl Endpoint {
    pub(super) fn directory_operate(&self, action: &str, call: &Call, logged: &mut Logged) -> Result<Value, Failure> {
        if action != "MoveAccount" {
            return Err(Refusal::no_such_action().into());
        }
        let account = call.required("AccountId")?.to_string();
        let folder = call.required("DestinationFolderId")?.to_string();
        logged.key = Some(account.clone());
        // Every instance whose directory holds the account sees it move: all decide
        // before any changes, so a refusal leaves every one as it was.
        let mut concerned: Vec<&Instance> = Vec::new();
        for instance in self.settings.instances.values() {
            if instance.read(&self.store)?.state.directory.account(&account).is_some() {
                concerned.push(instance);
            }
        }
        if concerned.is_empty() {
            return Err(Refusal::new("EntityNotExists.Account", 404, "The specified account does not exist.").into());
        }
        let request = Self::world_event(Action::JoinFolder(JoinFolder { account, folder }));
        for instance in &concerned {
            instance.decide(&self.store, &request, &call.env())?;
        }
        for instance in concerned {
            self.apply_request(instance, call, &request)?;
        }
        Ok(json!({}))
    }
}
