//! bufjson's syntax-checking pull parser over its lexer (no SIMD): every token's line,
//! column and offset known.

use crate::fields::{field, missing, wrong_type};
use bufjson::lexical::{fixed::FixedAnalyzer, Token, Unescaped};
use bufjson::syntax::Parser;

pub fn entries(text: &str) -> Result<usize, String> {
    let mut p = Parser::new(FixedAnalyzer::new(text.as_bytes()));
    macro_rules! next {
        () => {{
            let token = p.next_meaningful();
            if token == Token::Err {
                return Err(p.err().to_string());
            }
            token
        }};
    }
    if next!() != Token::ArrBegin {
        return Err(format!("not an array, at {}", *p.pos()));
    }
    let mut n = 0;
    loop {
        match next!() {
            Token::ArrEnd => break,
            Token::ObjBegin => {}
            _ => return Err(format!("entry {n}: not an object, at {}", *p.pos())),
        }
        let mut seen = [false; 4];
        loop {
            let f = match next!() {
                Token::ObjEnd => break,
                // The parser checks the grammar: in a name's place, a string.
                _ => {
                    let content = p.content();
                    let name = content.unescaped();
                    let quoted: &str = match &name {
                        Unescaped::Literal(literal) => literal,
                        Unescaped::Expanded(expanded) => expanded,
                    };
                    field(n, quoted.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(quoted))?
                }
            };
            let ok = match next!() {
                Token::Str => true,
                Token::Num => f == 3 && p.content().literal().parse::<u64>().is_ok(),
                _ => false,
            };
            if !ok {
                return Err(wrong_type(n, f, *p.pos()));
            }
            seen[f] = true;
        }
        missing(n, seen)?;
        n += 1;
    }
    if next!() != Token::Eof {
        return Err(format!("more after the array, at {}", *p.pos()));
    }
    Ok(n)
}
