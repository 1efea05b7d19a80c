//! serde_json, the validate module's reader (the reference), driven as the package drives
//! it: a visitor over the entries that keeps nothing but what it checks, member names
//! borrowed where they have no escape; an error says its line and column. `Name` and
//! `Scalar` are the package's (src/rules/bind_vpcs/document.rs), repeated on purpose: this
//! crate stands alone, so that the module holds the reader and nothing else.

use crate::fields::{field, missing, wrong_type};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

pub fn entries(text: &str) -> Result<usize, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let n = de.deserialize_seq(Entries).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(n)
}

/// The array: its entries counted, each checked as it is read.
struct Entries;

impl<'de> Visitor<'de> for Entries {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of entries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while seq.next_element_seed(Entry(n))?.is_some() {
            n += 1;
        }
        Ok(n)
    }
}

/// One entry, the `n`th: its four fields, of their types, and no other.
struct Entry(usize);

impl<'de> DeserializeSeed<'de> for Entry {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Entry {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an entry")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = [false; 4];
        while let Some(Name(name)) = map.next_key()? {
            let f = field(self.0, &name).map_err(de::Error::custom)?;
            let ok = match map.next_value::<Scalar>()? {
                Scalar::Text => true,
                Scalar::Integer => f == 3,
                Scalar::Other => false,
            };
            if !ok {
                return Err(de::Error::custom(wrong_type(self.0, f, "its value")));
            }
            seen[f] = true;
        }
        missing(self.0, seen).map_err(de::Error::custom)
    }
}

/// A member name, borrowed unless it has escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A field's value, as far as the checks look into it.
enum Scalar {
    Text,
    Integer,
    Other,
}

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Scalar, E> {
                Ok(Scalar::Integer)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}
