//! The endpoint's state in SQLite (rusqlite, SQLite compiled in): keys, aliases, and
//! each KMS instance's state under the rules (the engine's JSON).
//! Each request that changes it is one `BEGIN IMMEDIATE` transaction, so it is applied
//! whole or not at all and, once answered, survives `kill -9` (WAL, `synchronous=FULL`).
//! The file is held by one server at a time (`locking_mode=EXCLUSIVE`): a second one is
//! refused at start. Key material is kept sealed under the server's master key
//! (AES-256-GCM, the key id as AAD); a wrong master key is refused at start.

use crate::code::{Code, Problem};
use crate::envelope::message::IV_LEN;
use crate::envelope::{gcm, Algorithm};
use crate::platform::os_random;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;
use zeroize::Zeroizing;

/// A key's state, as DescribeKey says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Usable.
    Enabled,
    /// Refused for cryptography (`Rejected.Disabled`) until enabled again.
    Disabled,
    /// Scheduled for deletion: refused for cryptography, and never enabled again.
    PendingDeletion,
}

impl KeyState {
    /// The API's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "Enabled" => KeyState::Enabled,
            "Disabled" => KeyState::Disabled,
            _ => KeyState::PendingDeletion,
        }
    }
}

/// A key as the store keeps it, its material open (wiped when dropped).
pub struct Key {
    /// `key-…`.
    pub id: String,
    /// The account that owns it.
    pub account: String,
    /// Its state.
    pub state: KeyState,
    /// `Aliyun_AES_256`.
    pub spec: String,
    /// `ENCRYPT/DECRYPT`.
    pub usage: String,
    /// `Aliyun_KMS`.
    pub origin: String,
    /// `SOFTWARE`.
    pub protection: String,
    /// The caller's words.
    pub description: String,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339, once scheduled for deletion.
    pub deletion: Option<String>,
    /// The KMS instance it belongs to, when it belongs to one.
    pub instance: Option<String>,
    /// Its one version's id.
    pub version: String,
    /// The AES-256 material; empty for a key kept on a token or behind a proxy.
    pub material: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("id", &self.id).field("state", &self.state).finish_non_exhaustive()
    }
}

/// What the store keeps.
pub struct Store {
    connection: Mutex<Connection>,
    master: Zeroizing<[u8; 32]>,
}

fn failed(e: rusqlite::Error) -> Problem {
    Problem::new(Code::BridgeUnavailable, format!("the store failed: {e}"))
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY, account TEXT NOT NULL, state TEXT NOT NULL, spec TEXT NOT NULL,
    usage TEXT NOT NULL, origin TEXT NOT NULL, protection TEXT NOT NULL, description TEXT NOT NULL,
    created TEXT NOT NULL, deletion TEXT, instance TEXT, version TEXT NOT NULL, material BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS aliases (
    account TEXT NOT NULL, name TEXT NOT NULL, key_id TEXT NOT NULL REFERENCES keys(id),
    PRIMARY KEY (account, name));
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, state TEXT NOT NULL, created TEXT NOT NULL, due TEXT);
CREATE TABLE IF NOT EXISTS secrets (
    instance TEXT NOT NULL, creator TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
    created TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (instance, creator, name));
";

/// An instance's state as a change leaves it, saved in the change's transaction.
pub struct Saved<'a> {
    /// The instance id.
    pub id: &'a str,
    /// Its state, as [`crate::State::to_json`] writes it.
    pub state: &'a str,
    /// When a ConnectKmsInstance under way completes (RFC 3339), if one is.
    pub due: Option<&'a str>,
}

/// A secret's version, creation time and value (wiped when dropped).
pub type KeptSecret = (String, String, Zeroizing<Vec<u8>>);

/// A key of an instance, as the rules read it.
pub struct InstanceKey {
    /// Its id.
    pub id: String,
    /// The account that made it.
    pub account: String,
    /// Whether it is pending deletion.
    pub pending: bool,
    /// Its aliases, by name.
    pub aliases: Vec<String>,
}

/// An instance as the store keeps it.
pub struct KeptInstance {
    /// Its state's JSON.
    pub state: String,
    /// When the store first kept it (RFC 3339): the instance's start date.
    pub created: String,
    /// When a ConnectKmsInstance under way completes.
    pub due: Option<String>,
}

/// What a secret's value is sealed to: its instance, creator and name.
fn secret_aad(instance: &str, creator: &str, name: &str) -> String {
    format!("secret\u{0}{instance}\u{0}{creator}\u{0}{name}")
}

