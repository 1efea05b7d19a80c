//! `kms-instance serve`: a local endpoint of Alibaba Cloud KMS's API (version
//! `2016-01-20`) that Alibaba's own SDKs accept, for tests and development without a
//! cloud account. Both signatures (RPC v1 and V3) are verified; accounts, AccessKeys,
//! instances and keys with fixed ids and material come from a seed file ([`seed`]); the
//! state is an embedded SQLite database ([`store`]); a hardware or external instance's
//! keys are on its token or behind its proxy ([`keeper`]); [`handler`] answers a
//! request and [`crate::serving`] is the HTTP side (TLS, bounds, logs).

pub mod handler;
pub mod instances;
pub mod keeper;
pub mod seed;
pub mod store;

use crate::code::{Code, Problem};
use crate::serving::{Bounds, Handled, Service, Tls};
use crate::xks::sigv4::SignedRequest;
use handler::{Endpoint, Settings};
use instances::Instance;
use keeper::Keeper;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// What `serve` is told.
pub struct Options {
    /// Where to listen (a loopback address unless TLS is given).
    pub listen: SocketAddr,
    /// The seed file, read.
    pub seed: seed::Seed,
    /// The SQLite file, or `None` for a store in memory.
    pub data: Option<PathBuf>,
    /// The key that seals key material in the store.
    pub master_key: Zeroizing<[u8; 32]>,
    /// TLS, or plain HTTP.
    pub tls: Option<Tls>,
    /// Requests one AccessKey may make in one second.
    pub requests_per_second: u32,
    /// The keeper of each hardware or external instance of the seed, by instance id.
    pub keepers: HashMap<String, Keeper>,
    /// How long a ConnectKmsInstance takes; `None`, the minutes R-LC-6 gives.
    pub connect_wait: Option<std::time::Duration>,
    /// The web origin whose pages may call the endpoint (CORS), if any.
    pub cors: Option<String>,
}

/// Requests one AccessKey may make in one second unless told otherwise.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 100_000;

#[async_trait::async_trait]
impl Service for Endpoint {
    const NAME: &'static str = "serve";

    fn tls(&self) -> Option<&Tls> {
        self.settings().tls.as_ref()
    }

    fn bounds(&self) -> Bounds {
        self.settings().bounds
    }

    /// Answered on the worker: what may wait (an fsync, a token, a proxy) marks itself
    /// `blocking`; the rest takes microseconds (marking every request cost a third of
    /// the throughput and tripled p99 at 64 connections: docs/performance.md).
    async fn handle(&self, request: &SignedRequest<'_>) -> Handled {
        Endpoint::handle(self, request)
    }

    fn unread(&self, _path: &str, too_large: Option<usize>) -> Handled {
        Endpoint::unread(self, too_large)
    }

    fn cors(&self) -> Option<&str> {
        self.settings().cors.as_deref()
    }
}

