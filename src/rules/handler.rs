//! The contract between the engine and the rules' handlers (`lifecycle`, `sharing`,
//! `resources`): who is asking, what a handler changed beyond the state, and the
//! problems that stopped it. It lives apart from the engine so that the handlers and
//! the engine that dispatches to them do not import each other.

use crate::code::Problem;
use crate::rules::access::Actor;
use crate::rules::bind_vpcs;

/// What a handler changed beyond the state.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub warnings: Vec<Problem>,
    pub bind_vpcs: Option<bind_vpcs::Report>,
    pub key_id: Option<String>,
    pub expected_enable_minutes: Option<u32>,
}

/// The problems that stopped a request: those listed, and how many more were found.
#[derive(Debug)]
pub(crate) struct Failure {
    pub problems: Vec<Problem>,
    pub omitted: usize,
}

impl Failure {
    pub fn all(problems: Vec<Problem>) -> Self {
        Failure { problems, omitted: 0 }
    }
}

impl From<Problem> for Failure {
    fn from(p: Problem) -> Self {
        Failure::all(vec![p])
    }
}

pub(crate) type Handled = Result<Effects, Failure>;

/// Who is asking, once the access checks have passed.
pub(crate) struct Caller<'a> {
    pub id: &'a str,
    pub actor: Actor,
}
