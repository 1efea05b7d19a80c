//! Where in a text a problem is: the line and column an editor shows, and the byte and
//! UTF-16 ranges it underlines (a Rust `&str` counts bytes, a JavaScript string UTF-16
//! code units; both are given so neither side converts).
//!
//! A report names a field by its JSON pointer (`/0/VpcId`); [`Locator`] finds that
//! pointer in the JSON text it came from. It runs only when there are problems to
//! place, over text the parser has already accepted, so it scans for spans without
//! checking the grammar again.

use serde::Serialize;

/// A range of a text, with where it starts as people count.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    /// The 1-based line of the start.
    pub line: usize,
    /// The 1-based column of the start, in UTF-16 code units (as JavaScript strings,
    /// browsers' text fields and the Language Server Protocol count).
    pub column: usize,
    /// The byte offset of the start in the UTF-8 text.
    pub start: usize,
    /// The byte offset just past the end.
    pub end: usize,
    /// The start as a UTF-16 offset (`textarea.setSelectionRange` takes these).
    pub utf16_start: usize,
    /// The end as a UTF-16 offset.
    pub utf16_end: usize,
}

/// `line:column`, as compilers print a place after the file's name.
impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// The places of byte ranges of `text`, in one pass over it however many there are.
/// An offset inside a character or past the end is taken as the next boundary.
pub fn places(text: &str, ranges: &[(usize, usize)]) -> Vec<Place> {
    let mut offsets: Vec<(usize, usize)> =
        ranges.iter().flat_map(|&(s, e)| [s, e.max(s)]).enumerate().map(|(i, o)| (o, i)).collect();
    offsets.sort_unstable();
    // (line, column, UTF-16 offset) for each offset, in `offsets`' original order.
    let mut found = vec![(1, 1, 0); offsets.len()];
    let (mut line, mut column, mut utf16) = (1usize, 1usize, 0usize);
    let mut pending = offsets.iter().peekable();
    for (at, c) in text.char_indices().chain(std::iter::once((text.len(), '\0'))) {
        while let Some(&&(offset, i)) = pending.peek() {
            if offset > at && at < text.len() {
                break;
            }
            if let Some(slot) = found.get_mut(i) {
                *slot = (line, column, utf16);
            }
            pending.next();
        }
        let units = c.len_utf16();
        utf16 = utf16.saturating_add(units);
        if c == '\n' {
            (line, column) = (line.saturating_add(1), 1);
        } else {
            column = column.saturating_add(units);
        }
    }
    let mut found = found.into_iter();
    ranges
        .iter()
        .map(|&(start, end)| {
            let ((line, column, utf16_start), (_, _, utf16_end)) =
                (found.next().unwrap_or((1, 1, 0)), found.next().unwrap_or((1, 1, 0)));
            let (start, end) = (start.min(text.len()), end.max(start).min(text.len()));
            Place { line, column, start, end, utf16_start, utf16_end }
        })
        .collect()
}

/// The byte offset of serde_json's 1-based line and byte column in `text`.
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start =
        text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).fold(0, usize::saturating_add);
    line_start.saturating_add(column.saturating_sub(1)).min(text.len())
}

/// Where serde_json stopped reading `text`: the character its error's line and column
/// name. `None` for an error of a value already parsed (it has no line).
pub fn of_json_error(text: &str, error: &serde_json::Error) -> Option<Place> {
    if error.line() == 0 {
        return None;
    }
    char_at(text, offset_of(text, error.line(), error.column()))
}

/// The place of the character at byte `offset` (empty at the end): where a syntax error is.
pub fn char_at(text: &str, offset: usize) -> Option<Place> {
    let len = text.get(offset..).and_then(|rest| rest.chars().next()).map_or(0, char::len_utf8);
    places(text, &[(offset, offset.saturating_add(len))]).pop()
}

/// What of a member a pointer's place is: its value, or its name (an unknown field is
/// wrong by its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The member's value, or the element.
    Value,
    /// The member's name, quotes included.
    Name,
}

/// Finds JSON pointers in one JSON text. The top-level array's elements are indexed on
/// first use, so placing many problems of a long array costs one pass and then each
/// entry's own length.
pub struct Locator<'t> {
    text: &'t [u8],
    elements: Option<Vec<usize>>,
}

impl<'t> Locator<'t> {
    /// A locator for `text`, which the parser accepted as JSON.
    pub fn new(text: &'t str) -> Self {
        Locator { text: text.as_bytes(), elements: None }
    }

    /// The byte range of what `pointer` names. Where the text lacks it (a missing field,
    /// an element past the end), the opening bracket of the deepest value that exists.
    pub fn range(&mut self, pointer: &str, target: Target) -> (usize, usize) {
        let segments: Vec<String> = pointer.split('/').skip(1).map(unescape).collect();
        let root = skip_ws(self.text, 0);
        if let (Some(first), Some(b'[')) = (segments.first(), self.text.get(root)) {
            if let Ok(i) = first.parse::<usize>() {
                let starts = self.elements.get_or_insert_with(|| elements(self.text, root));
                return match starts.get(i) {
                    Some(&at) => descend(self.text, at, segments.get(1..).unwrap_or_default(), target),
                    None => (root, root.saturating_add(1)),
                };
            }
        }
        descend(self.text, root, &segments, target)
    }
}

/// RFC 6901: `~1` is `/` and `~0` is `~` in a pointer's segment.
fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

fn skip_ws(b: &[u8], mut at: usize) -> usize {
    while matches!(b.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at = at.saturating_add(1);
    }
    at
}

