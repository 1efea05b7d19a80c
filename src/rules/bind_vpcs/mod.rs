//! BindVpcs validation (RULES.md section 4): the JSON string of
//! UpdateKmsInstanceBindVpc, checked the way the server checks it, every problem
//! reported with a JSON pointer (R-BV-10).
//!
//! The same function serves the engine (with the instance's facts) and a console form
//! (with whatever context it has), so both see the same errors.

use crate::code::{json_reason, Code, Problem};
use crate::limits::{self, count, MAX_BIND_VPCS_BYTES, MAX_BIND_VPCS_ENTRIES, MAX_ENTRIES, MAX_REPORTED_PROBLEMS};
use crate::place::{self, Locator, Target};
use crate::rules::model::instance::BoundVpc;
use crate::rules::names::{self, NameKind};
use document::{Fields, Item, Scalar};
use foldhash::fast::RandomState;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{hash_map, BTreeMap, HashMap, HashSet};

const FIELDS: [&str; 4] = ["VpcId", "VSwitchId", "RegionId", "VpcOwnerId"];

/// Past 2^53 − 1, a JavaScript number has already lost digits (R-ID-5).
use crate::limits::MAX_SAFE_INTEGER;

pub use crate::rules::model::params::{Network, VSwitchFacts};

mod context;
mod document;
pub use context::{Context, QuotaContext};

/// The access-management quota in use before and after the change (R-BV-9).
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaChange {
    /// In use now.
    pub before: u32,
    /// In use once the new set is bound.
    pub after: u32,
    /// Purchased.
    pub purchased: u32,
}

/// The outcome of a validation: never an exception, always a report.
#[cfg_attr(all(target_arch = "wasm32", feature = "typescript"), derive(tsify::Tsify))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Whether the document is valid: no problem found.
    pub ok: bool,
    /// Every problem, up to the first 100 (`limits::MAX_REPORTED_PROBLEMS`).
    pub errors: Vec<Problem>,
    /// Problems found past the first 100: counted, not listed.
    pub omitted: usize,
    /// Warnings of a valid document (`Warning.CrossAccountVpc`).
    pub warnings: Vec<Problem>,
    /// The valid entries, in input order (all of them when `ok`).
    pub vpcs: Vec<BoundVpc>,
    /// R-BV-9: set when `ok`.
    pub added: Vec<String>,
    /// VPCs bound now that the document leaves out (R-BV-9: replace semantics).
    pub removed: Vec<String>,
    /// VPCs bound now that the document keeps.
    pub kept: Vec<String>,
    /// The quota before and after, when the context gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaChange>,
}

/// The report for BindVpcs text of `len` bytes when that is past the limit: a caller
/// that knows the size first (a JS string, a file) asks before copying the text.
pub fn oversized(len: usize) -> Option<Report> {
    limits::check("the BindVpcs text (bytes)", len, MAX_BIND_VPCS_BYTES)
        .err()
        .map(|p| Report::failed(vec![p.at("").rule("R-BV-1")]))
}

/// The report for BindVpcs that could not even be written as JSON text (a JS array
/// holding a cycle or a BigInt): malformed, with why.
pub fn not_json(why: &str) -> Report {
    Report::failed(vec![Problem::new(Code::BindVpcsMalformed, format!("not valid JSON: {why}")).at("").rule("R-BV-1")])
}

/// Validates BindVpcs given as bytes (a file): text that is not UTF-8 is malformed.
pub fn validate_bytes(input: &[u8], ctx: &Context) -> Report {
    text_of(input).map_or_else(Report::failed, |text| validate_str(text, ctx))
}

/// [`validate_bytes`] as [`validate_str_indexed`] writes it.
pub fn validate_bytes_indexed(input: &[u8], ctx: &Context) -> IndexedReport {
    text_of(input).map_or_else(IndexedReport::failed, |text| validate_str_indexed(text, ctx))
}

/// Bytes as text, or the problem of bytes past the limit (not read) or not UTF-8.
fn text_of(input: &[u8]) -> Result<&str, Vec<Problem>> {
    if let Some(report) = oversized(input.len()) {
        return Err(report.errors);
    }
    std::str::from_utf8(input).map_err(|e| {
        vec![Problem::new(
            Code::BindVpcsMalformed,
            format!("not valid JSON at byte {}: the text is not UTF-8", e.valid_up_to()),
        )
        .at("")
        .rule("R-BV-1")]
    })
}

