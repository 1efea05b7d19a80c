//! Data-key caching, as the Encryption SDK's caching key manager does it: a data key
//! is reused for at most `max_messages` messages, `max_bytes` bytes of plaintext and
//! `max_age`, per (set of keys, algorithm, context). Off unless a cache is passed.
//!
//! An entry that reaches a limit is dropped at once (and its key wiped); expired entries
//! are dropped whenever the cache is used or counted, so no key serves past its limits
//! (an expired one stays in memory until then, or until the cache is dropped).
//! Only encryption is cached.

use super::{context_bytes, Algorithm, EncryptionContext, KeyArn, Materials};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a cached data key may serve: each limit ends its use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Messages one data key may seal.
    pub max_messages: u64,
    /// Plaintext bytes one data key may seal, all messages together.
    pub max_bytes: u64,
    /// How long after it was made a data key may still seal.
    pub max_age: Duration,
}

/// The time now, on whatever clock the host has (wasm has no system clock).
pub type Clock = Box<dyn Fn() -> Duration + Send + Sync>;

#[derive(PartialEq, Eq)]
struct CacheKey {
    keys: Vec<String>,
    algorithm: Algorithm,
    context: Vec<u8>,
}

impl CacheKey {
    fn new(keys: &[KeyArn], algorithm: Algorithm, context: &EncryptionContext) -> Self {
        let mut keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
        keys.sort();
        keys.dedup();
        CacheKey { keys, algorithm, context: context_bytes(context) }
    }
}

struct Entry {
    key: CacheKey,
    materials: Arc<Materials>,
    created: Duration,
    messages: u64,
    bytes: u64,
}

/// Data keys reused within [`CacheLimits`], per (keys, algorithm, context); shared by the encryptions that pass it.
pub struct DataKeyCache {
    limits: CacheLimits,
    clock: Clock,
    entries: Mutex<Vec<Entry>>,
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
        DataKeyCache { limits, clock, entries: Mutex::new(Vec::new()) }
    }

    /// Keys held now: those past their age are dropped (and wiped) first.
    pub fn len(&self) -> usize {
        self.live().len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries, locked, with those past their age dropped (and their keys wiped):
    /// every use of the cache goes through here, so none sees an expired key.
    fn live(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        let now = (self.clock)();
        // A panic elsewhere cannot leave an entry half-updated: recover the list.
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| now.saturating_sub(e.created) < self.limits.max_age);
        entries
    }

    /// A cached data key for one more message of `bytes` bytes, if one may serve it.
    pub(crate) fn take(
        &self,
        keys: &[KeyArn],
        algorithm: Algorithm,
        context: &EncryptionContext,
        bytes: u64,
    ) -> Option<Arc<Materials>> {
        let key = CacheKey::new(keys, algorithm, context);
        let mut entries = self.live();
        let i = entries.iter().position(|e| e.key == key)?;
        let e = entries.get_mut(i)?;
        let (messages, total) = (e.messages.saturating_add(1), e.bytes.saturating_add(bytes));
        if e.messages >= self.limits.max_messages || total > self.limits.max_bytes {
            entries.remove(i);
            return None;
        }
        (e.messages, e.bytes) = (messages, total);
        let materials = Arc::clone(&e.materials);
        if messages >= self.limits.max_messages || total >= self.limits.max_bytes {
            entries.remove(i);
        }
        Some(materials)
    }

    /// Keeps a new data key that has just served one message of `bytes` bytes, unless
    /// that message already used it up.
    pub(crate) fn put(
        &self,
        keys: &[KeyArn],
        algorithm: Algorithm,
        context: &EncryptionContext,
        materials: Arc<Materials>,
        bytes: u64,
    ) {
        if self.limits.max_messages <= 1 || bytes >= self.limits.max_bytes || self.limits.max_age.is_zero() {
            return;
        }
        let key = CacheKey::new(keys, algorithm, context);
        let mut entries = self.live();
        entries.retain(|e| e.key != key);
        entries.push(Entry { key, materials, created: (self.clock)(), messages: 1, bytes });
    }
}
