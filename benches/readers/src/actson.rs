//! actson's event reader: each string copied into its buffer; the bytes read so far
//! known after every event and error.

use crate::fields::{field, missing, wrong_type};
use actson::feeder::SliceJsonFeeder;
use actson::{JsonEvent, JsonParser};

pub fn entries(text: &str) -> Result<usize, String> {
    let mut p = JsonParser::new(SliceJsonFeeder::new(text.as_bytes()));
    macro_rules! next {
        () => {
            match p.next_event() {
                Ok(Some(event)) => event,
                Ok(None) => return Err(format!("the text ends early, at byte {}", p.parsed_bytes())),
                Err(e) => return Err(format!("{e} at byte {}", p.parsed_bytes())),
            }
        };
    }
    if next!() != JsonEvent::StartArray {
        return Err("not an array".into());
    }
    let mut n = 0;
    loop {
        match next!() {
            JsonEvent::EndArray => break,
            JsonEvent::StartObject => {}
            _ => return Err(format!("entry {n}: not an object, at byte {}", p.parsed_bytes())),
        }
        let mut seen = [false; 4];
        loop {
            let f = match next!() {
                JsonEvent::EndObject => break,
                _ => field(n, p.current_str().map_err(|e| e.to_string())?)?,
            };
            let ok = match next!() {
                JsonEvent::ValueString => true,
                JsonEvent::ValueInt => f == 3 && p.current_int::<u64>().is_ok(),
                _ => false,
            };
            if !ok {
                return Err(wrong_type(n, f, format_args!("byte {}", p.parsed_bytes())));
            }
            seen[f] = true;
        }
        missing(n, seen)?;
        n += 1;
    }
    match p.next_event() {
        Ok(None) => Ok(n),
        Ok(Some(_)) => Err(format!("more after the array, at byte {}", p.parsed_bytes())),
        Err(e) => Err(format!("{e} at byte {}", p.parsed_bytes())),
    }
}
