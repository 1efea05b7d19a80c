//! jiter's pull reader (pydantic's; no big integers): strings borrowed, an error at its
//! byte offset, each value's offset known.

use crate::fields::{field, missing, wrong_type};
use jiter::{Jiter, JiterError, Peek};

pub fn entries(text: &str) -> Result<usize, String> {
    let mut p = Jiter::new(text.as_bytes());
    let error = |e: JiterError| format!("{} at byte {}", e.error_type, e.index);
    let mut item = p.next_array().map_err(error)?;
    let mut n = 0;
    while let Some(peek) = item {
        if peek != Peek::Object {
            return Err(format!("entry {n}: not an object, at byte {}", p.current_index()));
        }
        let mut seen = [false; 4];
        let mut name = p.known_object().map_err(error)?.map(|k| field(n, k));
        while let Some(f) = name {
            let f = f?;
            match p.peek().map_err(error)? {
                Peek::String => {
                    p.known_str().map_err(error)?;
                }
                peek if f == 3 && peek.is_num() && peek != Peek::Minus => {
                    p.known_int(peek).map_err(error)?;
                }
                _ => return Err(wrong_type(n, f, format_args!("byte {}", p.current_index()))),
            }
            seen[f] = true;
            name = p.next_key().map_err(error)?.map(|k| field(n, k));
        }
        missing(n, seen)?;
        n += 1;
        item = p.array_step().map_err(error)?;
    }
    p.finish().map_err(error)?;
    Ok(n)
}