/// Validates a BindVpcs JSON string; each problem also says where it is in `input`
/// ([`Problem::place`]).
///
/// ```
/// use kms_instance::bind_vpcs::{validate_str, Context};
///
/// let ctx = Context { region: Some("cn-hangzhou".into()), ..Context::default() };
/// let text = r#"[{"VpcId": "vpc-1", "RegionId": "cn-shanghai"}]"#;
/// let report = validate_str(text, &ctx);
/// assert!(!report.ok);
/// let paths: Vec<_> = report.errors.iter().filter_map(|p| p.path.as_deref()).collect();
/// assert!(paths.contains(&"/0/VpcId") && paths.contains(&"/0/VSwitchId"));
/// let region = report.errors.iter().find(|p| p.rule == Some("R-BV-4")).and_then(|p| p.place.as_deref()).unwrap();
/// assert_eq!(&text[region.start..region.end], r#""cn-shanghai""#);
/// assert_eq!((region.line, region.column), (1, 33));
/// ```
pub fn validate_str(input: &str, ctx: &Context) -> Report {
    validate_text(input, ctx, true, Order::Text)
}

/// [`validate_str`] without places: for text written from a value already parsed (a
/// JavaScript array), where a place would point into text nobody wrote.
pub fn validate_unplaced(input: &str, ctx: &Context) -> Report {
    validate_text(input, ctx, false, Order::Text)
}

/// The order a report's problems come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// The order a reader meets them in the text: what people read.
    Text,
    /// The order of the checks (R-BV-10): what the engine's first problem is.
    Checks,
}

/// [`validate_str`] with the problems in the order of the checks, as the engine reports
/// a refused UpdateKmsInstanceBindVpc (its first problem is the one the checks name first).
pub fn validate_in_check_order(input: &str, ctx: &Context) -> Report {
    validate_text(input, ctx, true, Order::Checks)
}

fn validate_text(input: &str, ctx: &Context, placed: bool, order: Order) -> Report {
    check_text(input, ctx, placed, order).map_or_else(Report::failed, Found::report)
}

/// [`validate_str`] for a caller that holds the text and reads the valid entries from
/// it when it needs them (the npm package): the report names each by its index in the
/// document instead of copying it, so nothing the text already says is written again.
pub fn validate_str_indexed(input: &str, ctx: &Context) -> IndexedReport {
    check_text(input, ctx, true, Order::Text).map_or_else(IndexedReport::failed, Found::indexed)
}

/// The text checked, its problems placed: what was found, or the problem of a text
/// refused whole.
fn check_text<'a>(input: &'a str, ctx: &Context, placed: bool, order: Order) -> Result<Found<'a>, Vec<Problem>> {
    if let Some(report) = oversized(input.len()) {
        return Err(report.errors);
    }
    // A valid entry takes at least 80 bytes of text (its ids alone take 60).
    let mut checker = Checker::new(ctx, input.len() / 80);
    match document::read(input, &mut checker) {
        Ok(()) => {
            let mut found = checker.finish().map_err(|mut refused| {
                // Refused whole (not an array, too many entries): placed all the same.
                place_in(&mut refused, &mut Vec::new(), input, placed, order);
                refused
            })?;
            // Unplaced text (written from a value) is put in its order all the same; its
            // places would point into text nobody wrote.
            if !found.errors.is_empty() || !found.warnings.is_empty() {
                place_in(&mut found.errors, &mut found.warnings, input, placed, order);
            }
            Ok(found)
        }
        Err(e) => {
            let offset = place::offset_of(input, e.line(), e.column());
            let mut problem =
                Problem::new(Code::BindVpcsMalformed, format!("not valid JSON at byte {offset}: {}", json_reason(&e)))
                    .at("")
                    .rule("R-BV-1");
            // The offset found once, for the message and the place.
            problem.place = placed.then(|| place::char_at(input, offset)).flatten().map(Box::new);
            Err(vec![problem])
        }
    }
}

