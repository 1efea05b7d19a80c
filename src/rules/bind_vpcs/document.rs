//! A BindVpcs document read as the rules need it and no further: serde_json's parser
//! drives a visitor that keeps each entry's four fields borrowed from the text (a
//! string with escapes is the only copy) and skips everything else, instead of
//! building a `serde_json::Value` tree. Anything the rules report on (a non-object
//! entry, a field of the wrong type, an unknown field) is kept as what it is, never an
//! error of the parse: the only parse errors are JSON's own.

use super::{Checker, FIELDS};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

/// One element of the array.
pub(super) enum Item<'a> {
    Object(Fields<'a>),
    NotObject,
}

/// The four fields of an entry, in [`FIELDS`] order (the last of a repeated name wins,
/// as in JSON objects generally), and the names of any others, sorted.
#[derive(Default)]
pub(super) struct Fields<'a> {
    pub values: [Option<Scalar<'a>>; 4],
    pub unknown: BTreeSet<Cow<'a, str>>,
}

/// A field's value, as far as the rules look into it.
pub(super) enum Scalar<'a> {
    Text(Cow<'a, str>),
    Number(Number),
    /// Any other JSON value: its kind, for the message.
    Other(&'static str),
}

/// Reads `text` into the checker entry by entry (an array, or anything else: R-BV-1);
/// a syntax error is serde_json's, with its line and column.
pub(super) fn read<'a>(text: &'a str, checker: &mut Checker<'a, '_>) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_any(Reader(checker))?;
    de.end()
}

/// The same for a value already parsed (a console passing an array).
pub(super) fn walk<'a>(value: &'a Value, checker: &mut Checker<'a, '_>) {
    let Value::Array(items) = value else {
        return checker.not_array();
    };
    for v in items {
        let item = match v {
            Value::Object(obj) => {
                let mut fields = Fields::default();
                for (name, v) in obj {
                    let scalar = match v {
                        Value::String(s) => Scalar::Text(Cow::Borrowed(s)),
                        Value::Number(n) => Scalar::Number(n.clone()),
                        other => Scalar::Other(kind_of_value(other)),
                    };
                    fields.set(Cow::Borrowed(name), scalar);
                }
                Item::Object(fields)
            }
            _ => Item::NotObject,
        };
        checker.item(item);
    }
}

impl<'a> Fields<'a> {
    fn set(&mut self, name: Cow<'a, str>, value: Scalar<'a>) {
        match FIELDS.iter().position(|f| *f == name).and_then(|i| self.values.get_mut(i)) {
            Some(slot) => *slot = Some(value),
            None => {
                self.unknown.insert(name);
            }
        }
    }
}

fn kind_of_value(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The visits of the scalars a visitor does not read into: each is its `other()`.
macro_rules! scalars_are_other {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(self.other())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(self.other())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(self.other())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(self.other())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(self.other())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(self.other())
        }
    };
}

/// The visitor of the whole document: each element goes to the checker as it is read.
struct Reader<'r, 'a, 'c>(&'r mut Checker<'a, 'c>);

impl<'de> Visitor<'de> for Reader<'_, 'de, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element()? {
            self.0.item(item);
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.0.not_array();
        Ok(())
    }
    scalars_are_other!();
}

impl Reader<'_, '_, '_> {
    fn other(self) {
        self.0.not_array()
    }
}

impl<'de> de::Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Item<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Fields::default();
                while let Some(Name(name)) = map.next_key()? {
                    let value = map.next_value()?;
                    fields.set(name, value);
                }
                Ok(Item::Object(fields))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Item::NotObject)
            }
            scalars_are_other!();
        }
        impl V {
            fn other(self) -> Item<'static> {
                Item::NotObject
            }
        }
        d.deserialize_any(V)
    }
}

/// A member name, borrowed unless it has escapes (serde's own `Cow` always copies).
struct Name<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> de::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(s.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Number(n.into()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
                // JSON has no NaN or infinity, so serde_json never gives one.
                Ok(Number::from_f64(n).map_or(Scalar::Other("a number"), Scalar::Number))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("an object"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("an array"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Other("a boolean"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Other("null"))
            }
        }
        d.deserialize_any(V)
    }
}
