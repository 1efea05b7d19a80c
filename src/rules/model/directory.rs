//! The organisation around an instance: a resource directory of accounts, its folders,
//! and resource shares that already exist in it (SCENARIOS.md "directory").

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// A resource directory: its accounts, folders and existing shares.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Directory {
    /// The directory's id (R-ID-7).
    pub resource_directory_id: String,
    /// The verified enterprise its accounts belong to, unless they name their own.
    pub enterprise_id: String,
    /// The member accounts, the owner's included.
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// Folders with no member yet; a folder named by an account exists too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<String>,
    /// Resource shares of the organisation that share other resources (R-SH-7).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_shares: Vec<OrgShare>,
}

/// A member account of the directory.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Account {
    /// The account id (R-ID-5).
    pub id: String,
    /// The account name (R-NAME-1).
    pub name: String,
    /// The display name (R-NAME-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The folder the account is in (R-ID-6), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// Left out: the directory's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_id: Option<String>,
    /// Left out: the directory's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_directory_id: Option<String>,
}

/// A principal of a share, as stored (validated).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Principal {
    /// One account.
    Account {
        /// Its id (R-ID-5).
        id: String,
    },
    /// Every account in a folder, members who join later included.
    Folder {
        /// The folder's id (R-ID-6).
        id: String,
    },
    /// The whole resource directory, members who join later included.
    Directory {
        /// The directory's id; left out, the owner's directory.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
}

impl Principal {
    /// The id as a caller names it; a directory principal is named by the directory.
    pub fn label(&self) -> &str {
        match self {
            Principal::Account { id } | Principal::Folder { id } => id,
            Principal::Directory { id } => id.as_deref().unwrap_or("directory"),
        }
    }
}

/// A resource-sharing permission and its version (R-SH-4).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Permission {
    /// The permission's name.
    pub name: String,
    /// Its version (`v1`, `v2`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The permission a KMS instance is shared with (R-SH-4).
pub const DEFAULT_PERMISSION: &str = "AliyunRSDefaultPermissionKMSInstance";
/// The deprecated permission: kept on old shares, refused on new ones (R-SH-4).
pub const DEPRECATED_PERMISSION: &str = "AliyunRSPermissionKMSInstanceReadWrite";

impl Permission {
    /// The default permission at version v2, which new shares get.
    pub fn default_v2() -> Self {
        Permission { name: DEFAULT_PERMISSION.into(), version: Some("v2".into()) }
    }

    /// R-AZ-2: only the KMS instance permission grants use of the instance; the
    /// deprecated one still does on the shares that already carry it.
    pub fn grants_instance_use(&self) -> bool {
        self.name == DEFAULT_PERMISSION || self.name == DEPRECATED_PERMISSION
    }
}

/// A resource share that exists in the organisation before the instance joins it.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrgShare {
    /// The share's id.
    pub id: String,
    /// The share's name.
    pub name: String,
    /// The share's permission, kept when the instance joins it (R-SH-7).
    pub permission: Permission,
    /// Its principals, who reach the instance at once when it joins (R-SH-7).
    #[serde(default)]
    pub principals: Vec<Principal>,
}

impl Directory {
    /// The account with this id.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// The account with this id, to change it.
    pub fn account_mut(&mut self, id: &str) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|a| a.id == id)
    }

    /// The enterprise an account belongs to: its own, else the directory's.
    pub fn enterprise_of<'a>(&'a self, account: &'a Account) -> &'a str {
        account.enterprise_id.as_deref().unwrap_or(&self.enterprise_id)
    }

    /// The resource directory an account belongs to: its own, else this one.
    pub fn directory_of<'a>(&'a self, account: &'a Account) -> &'a str {
        account.resource_directory_id.as_deref().unwrap_or(&self.resource_directory_id)
    }

    /// Whether the folder exists: listed, or named by an account.
    pub fn folder_exists(&self, folder: &str) -> bool {
        self.folders.iter().any(|f| f == folder) || self.accounts.iter().any(|a| a.folder.as_deref() == Some(folder))
    }

    /// Whether `account` is a member of this directory and of `enterprise`: only such
    /// accounts can be reached through a share (R-SH-2).
    fn is_reachable(&self, account: &Account, enterprise: &str) -> bool {
        self.directory_of(account) == self.resource_directory_id && self.enterprise_of(account) == enterprise
    }

    /// Every folder that exists: those listed, and those an account names.
    pub fn folders(&self) -> HashSet<&str> {
        self.folders
            .iter()
            .map(String::as_str)
            .chain(self.accounts.iter().filter_map(|a| a.folder.as_deref()))
            .collect()
    }

    /// The accounts by id, for checking many principals at once.
    pub fn accounts_by_id(&self) -> HashMap<&str, &Account> {
        self.accounts.iter().map(|a| (a.id.as_str(), a)).collect()
    }

    /// The accounts `principals` cover now, each once, in the order of the principals
    /// (a folder's or the directory's members in directory order), without `owner`
    /// (R-Q-2). Folder and directory principals cover only members of this directory
    /// in the owner's enterprise: sharing never leaves the verified enterprise. Costs
    /// principals + accounts, not their product.
    pub fn covered(&self, principals: &[Principal], owner: &str) -> Vec<String> {
        let enterprise = self.account(owner).map_or(self.enterprise_id.as_str(), |o| self.enterprise_of(o));
        let members: Vec<&str> = self
            .accounts
            .iter()
            .filter(|a| a.id != owner && self.is_reachable(a, enterprise))
            .map(|a| a.id.as_str())
            .collect();
        let mut by_folder: HashMap<&str, Vec<&str>> = HashMap::new();
        for a in self.accounts.iter().filter(|a| a.id != owner && self.is_reachable(a, enterprise)) {
            if let Some(folder) = a.folder.as_deref() {
                by_folder.entry(folder).or_default().push(&a.id);
            }
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut covered = Vec::new();
        let mut add = |account| {
            if seen.insert(account) {
                covered.push(account.to_string());
            }
        };
        for principal in principals {
            match principal {
                Principal::Account { id } if id == owner => {}
                Principal::Account { id } => add(id.as_str()),
                Principal::Folder { id } => by_folder.get(id.as_str()).into_iter().flatten().for_each(|a| add(a)),
                Principal::Directory { .. } => members.iter().for_each(|a| add(a)),
            }
        }
        covered
    }
}
