//! One JSON reader doing the validate module's reading, built alone into a wasm module
//! (one feature a build): the BindVpcs document's entries, each an object of the four
//! fields (three strings; `VpcOwnerId` a string or an integer), anything else refused
//! with the reader's own message and, where the reader gives one, its position. What
//! each module costs, in bytes and time, is the reader's: the rest is the same in all.

use wasm_bindgen::prelude::*;

// One reader a build: with none or two, the build fails saying so, in these words.
const READERS: usize = cfg!(feature = "none") as usize
    + cfg!(feature = "serde_json") as usize
    + cfg!(feature = "jiter") as usize
    + cfg!(feature = "bufjson") as usize
    + cfg!(feature = "nanojson") as usize
    + cfg!(feature = "actson") as usize;
const _: () = assert!(
    READERS == 1,
    "build with exactly one reader feature: none, serde_json, jiter, bufjson, nanojson or actson"
);

#[cfg(not(feature = "none"))]
mod fields;

#[cfg(feature = "none")]
#[path = "none.rs"]
mod reader;
#[cfg(feature = "serde_json")]
#[path = "serde_json.rs"]
mod reader;
#[cfg(feature = "jiter")]
#[path = "jiter.rs"]
mod reader;
#[cfg(feature = "bufjson")]
#[path = "bufjson.rs"]
mod reader;
#[cfg(feature = "nanojson")]
#[path = "nanojson.rs"]
mod reader;
#[cfg(feature = "actson")]
#[path = "actson.rs"]
mod reader;

/// The indexes of the entries as a JSON array (the report's `vpcsAt`), or
/// `{"error": message}`.
#[wasm_bindgen]
pub fn check(bytes: &[u8]) -> String {
    let read = std::str::from_utf8(bytes).map_err(|e| e.to_string()).and_then(reader::entries);
    match read {
        Ok(n) => {
            let indexes: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            format!("[{}]", indexes.join(","))
        }
        Err(message) => format!("{{\"error\":{message:?}}}"),
    }
}