/// Validates BindVpcs that were already parsed (a console passing an array).
pub fn validate_value(value: &Value, ctx: &Context) -> Report {
    let mut checker = Checker::new(ctx, value.as_array().map_or(0, Vec::len));
    document::walk(value, &mut checker);
    checker.finish().map_or_else(Report::failed, Found::report)
}

/// One validation under way: the entries are checked as they are read, so no tree of
/// the document is ever built.
struct Checker<'a, 'c> {
    ctx: &'c Context,
    /// What makes the whole document fail before its entries count (R-BV-1, limits).
    refused: Option<Problem>,
    entries: usize,
    errors: Problems,
    warnings: Vec<Problem>,
    valid: Vec<Valid<'a>>,
    first_vpc: HashMap<Cow<'a, str>, usize, RandomState>,
    first_vswitch: HashMap<Cow<'a, str>, usize, RandomState>,
}

impl<'a, 'c> Checker<'a, 'c> {
    /// A checker for about `entries` entries (its sets and lists are sized for them).
    fn new(ctx: &'c Context, entries: usize) -> Self {
        let entries = entries.min(MAX_BIND_VPCS_ENTRIES);
        let sizes = [
            ("the context's current VPCs", ctx.current.len(), MAX_ENTRIES),
            ("the context's network facts", ctx.network.as_ref().map_or(0, BTreeMap::len), MAX_ENTRIES),
        ];
        let refused = sizes.into_iter().find_map(|(what, n, limit)| limits::check(what, n, limit).err());
        Checker {
            ctx,
            refused: refused.map(|p| p.at("")),
            entries: 0,
            errors: Problems::default(),
            warnings: Vec::new(),
            valid: Vec::with_capacity(entries),
            first_vpc: HashMap::with_capacity_and_hasher(entries, RandomState::default()),
            first_vswitch: HashMap::with_capacity_and_hasher(entries, RandomState::default()),
        }
    }

    /// The document is not an array (R-BV-1).
    fn not_array(&mut self) {
        let p = Problem::new(Code::BindVpcsMalformed, "expected a JSON array of VPC objects").at("").rule("R-BV-1");
        self.refused.get_or_insert(p);
    }

    /// The next element of the array. Past the entries' limit nothing more is checked:
    /// the report will be that limit alone.
    fn item(&mut self, item: Item<'a>) {
        let i = self.entries;
        self.entries = self.entries.saturating_add(1);
        if self.refused.is_some() || i >= MAX_BIND_VPCS_ENTRIES {
            return;
        }
        let Item::Object(fields) = item else {
            self.errors
                .push(Problem::new(Code::BindVpcsMalformed, "expected an object").at(format!("/{i}")).rule("R-BV-1"));
            return;
        };
        let (ctx, errors) = (self.ctx, &mut self.errors);
        let before = errors.len();
        let entry = check_entry(i, fields, ctx, errors);

        // R-BV-5: each VPC and each vSwitch once; the later one is reported. One lookup
        // each: hashing is a tenth of the validator's time.
        if let Some(vpc) = &entry.vpc_id {
            if let Some(j) = first_at(&mut self.first_vpc, vpc.clone(), i) {
                errors.push(
                    Problem::new(Code::BindVpcsDuplicateVpc, format!("{vpc} is already listed at /{j}"))
                        .at(format!("/{i}/VpcId"))
                        .rule("R-BV-5"),
                );
            }
        }
        if let Some(vsw) = &entry.v_switch_id {
            if let Some(j) = first_at(&mut self.first_vswitch, vsw.clone(), i) {
                errors.push(
                    Problem::new(Code::BindVpcsDuplicateVSwitch, format!("{vsw} is already listed at /{j}"))
                        .at(format!("/{i}/VSwitchId"))
                        .rule("R-BV-5"),
                );
            }
        }

        if errors.len() == before {
            if let Some(vpc) = entry.complete(i) {
                if ctx.owner.as_deref().is_some_and(|o| o != vpc.vpc_owner_id) {
                    self.warnings.push(
                        Problem::new(
                            Code::WarnCrossAccountVpc,
                            format!(
                                "{} belongs to account {}: its vSwitch must be shared with the owner",
                                vpc.vpc_id, vpc.vpc_owner_id
                            ),
                        )
                        .at(format!("/{i}"))
                        .rule("R-BV-8"),
                    );
                }
                self.valid.push(vpc);
            }
        }
    }

