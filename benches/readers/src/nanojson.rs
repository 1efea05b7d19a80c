//! nanojson's cursor (no derive): names and strings borrowed, or decoded into a scratch
//! buffer when they have escapes; an error at its byte offset.

use crate::fields::{field, missing, wrong_type};
use nanojson::{ParseError, Parser};

pub fn entries(text: &str) -> Result<usize, String> {
    let mut scratch = [0u8; 1024];
    let mut p = Parser::new(text.as_bytes(), &mut scratch);
    let error = |e: ParseError| format!("{:?} at byte {}", e.kind, e.offset);
    p.array_begin().map_err(error)?;
    let mut n = 0;
    while p.array_item().map_err(error)? {
        p.object_begin().map_err(error)?;
        let mut seen = [false; 4];
        while let Some(name) = p.member_decoded().map_err(error)? {
            let f = field(n, name)?;
            if p.is_string_ahead() {
                p.string().map_err(error)?;
            } else if f == 3 && p.is_number_ahead() {
                p.integer::<u64>().map_err(error)?;
            } else {
                return Err(wrong_type(n, f, format_args!("byte {}", p.error_offset())));
            }
            seen[f] = true;
        }
        p.object_end().map_err(error)?;
        missing(n, seen)?;
        n += 1;
    }
    p.array_end().map_err(error)?;
    p.finish().map_err(error)?;
    Ok(n)
}
