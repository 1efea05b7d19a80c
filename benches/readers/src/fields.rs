//! The fields of an entry, and the messages every reader gives of them.

/// The four fields of an entry.
const FIELDS: [&str; 4] = ["VpcId", "VSwitchId", "RegionId", "VpcOwnerId"];

/// The index of a field's name, or the message for an unknown one.
pub fn field(entry: usize, name: &str) -> Result<usize, String> {
    FIELDS.iter().position(|f| *f == name).ok_or_else(|| format!("entry {entry}: unknown field {name}"))
}

/// The message for a field missing from an entry, if one is.
pub fn missing(entry: usize, seen: [bool; 4]) -> Result<(), String> {
    match seen.iter().position(|s| !s) {
        Some(i) => Err(format!("entry {entry}: {} is missing", FIELDS[i])),
        None => Ok(()),
    }
}

/// The message for a field of the wrong type, at `at` (a reader's own words for where).
pub fn wrong_type(entry: usize, field: usize, at: impl std::fmt::Display) -> String {
    format!("entry {entry}: {} has the wrong type at {at}", FIELDS[field])
}