    /// What was found, or the problem of a document refused whole (R-BV-1, a limit).
    fn finish(self) -> Result<Found<'a>, Vec<Problem>> {
        let too_many = limits::check("the BindVpcs entries", self.entries, MAX_BIND_VPCS_ENTRIES).err();
        if let Some(p) = self.refused.or(too_many.map(|p| p.at(""))) {
            return Err(vec![p]);
        }
        let mut found = Found {
            ok: false,
            errors: self.errors.listed,
            omitted: self.errors.omitted,
            warnings: self.warnings,
            valid: self.valid,
            diff: Diff::default(),
        };
        if found.errors.is_empty() {
            found.diff(self.ctx);
        }
        found.ok = found.errors.is_empty() && found.omitted == 0;
        // A report that is not valid keeps no warning.
        if !found.ok {
            found.warnings.clear();
        }
        Ok(found)
    }
}

/// Where `id` was listed first, if it was; else it is now, at `i`.
fn first_at<'a>(first: &mut HashMap<Cow<'a, str>, usize, RandomState>, id: Cow<'a, str>, i: usize) -> Option<usize> {
    match first.entry(id) {
        hash_map::Entry::Occupied(at) => Some(*at.get()),
        hash_map::Entry::Vacant(at) => {
            at.insert(i);
            None
        }
    }
}

/// What a validation found, before it is written as a report: the valid entries still
/// borrowed from the text.
struct Found<'a> {
    ok: bool,
    errors: Vec<Problem>,
    omitted: usize,
    warnings: Vec<Problem>,
    valid: Vec<Valid<'a>>,
    diff: Diff,
}

impl Found<'_> {
    /// The report, each valid entry copied out of the text.
    fn report(self) -> Report {
        let diff = self.diff;
        let vpcs: Vec<BoundVpc> = self.valid.into_iter().map(Valid::into_owned).collect();
        let (mut added, mut kept) = (Vec::new(), Vec::new());
        for (vpc, is_kept) in vpcs.iter().zip(&diff.kept) {
            let list = if *is_kept { &mut kept } else { &mut added };
            list.push(vpc.vpc_id.clone());
        }
        Report {
            ok: self.ok,
            errors: self.errors,
            omitted: self.omitted,
            warnings: self.warnings,
            vpcs,
            added,
            removed: diff.removed,
            kept,
            quota: diff.quota,
        }
    }

    /// The report with each valid entry named by its index in the document.
    fn indexed(self) -> IndexedReport {
        let diff = self.diff;
        IndexedReport {
            ok: self.ok,
            errors: self.errors,
            omitted: self.omitted,
            warnings: self.warnings,
            vpcs_at: self.valid.iter().map(|v| v.index).collect(),
            added_at: diff.kept.iter().enumerate().filter_map(|(j, kept)| (!kept).then_some(j)).collect(),
            kept_at: diff.kept.iter().enumerate().filter_map(|(j, kept)| kept.then_some(j)).collect(),
            removed: diff.removed,
            quota: diff.quota,
        }
    }

    /// R-BV-9, for a document with no other problem: replace semantics (which valid
    /// entries are bound now, which bound VPCs the document leaves out) and the quota,
    /// its problem among the errors.
    fn diff(&mut self, ctx: &Context) {
        let diff = &mut self.diff;
        // Nothing bound now (a new form): all is added, and no set is needed.
        if ctx.current.is_empty() {
            diff.kept = vec![false; self.valid.len()];
        } else {
            let current: HashSet<&str, RandomState> = ctx.current.iter().map(|c| c.vpc_id.as_str()).collect();
            let new: HashSet<&str, RandomState> = self.valid.iter().map(|v| v.vpc_id.as_ref()).collect();
            diff.kept = self.valid.iter().map(|v| current.contains(v.vpc_id.as_ref())).collect();
            diff.removed =
                ctx.current.iter().filter(|c| !new.contains(c.vpc_id.as_str())).map(|c| c.vpc_id.clone()).collect();
        }

        if let Some(q) = &ctx.quota {
            let before = count(ctx.current.len()).saturating_add(q.principals);
            let after = count(self.valid.len()).saturating_add(q.principals);
            diff.quota = Some(QuotaChange { before, after, purchased: q.purchased });
            if after > q.purchased {
                self.errors.push(
                    Problem::new(
                        Code::QuotaAccessManagement,
                        format!(
                            "{} VPCs and {} principals need an access management quota of {after}; {before} is used of {} purchased",
                            self.valid.len(),
                            q.principals,
                            q.purchased
                        ),
                    )
                    .at("")
                    .rule("R-Q-3"),
                );
            }
        }
    }
}

