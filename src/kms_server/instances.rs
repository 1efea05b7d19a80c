//! The KMS instances an endpoint serves: each one's state under the rules, kept in the
//! store and changed only through the rule engine ([`State::apply`]), so a request the
//! rules refuse changes nothing and one they accept is saved, in the same transaction as
//! what else it changed (a key, an alias), before it is answered. The server's clock
//! moves an instance too: a ConnectKmsInstance completes once its wait is over (R-LC-6),
//! and a subscription expires at its end date (R-LC-1).

use super::keeper::Keeper;
use super::store::{Saved, Store};
use crate::code::{Code, Problem};
use crate::rules::engine::{Env, Outcome, Rejection};
use crate::rules::model::instance::{Key, Status};
use crate::rules::model::request::{Action, NoParams, Request};
use crate::State;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// One instance: its keeper, and its state as the store keeps it.
pub struct Instance {
    /// A hardware instance's token, an external instance's proxy (none for software).
    pub keeper: Option<Keeper>,
    /// When the store first kept it: its start date.
    pub created: String,
    live: Mutex<Live>,
}

/// The state and, while a ConnectKmsInstance is under way, when it completes.
pub struct Live {
    /// The directory and the instance, as the rule engine reads them.
    pub state: State,
    due: Option<OffsetDateTime>,
}

/// Why a change did not happen: the rules refused it, or the store failed (nothing changed
/// either way).
pub enum Unchanged {
    /// The engine's rejection.
    Refused(Box<Rejection>),
    /// The store's failure.
    Failed(Problem),
}

impl From<Problem> for Unchanged {
    fn from(p: Problem) -> Self {
        Unchanged::Failed(p)
    }
}

