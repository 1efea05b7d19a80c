//! Data-key caching, as the Encryption SDK's caching key manager does it: a data key
//! is reused for at most `max_messages` messages, `max_bytes` bytes of plaintext and
//! `max_age`, per (providers, set of keys, algorithm, context). Off unless a cache is
//! passed.
//!
//! The providers are part of the key: two providers may name the same ARN for
//! different material, and a data key wrapped by one must never be handed to a seal
//! under the other (its message would not open with the keys that sealed it).
//!
//! An entry that reaches a limit is dropped at once (and its key wiped); expired entries
//! are dropped, oldest first, whenever the cache is used or counted, so no key serves
//! past its limits. The cache holds at most `max_entries` keys (the oldest goes first),
//! and a lookup is a hash-map look-up, however many it holds. Only encryption is cached.

use super::{context_bytes, Algorithm, EncryptionContext, KeyArn, KeyProvider, Materials, ProviderId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Data keys a cache holds unless [`CacheLimits::max_entries`] says otherwise.
pub const DEFAULT_MAX_ENTRIES: usize = 1_000;

/// How long a cached data key may serve: each limit ends its use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Messages one data key may seal.
    pub max_messages: u64,
    /// Plaintext bytes one data key may seal, all messages together.
    pub max_bytes: u64,
    /// How long after it was made a data key may still seal.
    pub max_age: Duration,
    /// Data keys held at once (different providers, keys, algorithms or contexts); the
    /// oldest is dropped for a new one past it. [`DEFAULT_MAX_ENTRIES`] is a sound choice.
    pub max_entries: usize,
}

/// The time now, on whatever clock the host has (wasm has no system clock).
pub type Clock = Box<dyn Fn() -> Duration + Send + Sync>;

#[derive(PartialEq, Eq, Hash, Clone)]
struct CacheKey {
    providers: Vec<ProviderId>,
    keys: Vec<String>,
    algorithm: Algorithm,
    context: Vec<u8>,
}

impl CacheKey {
    fn new(providers: &[&dyn KeyProvider], keys: &[KeyArn], algorithm: Algorithm, context: &EncryptionContext) -> Self {
        let providers = providers.iter().map(|p| p.id()).collect();
        let mut keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
        keys.sort();
        keys.dedup();
        CacheKey { providers, keys, algorithm, context: context_bytes(context) }
    }
}

struct Entry {
    materials: Arc<Materials>,
    created: Duration,
    /// Its place in [`Entries::by_age`].
    order: u64,
    messages: u64,
    bytes: u64,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<CacheKey, Entry, foldhash::fast::RandomState>,
    /// The keys in the order they were made: the oldest is the first to expire or go.
    by_age: BTreeMap<u64, CacheKey>,
    next: u64,
}

impl Entries {
    fn remove(&mut self, key: &CacheKey) {
        if let Some(entry) = self.by_key.remove(key) {
            self.by_age.remove(&entry.order);
        }
    }

    fn remove_oldest(&mut self) {
        if let Some((_, key)) = self.by_age.pop_first() {
            self.by_key.remove(&key);
        }
    }

    fn oldest(&self) -> Option<&Entry> {
        let (_, key) = self.by_age.first_key_value()?;
        self.by_key.get(key)
    }
}

/// Data keys reused within [`CacheLimits`], per (providers, keys, algorithm, context);
/// shared by the encryptions that pass it.
pub struct DataKeyCache {
    limits: CacheLimits,
    clock: Clock,
    entries: Mutex<Entries>,
}

impl std::fmt::Debug for DataKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKeyCache").field("limits", &self.limits).field("entries", &self.len()).finish()
    }
}

impl DataKeyCache {
    /// A cache on the platform's clock (the host's `Date.now()` in wasm).
    pub fn new(limits: CacheLimits) -> Self {
        Self::with_clock(limits, Box::new(crate::platform::now))
    }

    /// A cache on the given clock (tests set the time).
    pub fn with_clock(limits: CacheLimits, clock: Clock) -> Self {
        DataKeyCache { limits, clock, entries: Mutex::new(Entries::default()) }
    }

    /// Keys held now: those past their age are dropped (and wiped) first.
    pub fn len(&self) -> usize {
        self.live().by_key.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether an entry made at `created` may still serve at `now`.
    fn fresh(&self, created: Duration, now: Duration) -> bool {
        now.saturating_sub(created) < self.limits.max_age
    }

    /// The entries, locked, with those past their age dropped (and their keys wiped),
    /// oldest first: every use of the cache goes through here.
    fn live(&self) -> std::sync::MutexGuard<'_, Entries> {
        let now = (self.clock)();
        // A panic elsewhere cannot leave an entry half-updated: recover the entries.
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        while entries.oldest().is_some_and(|e| !self.fresh(e.created, now)) {
            entries.remove_oldest();
        }
        entries
    }

    /// A cached data key for one more message of `bytes` bytes under `providers`, if
    /// one may serve it.
    pub(crate) fn take(
        &self,
        providers: &[&dyn KeyProvider],
        keys: &[KeyArn],
        algorithm: Algorithm,
        context: &EncryptionContext,
        bytes: u64,
    ) -> Option<Arc<Materials>> {
        let key = CacheKey::new(providers, keys, algorithm, context);
        let now = (self.clock)();
        let mut entries = self.live();
        let e = entries.by_key.get_mut(&key)?;
        let (messages, total) = (e.messages.saturating_add(1), e.bytes.saturating_add(bytes));
        // A clock set back can leave a stale entry behind a younger one: check its own age too.
        if e.messages >= self.limits.max_messages || total > self.limits.max_bytes || !self.fresh(e.created, now) {
            entries.remove(&key);
            return None;
        }
        (e.messages, e.bytes) = (messages, total);
        let materials = Arc::clone(&e.materials);
        if messages >= self.limits.max_messages || total >= self.limits.max_bytes {
            entries.remove(&key);
        }
        Some(materials)
    }

    /// Keeps a new data key that has just served one message of `bytes` bytes under
    /// `providers`, unless that message already used it up; the oldest key goes when
    /// the cache is full.
    pub(crate) fn put(
        &self,
        providers: &[&dyn KeyProvider],
        keys: &[KeyArn],
        algorithm: Algorithm,
        context: &EncryptionContext,
        materials: Arc<Materials>,
        bytes: u64,
    ) {
        let limits = &self.limits;
        if limits.max_messages <= 1 || bytes >= limits.max_bytes || limits.max_age.is_zero() || limits.max_entries == 0
        {
            return;
        }
        let key = CacheKey::new(providers, keys, algorithm, context);
        let mut entries = self.live();
        entries.remove(&key);
        while entries.by_key.len() >= limits.max_entries {
            entries.remove_oldest();
        }
        let order = entries.next;
        entries.next = order.saturating_add(1);
        entries.by_age.insert(order, key.clone());
        entries.by_key.insert(key, Entry { materials, created: (self.clock)(), order, messages: 1, bytes });
    }
}