/// R-BV-9 for the valid entries: whether each is bound now (else it is added), the
/// bound VPCs left out, the quota.
#[derive(Default)]
struct Diff {
    kept: Vec<bool>,
    removed: Vec<String>,
    quota: Option<QuotaChange>,
}

/// A [`Report`] whose valid entries are named by their index in the document (a caller
/// holding the text reads them from it), and `added` and `kept` by their place among
/// those. Written by [`validate_str_indexed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexedReport {
    /// As [`Report::ok`].
    pub ok: bool,
    /// As [`Report::errors`].
    pub errors: Vec<Problem>,
    /// As [`Report::omitted`].
    pub omitted: usize,
    /// As [`Report::warnings`].
    pub warnings: Vec<Problem>,
    /// The index in the document of each of [`Report::vpcs`], in order.
    pub vpcs_at: Vec<usize>,
    /// The place in `vpcs_at` of each of [`Report::added`].
    pub added_at: Vec<usize>,
    /// The place in `vpcs_at` of each of [`Report::kept`].
    pub kept_at: Vec<usize>,
    /// As [`Report::removed`].
    pub removed: Vec<String>,
    /// As [`Report::quota`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaChange>,
}

impl IndexedReport {
    /// As [`Report::failed`].
    pub(crate) fn failed(errors: Vec<Problem>) -> Self {
        IndexedReport {
            ok: false,
            errors,
            omitted: 0,
            warnings: Vec::new(),
            vpcs_at: Vec::new(),
            added_at: Vec::new(),
            kept_at: Vec::new(),
            removed: Vec::new(),
            quota: None,
        }
    }
}

/// Each problem's place in `text`, the JSON it was read from: the value its pointer
/// names, the name of an unknown field, the entry that lacks a field. `order`: put the
/// problems in the order a reader meets them (at one place, the order of the checks);
/// `placed`: keep the places (else they are only sorted by).
fn place_in(errors: &mut Vec<Problem>, warnings: &mut Vec<Problem>, text: &str, placed: bool, order: Order) {
    let mut locator = Locator::new(text);
    for problems in [errors, warnings] {
        let ranges: Vec<(usize, usize)> = problems
            .iter()
            .map(|p| {
                let target = if p.code == Code::BindVpcsUnknownField { Target::Name } else { Target::Value };
                locator.range(p.path.as_deref().unwrap_or(""), target)
            })
            .collect();
        // (start, index) pairs are distinct, so an unstable sort of them is the stable
        // sort by start; and it is the sort `place::places` already has (a stable sort
        // of the problems themselves was 2.4 KiB more gzip in the validate module).
        let mut order_of: Vec<(usize, usize)> = ranges.iter().enumerate().map(|(i, r)| (r.0, i)).collect();
        if order == Order::Text {
            order_of.sort_unstable();
        }
        let mut taken: Vec<Option<Problem>> = problems.drain(..).map(Some).collect();
        let ordered = order_of.iter().filter_map(|&(_, i)| Some((ranges.get(i).copied()?, taken.get_mut(i)?.take()?)));
        let paired: Vec<((usize, usize), Problem)> = ordered.collect();
        let places = if placed {
            let ranges: Vec<(usize, usize)> = paired.iter().map(|(range, _)| *range).collect();
            place::places(text, &ranges).into_iter().map(Some).collect()
        } else {
            Vec::new()
        };
        let mut places = places.into_iter();
        problems.extend(paired.into_iter().map(|(_, mut p)| {
            p.place = places.next().flatten().map(Box::new);
            p
        }));
    }
}

