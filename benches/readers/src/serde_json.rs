//! serde_json, the validate module's reader (the reference), through a derive here where
//! the package drives it with a visitor of its own: strings borrowed where they have no
//! escape; an error says its line and column.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, dead_code)]
struct Entry<'a> {
    #[serde(borrow)]
    VpcId: Cow<'a, str>,
    #[serde(borrow)]
    VSwitchId: Cow<'a, str>,
    #[serde(borrow)]
    RegionId: Cow<'a, str>,
    #[serde(borrow)]
    VpcOwnerId: Owner<'a>,
}

/// A string or an integer, read as it comes (no `serde_json::Value`).
#[allow(dead_code)]
enum Owner<'a> {
    Text(Cow<'a, str>),
    Number(u64),
}

impl<'de: 'a, 'a> Deserialize<'de> for Owner<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Owner<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Owner<'de>, E> {
                Ok(Owner::Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Owner<'de>, E> {
                Ok(Owner::Text(Cow::Owned(s.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Owner<'de>, E> {
                Ok(Owner::Number(n))
            }
        }
        d.deserialize_any(V)
    }
}

pub fn entries(text: &str) -> Result<usize, String> {
    serde_json::from_str::<Vec<Entry>>(text).map(|v| v.len()).map_err(|e| e.to_string())
}
