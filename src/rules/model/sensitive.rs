//! A value a request carries that must never be shown (a password, an AccessKey
//! secret): written as `****`, and never quoted in an error, whatever its shape.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A value that must never be shown: a password or an AccessKey secret. It is written
/// as `****`, and when it is not a string the error says so without quoting it.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), serde(transparent))]
pub struct Sensitive(pub String);

impl<'de> Deserialize<'de> for Sensitive {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SensitiveVisitor)
    }
}

/// Accepts a string and nothing else. serde's default answers quote the value they did
/// not expect (`invalid type: integer `1234``), so every other shape is refused here
/// with a message of its own.
struct SensitiveVisitor;

fn not_shown<E: serde::de::Error>() -> E {
    E::custom("expected a string (the value is a secret: it is not shown)")
}

impl<'de> serde::de::Visitor<'de> for SensitiveVisitor {
    type Value = Sensitive;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Sensitive, E> {
        Ok(Sensitive(v.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Sensitive, E> {
        Ok(Sensitive(v))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Sensitive, E> {
        Err(not_shown())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Sensitive, A::Error> {
        Err(not_shown())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Sensitive, A::Error> {
        Err(not_shown())
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sensitive(****)")
    }
}

impl Serialize for Sensitive {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("****")
    }
}