impl Report {
    /// The report of a validation refused whole (the document, or a context that cannot
    /// be used): `errors`, and nothing else.
    pub(crate) fn failed(errors: Vec<Problem>) -> Self {
        Report {
            ok: false,
            errors,
            omitted: 0,
            warnings: Vec::new(),
            vpcs: Vec::new(),
            added: Vec::new(),
            removed: Vec::new(),
            kept: Vec::new(),
            quota: None,
        }
    }
}

/// The problems of one validation: the first [`MAX_REPORTED_PROBLEMS`] listed, the rest
/// counted, so a hostile input cannot make the report grow without bound.
#[derive(Default)]
struct Problems {
    listed: Vec<Problem>,
    omitted: usize,
}

impl Problems {
    fn push(&mut self, p: Problem) {
        if self.listed.len() < MAX_REPORTED_PROBLEMS {
            self.listed.push(p);
        } else {
            self.omitted = self.omitted.saturating_add(1);
        }
    }

    fn len(&self) -> usize {
        self.listed.len().saturating_add(self.omitted)
    }
}

/// The fields of one entry that passed their own checks, borrowed from the text where
/// they can be.
#[derive(Default)]
struct Entry<'a> {
    vpc_id: Option<Cow<'a, str>>,
    v_switch_id: Option<Cow<'a, str>>,
    region_id: Option<Cow<'a, str>>,
    vpc_owner_id: Option<Cow<'a, str>>,
}

impl<'a> Entry<'a> {
    /// The entry at `index` as a valid one, if each of its fields passed.
    fn complete(self, index: usize) -> Option<Valid<'a>> {
        Some(Valid {
            index,
            vpc_id: self.vpc_id?,
            v_switch_id: self.v_switch_id?,
            region_id: self.region_id?,
            vpc_owner_id: self.vpc_owner_id?,
        })
    }
}

/// A valid entry: its index in the document and its fields, borrowed from the text
/// where they can be (copied only when a report is written with them).
struct Valid<'a> {
    index: usize,
    vpc_id: Cow<'a, str>,
    v_switch_id: Cow<'a, str>,
    region_id: Cow<'a, str>,
    vpc_owner_id: Cow<'a, str>,
}

impl Valid<'_> {
    fn into_owned(self) -> BoundVpc {
        BoundVpc {
            vpc_id: self.vpc_id.into_owned(),
            v_switch_id: self.v_switch_id.into_owned(),
            region_id: self.region_id.into_owned(),
            vpc_owner_id: self.vpc_owner_id.into_owned(),
        }
    }
}

fn check_entry<'a>(i: usize, fields: Fields<'a>, ctx: &Context, errors: &mut Problems) -> Entry<'a> {
    let mut entry = Entry::default();
    let at = |field: &str| format!("/{i}/{}", escape_pointer(field));

    let Fields { values, unknown } = fields;
    for (field, value) in FIELDS.into_iter().zip(values) {
        let Some(value) = value else {
            errors.push(
                Problem::new(Code::BindVpcsMissingField, format!("{field} is required")).at(at(field)).rule("R-BV-2"),
            );
            continue;
        };
        match check_field(field, value) {
            Ok(v) => match field {
                "VpcId" => entry.vpc_id = Some(v),
                "VSwitchId" => entry.v_switch_id = Some(v),
                "RegionId" => entry.region_id = Some(v),
                _ => entry.vpc_owner_id = Some(v),
            },
            Err(p) => errors.push(p.at(at(field))),
        }
    }
    for name in &unknown {
        let hint = FIELDS
            .iter()
            .find(|f| f.eq_ignore_ascii_case(name))
            .map_or_else(String::new, |f| format!("; did you mean {f}?"));
        errors.push(
            Problem::new(Code::BindVpcsUnknownField, format!("unknown field {name}{hint}")).at(at(name)).rule("R-BV-2"),
        );
    }

    // Rules that relate the fields to the instance.
    if let (Some(region), Some(expected)) = (&entry.region_id, &ctx.region) {
        if region != expected {
            errors.push(
                Problem::new(Code::BindVpcsCrossRegion, format!("{region} is not the instance's region {expected}"))
                    .at(at("RegionId"))
                    .rule("R-BV-4"),
            );
            entry.region_id = None;
        }
    }
    if let (Some(vpc), Some(primary)) = (&entry.vpc_id, &ctx.primary_vpc) {
        if vpc == primary {
            errors.push(
                Problem::new(Code::BindVpcsPrimaryVpc, format!("{vpc} is the instance's own VPC, always bound"))
                    .at(at("VpcId"))
                    .rule("R-BV-6"),
            );
        }
    }
    if let (Some(vsw), Some(network)) = (&entry.v_switch_id, &ctx.network) {
        if let Some(facts) = network.get(vsw.as_ref()) {
            check_facts(vsw, facts, &entry, ctx, &at, errors);
        }
    }
    entry
}

