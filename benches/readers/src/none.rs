//! No reader: the entries counted by their opening braces. The floor every reader adds to.

pub fn entries(text: &str) -> Result<usize, String> {
    let n = text.bytes().filter(|b| *b == b'{').count();
    if n == 0 && text.trim() != "[]" {
        return Err("no entry".into());
    }
    Ok(n)
}