impl Instance {
    /// The state's lock; waiting for it (a change being saved) marks the worker
    /// [`super::blocking`], as the store's connection does.
    fn lock(&self) -> MutexGuard<'_, Live> {
        match self.live.try_lock() {
            Ok(live) => live,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                super::blocking(|| self.live.lock().unwrap_or_else(|e| e.into_inner()))
            }
        }
    }

    /// The instance the seed describes, as the store keeps it: the seed's state the first
    /// time, what was saved since at every later start. A kept state whose type, owner or
    /// region the seed no longer gives is refused (its keys would open elsewhere). A state
    /// that is connecting with no end kept (a seed's) completes its wait from now.
    pub fn open(
        store: &Store,
        seed: &State,
        keeper: Option<Keeper>,
        connect_wait: Option<Duration>,
    ) -> Result<Instance, Problem> {
        let id = &seed.instance.instance_id;
        let first = seed.to_json().map_err(|e| Problem::new(Code::Request, format!("instance {id}: {e}")))?;
        let kept = store.instance(id, &first, &super::handler::now())?;
        let state = State::from_json(&kept.state)
            .map_err(|p| Problem::new(Code::Request, format!("instance {id}: the data file's state: {}", p.message)))?;
        let (a, b) = (&state.instance, &seed.instance);
        if (a.kind, &a.owner_id, &a.region_id) != (b.kind, &b.owner_id, &b.region_id) {
            return Err(Problem::new(
                Code::Request,
                format!("instance {id}: the data file keeps it with another type, owner or region than the seed's"),
            ));
        }
        let due = match kept.due.as_deref().and_then(|d| OffsetDateTime::parse(d, &Rfc3339).ok()) {
            None if state.instance.status == Status::Enabling => {
                let minutes = state.instance.expected_enable_minutes.unwrap_or_default();
                Some(completion(OffsetDateTime::now_utc(), minutes, connect_wait))
            }
            kept => kept,
        };
        Ok(Instance { keeper, created: kept.created, live: Mutex::new(Live { state, due }) })
    }

    /// The state, once the clock's events up to now are applied and saved.
    pub fn read(&self, store: &Store) -> Result<MutexGuard<'_, Live>, Problem> {
        let mut live = self.lock();
        let now = OffsetDateTime::now_utc();
        let event = match live.state.instance.status {
            Status::Enabling if live.due.is_some_and(|due| due <= now) => Some(Action::CompleteEnable(NoParams {})),
            Status::Enabled if live.state.instance.expires_at.is_some_and(|end| end <= now) => {
                Some(Action::Expire(NoParams {}))
            }
            _ => None,
        };
        if let Some(action) = event {
            let request = Request { caller: "owner".into(), action, ram: None, region: None, credential: None };
            let env = Env { now, request_id: "clock".into(), latency_ms: 0 };
            let mut next = live.state.clone();
            // Each event is allowed in the status that raised it.
            if next.apply(&request, &env).is_ok() {
                let json = state_json(&next)?;
                let id = &next.instance.instance_id;
                store.save_instance(&Saved { id, state: &json, due: None })?;
                live.state = next;
                live.due = None;
            }
        }
        Ok(live)
    }

    /// What the rules decide of `request` at `env`, with nothing kept or saved (a request
    /// that changes nothing: DescribeKmsInstance).
    pub fn decide(&self, store: &Store, request: &Request, env: &Env) -> Result<Outcome, Unchanged> {
        let mut next = self.read(store)?.state.clone();
        next.apply(request, env).map_err(|r| Unchanged::Refused(Box::new(r)))
    }

    /// Applies `request` at `env` and, when the rules accept it, has `write` save the new
    /// state (with whatever else the request changes, in one transaction) before it is
    /// kept; `write` answers `None` when it found the change cannot be made after all, and
    /// wrote nothing (the state is not kept). A ConnectKmsInstance completes
    /// `connect_wait` later (None: the minutes R-LC-6 gives).
    pub fn change<T>(
        &self,
        store: &Store,
        request: &Request,
        env: &Env,
        connect_wait: Option<Duration>,
        write: impl FnOnce(&Outcome, &Saved<'_>) -> Result<Option<T>, Problem>,
    ) -> Result<(Outcome, Option<T>), Unchanged> {
        let mut live = self.read(store)?;
        let mut next = live.state.clone();
        let outcome = next.apply(request, env).map_err(|r| Unchanged::Refused(Box::new(r)))?;
        let due = match outcome.expected_enable_minutes {
            Some(minutes) => Some(completion(env.now, minutes, connect_wait)),
            None => live.due,
        };
        let json = state_json(&next)?;
        let due_text = due.and_then(|d| d.format(&Rfc3339).ok());
        let saved = Saved { id: &next.instance.instance_id, state: &json, due: due_text.as_deref() };
        let written = write(&outcome, &saved)?;
        if written.is_some() {
            live.state = next;
            live.due = due;
        }
        Ok((outcome, written))
    }

    /// Adds to the state every key the store keeps in this instance that the state does
    /// not have (the seed's, and keys made before the state was kept), in one save.
    pub fn adopt(&self, store: &Store) -> Result<(), Problem> {
        let mut live = self.lock();
        let id = live.state.instance.instance_id.clone();
        let mut state = live.state.clone();
        for kept in store.instance_keys(&id)? {
            if state.instance.keys.iter().any(|k| k.key_id == kept.id) {
                continue;
            }
            state.instance.keys.push(Key {
                key_id: kept.id,
                alias: kept.aliases.first().cloned().unwrap_or_default(),
                aliases: kept.aliases.get(1..).unwrap_or_default().to_vec(),
                creator: kept.account,
                protection: None,
                origin: Default::default(),
                deletion_protection: false,
                pending_deletion: kept.pending,
                rotation: false,
                tags: Default::default(),
            });
        }
        if state == live.state {
            return Ok(());
        }
        state
            .validate()
            .map_err(|p| Problem::new(Code::Request, format!("instance {id}: its kept keys: {}", p.message)))?;
        let json = state_json(&state)?;
        let due = live.due.and_then(|d| d.format(&Rfc3339).ok());
        store.save_instance(&Saved { id: &id, state: &json, due: due.as_deref() })?;
        live.state = state;
        Ok(())
    }

    /// Takes back the key `key_id` a CreateKey added (its keeper could not make it),
    /// saved by `write` with the key's row removed, in one transaction.
    pub fn forget_key(
        &self,
        key_id: &str,
        write: impl FnOnce(&Saved<'_>) -> Result<(), Problem>,
    ) -> Result<(), Problem> {
        let mut live = self.lock();
        let mut state = live.state.clone();
        state.instance.keys.retain(|k| k.key_id != key_id);
        let json = state_json(&state)?;
        let due = live.due.and_then(|d| d.format(&Rfc3339).ok());
        write(&Saved { id: &state.instance.instance_id, state: &json, due: due.as_deref() })?;
        live.state = state;
        Ok(())
    }
}

/// When a connection started at `now` completes: `connect_wait` later, or the minutes
/// R-LC-6 gives.
fn completion(now: OffsetDateTime, minutes: u32, connect_wait: Option<Duration>) -> OffsetDateTime {
    let wait = connect_wait.unwrap_or(Duration::from_secs(u64::from(minutes).saturating_mul(60)));
    now.saturating_add(time::Duration::try_from(wait).unwrap_or(time::Duration::MAX))
}

fn state_json(state: &State) -> Result<String, Problem> {
    state.to_json().map_err(|e| Problem::new(Code::BridgeUnavailable, format!("the state cannot be written: {e}")))
}