fn check_facts(
    vsw: &str,
    facts: &VSwitchFacts,
    entry: &Entry<'_>,
    ctx: &Context,
    at: &dyn Fn(&str) -> String,
    errors: &mut Problems,
) {
    if let (Some(actual), Some(vpc)) = (&facts.vpc_id, &entry.vpc_id) {
        if actual != vpc {
            errors.push(
                Problem::new(Code::BindVpcsVSwitchNotInVpc, format!("{vsw} belongs to {actual}, not {vpc}"))
                    .at(at("VSwitchId"))
                    .rule("R-BV-7"),
            );
        }
    }
    if facts.available_ips == Some(0) {
        errors.push(
            Problem::new(Code::BindVpcsNoAvailableIp, format!("{vsw} has no available IP address"))
                .at(at("VSwitchId"))
                .rule("R-BV-7"),
        );
    }
    let cross_account = match (&entry.vpc_owner_id, &ctx.owner) {
        (Some(vpc_owner), Some(owner)) => vpc_owner != owner,
        _ => false,
    };
    if cross_account && facts.shared_with_owner == Some(false) {
        errors.push(
            Problem::new(
                Code::BindVpcsVSwitchNotShared,
                format!("{vsw} belongs to another account and is not shared with the instance owner"),
            )
            .at(at("VSwitchId"))
            .rule("R-BV-8"),
        );
    }
}

/// Checks one field's type and format; returns it as a string.
fn check_field<'a>(field: &str, value: Scalar<'a>) -> Result<Cow<'a, str>, Problem> {
    let (kind, code) = match field {
        "VpcId" => (NameKind::VpcId, Code::BindVpcsVpcId),
        "VSwitchId" => (NameKind::VswitchId, Code::BindVpcsVSwitchId),
        "RegionId" => (NameKind::RegionId, Code::BindVpcsRegionId),
        _ => (NameKind::AccountId, Code::BindVpcsVpcOwnerId),
    };
    let rule = if field == "VpcOwnerId" { "R-ID-5" } else { "R-BV-3" };
    let text = match value {
        Scalar::Text(s) => s,
        // R-ID-5: an account id may come as a JSON integer, but not past 2^53 − 1.
        Scalar::Number(n) if field == "VpcOwnerId" => match n.as_u64() {
            Some(v) if v <= MAX_SAFE_INTEGER => Cow::Owned(v.to_string()),
            Some(_) => return Err(precision_problem(&n)),
            None if n.as_f64().is_some_and(|f| f.fract() == 0.0 && f > MAX_SAFE_INTEGER as f64) => {
                return Err(precision_problem(&n))
            }
            None => return Err(Problem::new(code, format!("{n} is not an account id")).rule(rule)),
        },
        other => {
            let expected = if field == "VpcOwnerId" { "a string or an integer" } else { "a string" };
            let got = match other {
                Scalar::Text(_) => "a string",
                Scalar::Number(_) => "a number",
                Scalar::Other(kind) => kind,
            };
            return Err(Problem::new(code, format!("expected {expected}, got {got}")).rule(rule));
        }
    };
    names::validate(kind, &text).map_err(|p| Problem::new(code, format!("{text:?}: {}", p.message)).rule(rule))?;
    Ok(text)
}

fn precision_problem(n: &serde_json::Number) -> Problem {
    Problem::new(
        Code::BindVpcsVpcOwnerIdPrecision,
        format!("{n} is above 2^53-1: a JavaScript caller has already lost digits; send the id as a string"),
    )
    .rule("R-ID-5")
}

/// RFC 6901: `~` and `/` in a member name are escaped in a pointer.
fn escape_pointer(field: &str) -> String {
    field.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests;