/// Runs `work`, which may wait (an fsync, a lock a writer holds, a token, a proxy), with
/// the worker marked blocking when on the server's runtime, so the runtime moves its
/// other connections to another worker meanwhile; elsewhere (a bench, a test) as it is.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// The endpoint of `options`: the store opened, the seed's keys added where missing.
pub fn endpoint(options: Options) -> Result<Endpoint, Problem> {
    if options.tls.is_none() && !options.listen.ip().is_loopback() {
        return Err(Problem::new(
            Code::Request,
            "plain HTTP is served on a loopback address only: give a TLS certificate",
        ));
    }
    let store = store::Store::open(options.data.as_deref(), options.master_key)?;
    let seed = options.seed;
    let mut keepers = options.keepers;
    let mut instances = std::collections::BTreeMap::new();
    for instance in seed.instances {
        let id = instance.state.instance.instance_id.clone();
        let keeper = keepers.remove(&id);
        let kind = instance.state.instance.kind;
        if keeper.is_some() != (kind != crate::rules::model::instance::InstanceType::Software) {
            return Err(Problem::new(
                Code::Request,
                format!("instance {id}: no keeper for its keys, or one it has no use for"),
            ));
        }
        instances.insert(id, Instance::open(&store, &instance.state, keeper, options.connect_wait)?);
    }
    for key in &seed.keys {
        let keeper = key.instance.as_ref().and_then(|i| instances.get(i)).and_then(|i| i.keeper.as_ref());
        if let Some(keeper) = keeper {
            let arn = handler::key_arn(&seed.region, &key.account, &key.id)?;
            keeper.make(&arn).map_err(|p| Problem::new(p.code, format!("seed key {}: {}", key.id, p.message)))?;
        }
        let material = match &key.material {
            Some(text) => seed::material(text)
                .ok_or_else(|| Problem::new(Code::Request, "a seed key's material is not 32 bytes"))?,
            None if keeper.is_some() => Zeroizing::new(Vec::new()),
            None => {
                let mut random = Zeroizing::new(vec![0u8; 32]);
                crate::platform::os_random(&mut random)?;
                random
            }
        };
        let row = store::Key {
            id: key.id.clone(),
            account: key.account.clone(),
            state: if key.enabled { store::KeyState::Enabled } else { store::KeyState::Disabled },
            spec: "Aliyun_AES_256".into(),
            usage: "ENCRYPT/DECRYPT".into(),
            origin: Keeper::kind_of(keeper).1.into(),
            protection: Keeper::kind_of(keeper).0.into(),
            description: key.description.clone(),
            created: handler::now(),
            deletion: None,
            instance: key.instance.clone(),
            version: format!("{}-v1", key.id),
            material,
        };
        // A key the store has kept from an earlier start must still be the seed's: moved
        // to another instance or kind, its blobs would open elsewhere, or nowhere.
        if !store.insert(&row, &key.aliases, None)? {
            let kept = store.key(&key.account, &key.id)?;
            let same = kept.as_ref().is_some_and(|k| {
                (&k.account, &k.instance, &k.protection, &k.origin)
                    == (&row.account, &row.instance, &row.protection, &row.origin)
            });
            if !same {
                return Err(Problem::new(
                    Code::Request,
                    format!("seed key {}: the data file keeps it with another account, instance or kind", key.id),
                ));
            }
        }
    }
    // Every key the store keeps in an instance is in its state too (the rules count them):
    // the seed's, made above, and any made before the state was kept.
    for instance in instances.values() {
        instance.adopt(&store)?;
    }
    let credentials: HashMap<String, handler::Credential> = seed
        .accounts
        .iter()
        .flat_map(|a| {
            a.access_keys.iter().map(|k| {
                let credential = handler::Credential {
                    secret: k.secret.clone(),
                    account: a.id.clone(),
                    ram: k.ram.clone(),
                    operator: false,
                };
                (k.id.clone(), credential)
            })
        })
        .chain(seed.operators.iter().map(|k| {
            let credential =
                handler::Credential { secret: k.secret.clone(), account: String::new(), ram: None, operator: true };
            (k.id.clone(), credential)
        }))
        .collect();
    let bounds =
        Bounds { max_body_bytes: 64 << 10, header_timeout_ms: 5_000, max_connections: 4_096, shutdown_grace_ms: 5_000 };
    let settings = Settings {
        region: seed.region,
        credentials,
        tls: options.tls,
        bounds,
        requests_per_second: options.requests_per_second,
        instances,
        network: seed.network,
        connect_wait: options.connect_wait,
        cors: options.cors,
    };
    Ok(Endpoint::new(store, settings))
}

/// Serves `options` until SIGTERM or Ctrl-C ([`crate::serving::run`]: the first line on
/// standard output says where).
pub fn run(options: Options) -> Result<(), Problem> {
    let listen = options.listen;
    crate::serving::run(endpoint(options)?, listen)
}