/// Past the value starting at `at` (which is not whitespace).
fn skip_value(b: &[u8], at: usize) -> usize {
    match b.get(at) {
        Some(b'"') => skip_string(b, at),
        Some(b'[' | b'{') => {
            let (mut depth, mut at) = (0usize, at);
            while let Some(&c) = b.get(at) {
                match c {
                    b'"' => {
                        at = skip_string(b, at);
                        continue;
                    }
                    b'[' | b'{' => depth = depth.saturating_add(1),
                    b']' | b'}' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return at.saturating_add(1);
                        }
                    }
                    _ => {}
                }
                at = at.saturating_add(1);
            }
            at
        }
        _ => {
            let mut at = at;
            while b.get(at).is_some_and(|c| !matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')) {
                at = at.saturating_add(1);
            }
            at
        }
    }
}

/// Past the string whose opening quote is at `at`.
fn skip_string(b: &[u8], at: usize) -> usize {
    let mut at = at.saturating_add(1);
    while let Some(&c) = b.get(at) {
        match c {
            b'\\' => at = at.saturating_add(2),
            b'"' => return at.saturating_add(1),
            _ => at = at.saturating_add(1),
        }
    }
    at
}

/// The members or elements of the container at `at`: for each, its name's range (none
/// in an array) and where its value starts.
fn children(b: &[u8], at: usize) -> Vec<(Option<(usize, usize)>, usize)> {
    let object = b.get(at) == Some(&b'{');
    let mut out = Vec::new();
    let mut at = skip_ws(b, at.saturating_add(1));
    while let Some(&c) = b.get(at) {
        if matches!(c, b']' | b'}') {
            break;
        }
        let name = if object {
            let end = skip_string(b, at);
            let name = (at, end);
            at = skip_ws(b, end).saturating_add(1); // past the colon
            Some(name)
        } else {
            None
        };
        let value = skip_ws(b, at);
        out.push((name, value));
        at = skip_ws(b, skip_value(b, value));
        if b.get(at) == Some(&b',') {
            at = skip_ws(b, at.saturating_add(1));
        }
    }
    out
}

fn elements(b: &[u8], at: usize) -> Vec<usize> {
    children(b, at).into_iter().map(|(_, value)| value).collect()
}

/// Whether the JSON string at `range` says `name`.
fn names(b: &[u8], range: (usize, usize), name: &str) -> bool {
    let Some(raw) = b.get(range.0..range.1) else { return false };
    match raw.contains(&b'\\') {
        false => raw.get(1..raw.len().saturating_sub(1)) == Some(name.as_bytes()),
        true => serde_json::from_slice::<String>(raw).is_ok_and(|s| s == name),
    }
}

fn descend(b: &[u8], at: usize, segments: &[String], target: Target) -> (usize, usize) {
    let Some((segment, rest)) = segments.split_first() else {
        return (at, skip_value(b, at));
    };
    let here = (at, at.saturating_add(1));
    let found = match b.get(at) {
        Some(b'[') => segment.parse::<usize>().ok().and_then(|i| children(b, at).get(i).copied()),
        // The last member of a repeated name is the one JSON objects keep.
        Some(b'{') => children(b, at).into_iter().rev().find(|(n, _)| n.is_some_and(|n| names(b, n, segment))),
        _ => None,
    };
    match found {
        Some((Some(name), _)) if rest.is_empty() && target == Target::Name => name,
        Some((_, value)) => descend(b, value, rest, target),
        None => here,
    }
}

/// The JSON pointer of the place `serde_path_to_error` reports (`/steps/3/action`).
pub fn pointer_of(path: &serde_path_to_error::Path) -> String {
    path.iter()
        .map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => format!("/{index}"),
            serde_path_to_error::Segment::Map { key } => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            _ => String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of<'a>(text: &'a str, pointer: &str, target: Target) -> &'a str {
        let (s, e) = Locator::new(text).range(pointer, target);
        &text[s..e]
    }

    #[test]
    fn a_pointer_is_found_where_it_is_written() {
        let text = r#" [ {"VpcId": "vpc-1", "a/b": [1, {"x": "}"}], "VpcId": "vpc-2"}, "s\"]", {"Vpc\u0049d": 7} ] "#;
        assert_eq!(text_of(text, "/0/VpcId", Target::Value), r#""vpc-2""#);
        assert_eq!(text_of(text, "/0/VpcId", Target::Name), r#""VpcId""#);
        assert_eq!(text_of(text, "/0/a~1b/1/x", Target::Value), r#""}""#);
        assert_eq!(text_of(text, "/1", Target::Value), r#""s\"]""#);
        assert_eq!(text_of(text, "/2/VpcId", Target::Name), r#""Vpc\u0049d""#);
        // Absent: the deepest container that exists, by its opening bracket.
        assert_eq!(text_of(text, "/0/VSwitchId", Target::Value), "{");
        assert_eq!(text_of(text, "/9/VpcId", Target::Value), "[");
        assert_eq!(text_of(text, "", Target::Value).len(), text.trim().len());
    }

    #[test]
    fn places_count_lines_and_utf16_units() {
        let text = "[\n  \"é😀\", \"x\"\n]";
        let x = text.find("\"x\"").unwrap();
        let [p] = places(text, &[(x, x + 3)])[..] else { panic!() };
        // Line 2: two spaces, "é😀" (1 + 2 units, in quotes), a comma and a space.
        assert_eq!((p.line, p.column), (2, 10));
        assert_eq!((p.start, p.end), (x, x + 3));
        assert_eq!((p.utf16_start, p.utf16_end), (11, 14));
        assert_eq!(text.encode_utf16().count(), 16);
        let [end] = places(text, &[(text.len(), text.len() + 5)])[..] else { panic!() };
        assert_eq!((end.line, end.column, end.utf16_start, end.end), (3, 2, 16, text.len()));
    }
}