fn save(tx: &Connection, saved: Option<&Saved<'_>>) -> Result<(), Problem> {
    if let Some(s) = saved {
        tx.execute("UPDATE instances SET state = ?2, due = ?3 WHERE id = ?1", params![s.id, s.state, s.due])
            .map_err(failed)?;
    }
    Ok(())
}

/// What the master key seals at first start, to tell a wrong one at the next.
const CHECK: &[u8] = b"kms-instance serve: master key check";

impl Store {
    /// Opens (or creates) the store at `path`, or in memory for `None`; refuses a file
    /// another server holds, and a master key other than the one it was made with.
    pub fn open(path: Option<&Path>, master: Zeroizing<[u8; 32]>) -> Result<Store, Problem> {
        let connection = match path {
            Some(path) => Connection::open(path),
            None => Connection::open_in_memory(),
        }
        .map_err(failed)?;
        let held = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                Problem::new(Code::Request, "the data file is in use by another server")
            }
            _ => failed(e),
        };
        // Taking the write lock now holds the file for this server (exclusive mode keeps it).
        connection
            .execute_batch("PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; BEGIN IMMEDIATE; COMMIT;")
            .map_err(held)?;
        connection.execute_batch(SCHEMA).map_err(failed)?;
        let store = Store { connection: Mutex::new(connection), master };
        store.check_master()?;
        Ok(store)
    }

    /// The connection; waiting for it (a change being written) marks the worker
    /// [`super::blocking`].
    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        match self.connection.try_lock() {
            Ok(connection) => connection,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                super::blocking(|| self.connection.lock().unwrap_or_else(|e| e.into_inner()))
            }
        }
    }

    /// A change: its transaction and fsync with the worker marked [`super::blocking`].
    fn change<T>(&self, work: impl FnOnce(&mut Connection) -> Result<T, Problem>) -> Result<T, Problem> {
        super::blocking(|| work(&mut self.connection.lock().unwrap_or_else(|e| e.into_inner())))
    }

    fn check_master(&self) -> Result<(), Problem> {
        let connection = self.connection();
        let found: Option<Vec<u8>> = connection
            .query_row("SELECT value FROM meta WHERE name = 'check'", [], |r| r.get(0))
            .optional()
            .map_err(failed)?;
        match found {
            Some(sealed) => self
                .open_sealed("check", &sealed)
                .map(|_| ())
                .map_err(|_| Problem::new(Code::Request, "the master key is not the one the data file was made with")),
            None => {
                let sealed = self.seal("check", CHECK)?;
                connection
                    .execute("INSERT INTO meta (name, value) VALUES ('check', ?1)", params![sealed])
                    .map_err(failed)?;
                Ok(())
            }
        }
    }

    fn seal(&self, id: &str, material: &[u8]) -> Result<Vec<u8>, Problem> {
        let mut iv = [0u8; IV_LEN];
        os_random(&mut iv)?;
        let mut sealed = Zeroizing::new(material.to_vec());
        let tag = gcm::seal(Algorithm::AesGcm256, self.master.as_slice(), &iv, id.as_bytes(), &mut sealed)?;
        let mut out = iv.to_vec();
        out.extend_from_slice(&sealed);
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn open_sealed(&self, id: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Problem> {
        let (iv, rest) =
            sealed.split_at_checked(IV_LEN).ok_or_else(|| Problem::new(Code::BridgeHsm, "a sealed key is cut"))?;
        let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| Problem::new(Code::BridgeHsm, "a sealed key is cut"))?;
        gcm::open_sealed(Algorithm::AesGcm256, self.master.as_slice(), &iv, id.as_bytes(), rest)
    }

    /// Adds a key (its material sealed) and its aliases in one transaction; `false`
    /// when a key of that id exists already (nothing is changed).
    pub fn insert(&self, key: &Key, aliases: &[String], saved: Option<&Saved<'_>>) -> Result<bool, Problem> {
        let sealed = self.seal(&key.id, &key.material)?;
        self.change(|connection| {
            let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(failed)?;
            let exists: bool = tx
                .query_row("SELECT EXISTS(SELECT 1 FROM keys WHERE id = ?1)", params![key.id], |r| r.get(0))
                .map_err(failed)?;
            if exists {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO keys (id, account, state, spec, usage, origin, protection, description, created, deletion, instance, version, material)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    key.id, key.account, key.state.as_str(), key.spec, key.usage, key.origin, key.protection,
                    key.description, key.created, key.deletion, key.instance, key.version, sealed
                ],
            )
            .map_err(failed)?;
            for alias in aliases {
                tx.execute(
                    "INSERT INTO aliases (account, name, key_id) VALUES (?1, ?2, ?3)",
                    params![key.account, alias, key.id],
                )
                .map_err(failed)?;
            }
            save(&tx, saved)?;
            tx.commit().map_err(failed)?;
            Ok(true)
        })
    }

    /// The key named `id`, its material open: a key id names any account's key (who
    /// may use it is the handler's decision), an alias only the caller's.
    pub fn key(&self, caller: &str, id: &str) -> Result<Option<Key>, Problem> {
        let connection = self.connection();
        let key_id: Option<String> = if id.starts_with("alias/") {
            connection
                .query_row("SELECT key_id FROM aliases WHERE account = ?1 AND name = ?2", params![caller, id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(failed)?
        } else {
            Some(id.to_string())
        };
        let Some(key_id) = key_id else { return Ok(None) };
        let row = connection
            .query_row(
                "SELECT id, account, state, spec, usage, origin, protection, description, created, deletion, instance, version, material
                 FROM keys WHERE id = ?1",
                params![key_id],
                |r| {
                    Ok((
                        [r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
                        (r.get::<_, Option<String>>(9)?, r.get::<_, Option<String>>(10)?, r.get::<_, String>(11)?),
                        r.get::<_, Vec<u8>>(12)?,
                    ))
                },
            )
            .optional()
            .map_err(failed)?;
        drop(connection);
        let Some((
            [id, account, state, spec, usage, origin, protection, description, created],
            (deletion, instance, version),
            sealed,
        )) = row
        else {
            return Ok(None);
        };
        let material = self.open_sealed(&id, &sealed)?;
        let state = KeyState::parse(&state);
        Ok(Some(Key {
            id,
            account,
            state,
            spec,
            usage,
            origin,
            protection,
            description,
            created,
            deletion,
            instance,
            version,
            material,
        }))
    }

    /// Sets a key's state (and its deletion date) in one statement, unless it is pending
    /// deletion (a state nothing leaves); `false` when it was not changed.
    pub fn set_state(
        &self,
        id: &str,
        state: KeyState,
        deletion: Option<&str>,
        saved: Option<&Saved<'_>>,
    ) -> Result<bool, Problem> {
        self.change(|connection| {
            let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(failed)?;
            let changed = tx
                .execute(
                    "UPDATE keys SET state = ?1, deletion = ?2 WHERE id = ?3 AND state <> 'PendingDeletion'",
                    params![state.as_str(), deletion, id],
                )
                .map_err(failed)?;
            if changed == 1 {
                save(&tx, saved)?;
            }
            tx.commit().map_err(failed)?;
            Ok(changed == 1)
        })
    }

    /// Removes a key that has no alias yet (a `CreateKey` whose keeper failed), and
    /// puts its instance's state back.
    pub fn remove(&self, id: &str, saved: Option<&Saved<'_>>) -> Result<(), Problem> {
        self.change(|connection| {
            let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(failed)?;
            tx.execute("DELETE FROM keys WHERE id = ?1", params![id]).map_err(failed)?;
            save(&tx, saved)?;
            tx.commit().map_err(failed)
        })
    }

    /// Adds an alias; `false` when the account has it already (nothing is changed).
    pub fn add_alias(
        &self,
        account: &str,
        name: &str,
        key_id: &str,
        saved: Option<&Saved<'_>>,
    ) -> Result<bool, Problem> {
        self.change(|connection| {
            let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(failed)?;
            let added = tx
                .execute(
                    "INSERT OR IGNORE INTO aliases (account, name, key_id) VALUES (?1, ?2, ?3)",
                    params![account, name, key_id],
                )
                .map_err(failed)?;
            if added == 1 {
                save(&tx, saved)?;
            }
            tx.commit().map_err(failed)?;
            Ok(added == 1)
        })
    }

    /// The keys kept in instance `id`.
    pub fn instance_keys(&self, id: &str) -> Result<Vec<InstanceKey>, Problem> {
        let connection = self.connection();
        let mut keys = connection
            .prepare("SELECT id, account, state FROM keys WHERE instance = ?1 ORDER BY created, id")
            .map_err(failed)?;
        let rows = keys
            .query_map(params![id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map_err(failed)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        let mut aliases = connection
            .prepare("SELECT name FROM aliases WHERE key_id = ?1 AND account = ?2 ORDER BY name")
            .map_err(failed)?;
        let mut out = Vec::new();
        for (key, account, state) in rows {
            let names = aliases
                .query_map(params![key, account], |r| r.get::<_, String>(0))
                .map_err(failed)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(failed)?;
            let pending = KeyState::parse(&state) == KeyState::PendingDeletion;
            out.push(InstanceKey { id: key, account, pending, aliases: names });
        }
        Ok(out)
    }

    /// Keeps a secret's value (sealed, its instance, creator and name as AAD) with the
    /// instance's state, in one transaction.
    pub fn put_secret(
        &self,
        creator: &str,
        name: &str,
        version: &str,
        data: &[u8],
        saved: &Saved<'_>,
    ) -> Result<(), Problem> {
        let sealed = self.seal(&secret_aad(saved.id, creator, name), data)?;
        self.change(|connection| {
            let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(failed)?;
            tx.execute(
                "INSERT INTO secrets (instance, creator, name, version, created, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![saved.id, creator, name, version, super::handler::now(), sealed],
            )
            .map_err(failed)?;
            save(&tx, Some(saved))?;
            tx.commit().map_err(failed)
        })
    }

    /// A secret's version, creation time and value (wiped when dropped).
    pub fn secret(&self, instance: &str, creator: &str, name: &str) -> Result<Option<KeptSecret>, Problem> {
        let row: Option<(String, String, Vec<u8>)> = self
            .connection()
            .query_row(
                "SELECT version, created, data FROM secrets WHERE instance = ?1 AND creator = ?2 AND name = ?3",
                params![instance, creator, name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(failed)?;
        row.map(|(version, created, sealed)| {
            Ok((version, created, self.open_sealed(&secret_aad(instance, creator, name), &sealed)?))
        })
        .transpose()
    }

    /// Removes a secret with the instance's state, in one transaction.
    pub fn delete_secret(&self, creator: &str, name: &str, saved: &Saved<'_>) -> Result<(), Problem> {
        self.change(|connection| {
            let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(failed)?;
            tx.execute(
                "DELETE FROM secrets WHERE instance = ?1 AND creator = ?2 AND name = ?3",
                params![saved.id, creator, name],
            )
            .map_err(failed)?;
            save(&tx, Some(saved))?;
            tx.commit().map_err(failed)
        })
    }

    /// Saves a change to an instance alone.
    pub fn save_instance(&self, saved: &Saved<'_>) -> Result<(), Problem> {
        self.change(|connection| save(connection, Some(saved)))
    }

    /// The instance `id` as kept, or, the first time, `first` kept and given back.
    pub fn instance(&self, id: &str, first: &str, now: &str) -> Result<KeptInstance, Problem> {
        self.change(|connection| {
            connection
                .execute(
                    "INSERT OR IGNORE INTO instances (id, state, created) VALUES (?1, ?2, ?3)",
                    params![id, first, now],
                )
                .map_err(failed)?;
            connection
                .query_row("SELECT state, created, due FROM instances WHERE id = ?1", params![id], |r| {
                    Ok(KeptInstance { state: r.get(0)?, created: r.get(1)?, due: r.get(2)? })
                })
                .map_err(failed)
        })
    }

    /// A page of the account's key ids (ordered by id) and how many it has.
    pub fn key_ids(&self, account: &str, offset: usize, limit: usize) -> Result<(Vec<String>, usize), Problem> {
        let connection = self.connection();
        let total: i64 = connection
            .query_row("SELECT COUNT(*) FROM keys WHERE account = ?1", params![account], |r| r.get(0))
            .map_err(failed)?;
        let mut statement = connection
            .prepare("SELECT id FROM keys WHERE account = ?1 ORDER BY id LIMIT ?2 OFFSET ?3")
            .map_err(failed)?;
        let ids = statement
            .query_map(
                params![account, i64::try_from(limit).unwrap_or(i64::MAX), i64::try_from(offset).unwrap_or(i64::MAX)],
                |r| r.get(0),
            )
            .map_err(failed)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(failed)?;
        Ok((ids, usize::try_from(total).unwrap_or(0)))
    }

    /// A page of the account's aliases `(name, key id)`, ordered by name, and how many it has.
    pub fn aliases(
        &self,
        account: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<(String, String)>, usize), Problem> {
        let connection = self.connection();
        let total: i64 = connection
            .query_row("SELECT COUNT(*) FROM aliases WHERE account = ?1", params![account], |r| r.get(0))
            .map_err(failed)?;
        let mut statement = connection
            .prepare("SELECT name, key_id FROM aliases WHERE account = ?1 ORDER BY name LIMIT ?2 OFFSET ?3")
            .map_err(failed)?;
        let aliases = statement
            .query_map(
                params![account, i64::try_from(limit).unwrap_or(i64::MAX), i64::try_from(offset).unwrap_or(i64::MAX)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(failed)?
            .collect::<Result<Vec<(String, String)>, _>>()
            .map_err(failed)?;
        Ok((aliases, usize::try_from(total).unwrap_or(0)))
    }
}
