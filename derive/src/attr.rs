//! Reads and checks the `#[backpressured(...)]` attributes.
//!
//! Every problem is recorded (not just the first) with its span on the offending token; the
//! caller gets them all at once.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Data, DeriveInput, Fields, Ident, Lit, LitStr, Meta, Token};

use crate::ctxt::Errors;
use crate::policy::Policy;
use actix_backpressure_names::suggest;

/// The helper attribute's name.
const ATTR: &str = "backpressured";

/// The keys, in the order the errors list them.
const KEYS: [&str; 6] = ["capacity", "policy", "name", "batch", "credits", "ttl"];

/// What the attributes set; a key left out keeps the library's default.
#[derive(Default)]
pub(crate) struct Attrs {
    pub(crate) capacity: Option<Count>,
    pub(crate) policy: Option<(Policy, Span)>,
    pub(crate) name: Option<LitStr>,
    pub(crate) batch: Option<Count>,
    pub(crate) credits: Option<Count>,
    /// The time to live, in nanoseconds, with the string's span.
    pub(crate) ttl: Option<(u64, Span)>,
}

/// A positive `usize` read from an integer literal, with that literal's span.
pub(crate) struct Count {
    pub(crate) value: usize,
    pub(crate) span: Span,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Capacity,
    Policy,
    Name,
    Batch,
    Credits,
    Ttl,
}

impl Key {
    fn from_ident(ident: &Ident) -> Option<Key> {
        let key = match ident.unraw().to_string().as_str() {
            "capacity" => Key::Capacity,
            "policy" => Key::Policy,
            "name" => Key::Name,
            "batch" => Key::Batch,
            "credits" => Key::Credits,
            "ttl" => Key::Ttl,
            _ => return None,
        };
        Some(key)
    }

    fn as_str(self) -> &'static str {
        KEYS[self as usize]
    }

    /// A valid `key = value`, for messages.
    fn example(self) -> &'static str {
        match self {
            Key::Capacity => "capacity = 1024",
            Key::Policy => "policy = \"drop_oldest\"",
            Key::Name => "name = \"ingest\"",
            Key::Batch => "batch = 16",
            Key::Credits => "credits = 16",
            Key::Ttl => "ttl = \"250ms\"",
        }
    }
}

/// One `key` or `key = value` of an attribute, as written.
struct Item {
    key: Ident,
    value: Option<(Token![=], TokenStream)>,
}

/// The attribute's value, as far as the checks care.
enum Value {
    Lit(Lit),
    /// `-` then a literal.
    Negative(Lit),
    /// Anything else: a path, an expression, several tokens.
    Other,
}

/// Reads every `#[backpressured(...)]` of `input`.
///
/// # Errors
///
/// Every problem found, combined into one `syn::Error`.
pub(crate) fn parse(input: &DeriveInput) -> syn::Result<Attrs> {
    let mut errors = Errors::default();
    let mut attrs = Attrs::default();
    let mut seen = [false; KEYS.len()];

    for attr in input.attrs.iter().filter(|attr| attr.path().is_ident(ATTR)) {
        let items = match &attr.meta {
            Meta::List(list) => list.parse_args_with(parse_items),
            Meta::Path(_) | Meta::NameValue(_) => Err(syn::Error::new_spanned(
                attr,
                format!(
                    "expected `#[backpressured(key = value, ...)]` with keys among {}",
                    suggest::one_of(&KEYS)
                ),
            )),
        };
        match items {
            Ok(items) => {
                for item in items {
                    apply(item, &mut attrs, &mut seen, &mut errors);
                }
            }
            Err(error) => errors.push(error),
        }
    }
    check_misplaced(input, &mut errors);
    check_credits(&attrs, &mut errors);

    errors.finish().map(|()| attrs)
}

/// `key = value, key, ...`: only the shape; the keys and values are checked by [`apply`].
fn parse_items(input: ParseStream<'_>) -> syn::Result<Vec<Item>> {
    let mut items = Vec::new();
    while !input.is_empty() {
        if !input.peek(Ident::peek_any) {
            return Err(input.error(format!("expected a key: one of {}", suggest::one_of(&KEYS))));
        }
        let key = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) {
            let eq: Token![=] = input.parse()?;
            let mut value = TokenStream::new();
            while !input.is_empty() && !input.peek(Token![,]) {
                value.extend([input.parse::<TokenTree>()?]);
            }
            Some((eq, value))
        } else if input.is_empty() || input.peek(Token![,]) {
            None
        } else {
            return Err(input.error(format!("expected `=` or `,` after `{key}`")));
        };
        items.push(Item { key, value });
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(items)
}

/// Checks one `key = value` and records it in `attrs`.
fn apply(item: Item, attrs: &mut Attrs, seen: &mut [bool; KEYS.len()], errors: &mut Errors) {
    let Some(key) = Key::from_ident(&item.key) else {
        let given = item.key.unraw().to_string();
        let hint = suggest::closest(&given, &KEYS)
            .map(|key| format!(" did you mean `{key}`?"))
            .unwrap_or_default();
        errors.spanned(
            &item.key,
            format!(
                "unknown key `{given}`;{hint} expected one of {}",
                suggest::one_of(&KEYS)
            ),
        );
        return;
    };
    let first = !std::mem::replace(&mut seen[key as usize], true);
    if !first {
        errors.spanned(
            &item.key,
            format!("duplicate key `{}`: it is already set", key.as_str()),
        );
    }
    let Some((eq, tokens)) = item.value else {
        errors.spanned(
            &item.key,
            format!("`{}` needs a value, e.g. `{}`", key.as_str(), key.example()),
        );
        return;
    };
    if tokens.is_empty() {
        errors.spanned(
            eq,
            format!("expected a value after `=`, e.g. `{}`", key.example()),
        );
        return;
    }

    match key {
        Key::Capacity => {
            let count = count(
                key,
                &tokens,
                "a mailbox must hold at least one message",
                errors,
            );
            if first {
                attrs.capacity = count;
            }
        }
        Key::Batch => {
            let count = count(
                key,
                &tokens,
                "the actor must handle at least one message per turn",
                errors,
            );
            if first {
                attrs.batch = count;
            }
        }
        Key::Policy => {
            let policy = policy(&tokens, errors);
            if first {
                attrs.policy = policy;
            }
        }
        Key::Name => {
            let name = name(&tokens, errors);
            if first {
                attrs.name = name;
            }
        }
        Key::Credits => {
            let count = count(
                key,
                &tokens,
                "the actor grants credits back at least one at a time",
                errors,
            );
            if first {
                attrs.credits = count;
            }
        }
        Key::Ttl => {
            let ttl = ttl(&tokens, errors);
            if first {
                attrs.ttl = ttl;
            }
        }
    }
}

/// Credits under `drop_oldest` would find nothing to evict: refused, as at run time. (A
/// refill above the capacity is checked where the code compiles, against the runtime's
/// default capacity when none is given.)
fn check_credits(attrs: &Attrs, errors: &mut Errors) {
    if let (Some(credits), Some((Policy::DropOldest, _))) = (&attrs.credits, attrs.policy) {
        errors.push(syn::Error::new(
            credits.span,
            "`credits` need a policy other than \"drop_oldest\": every credit may be held by a \
             message being worked on, with nothing queued to evict",
        ));
    }
}

/// `ttl`: a string of a positive number and a unit, `"250ms"`; in nanoseconds.
fn ttl(tokens: &TokenStream, errors: &mut Errors) -> Option<(u64, Span)> {
    use actix_backpressure_names::{parse_duration, DurationProblem};
    let units = suggest::one_of(&actix_backpressure_names::DURATION_UNITS);
    match classify(tokens) {
        Value::Lit(Lit::Str(string)) => match parse_duration(&string.value()) {
            Ok(ttl) => match u64::try_from(ttl.as_nanos()) {
                Ok(nanos) => return Some((nanos, string.span())),
                Err(_) => errors.spanned(&string, "`ttl` is too large: at most about 584 years"),
            },
            Err(DurationProblem::Zero) => errors.spanned(
                &string,
                "`ttl` must be above zero: every message would expire",
            ),
            Err(DurationProblem::Malformed) => errors.spanned(
                &string,
                format!(
                    "expected a duration for `ttl`, a number and a unit ({units}), e.g. `{}`",
                    Key::Ttl.example()
                ),
            ),
        },
        other => not_a_string(Key::Ttl, other, tokens, errors),
    }
    None
}

/// Reports `value` of `key`, which takes a string, as not one.
fn not_a_string(key: Key, value: Value, tokens: &TokenStream, errors: &mut Errors) {
    let (key, example) = (key.as_str(), key.example());
    match value {
        Value::Lit(lit) | Value::Negative(lit) => errors.spanned(
            tokens,
            format!(
                "expected a string for `{key}`, found {}; e.g. `{example}`",
                describe(&lit)
            ),
        ),
        Value::Other => errors.spanned(
            tokens,
            format!("expected a string literal for `{key}`, e.g. `{example}`"),
        ),
    }
}

/// `capacity` or `batch`: an integer literal from 1 to `usize::MAX`.
fn count(key: Key, tokens: &TokenStream, why: &str, errors: &mut Errors) -> Option<Count> {
    let key_name = key.as_str();
    let too_small = |given: &str| format!("`{key_name}` must be at least 1 ({why}), got {given}");
    match classify(tokens) {
        Value::Lit(Lit::Int(int)) => {
            // syn reads `-5` as one literal whose digits start with `-`.
            let digits = int.base10_digits();
            if digits.starts_with('-') {
                errors.spanned(tokens, too_small(digits));
                return None;
            }
            match digits.parse::<u128>().ok().map(usize::try_from) {
                Some(Ok(0)) => errors.spanned(tokens, too_small("0")),
                Some(Ok(value)) => {
                    return Some(Count {
                        value,
                        span: int.span(),
                    })
                }
                Some(Err(_)) | None => errors.spanned(
                    tokens,
                    format!(
                        "`{key_name}` is too large: {digits} does not fit in `usize` \
                         (at most {})",
                        usize::MAX
                    ),
                ),
            }
        }
        Value::Negative(Lit::Int(int)) => {
            errors.spanned(tokens, too_small(&format!("-{}", int.base10_digits())));
        }
        Value::Lit(Lit::Str(string)) if string.value().trim().parse::<u128>().is_ok() => {
            errors.spanned(
                &string,
                format!(
                    "expected an integer for `{key_name}`, found a string; write \
                     `{key_name} = {}` without the quotes",
                    string.value().trim()
                ),
            );
        }
        Value::Lit(lit) | Value::Negative(lit) => errors.spanned(
            tokens,
            format!(
                "expected an integer for `{key_name}`, found {}; e.g. `{}`",
                describe(&lit),
                key.example()
            ),
        ),
        Value::Other => errors.spanned(
            tokens,
            format!(
                "expected an integer literal for `{key_name}`, e.g. `{}` (constants and \
                 expressions are not supported)",
                key.example()
            ),
        ),
    }
    None
}

/// `policy`: a string naming an `OverflowPolicy`.
fn policy(tokens: &TokenStream, errors: &mut Errors) -> Option<(Policy, Span)> {
    let expected = Policy::NAMES.map(|name| format!("\"{name}\"")).join(", ");
    match classify(tokens) {
        Value::Lit(Lit::Str(string)) => {
            let given = string.value();
            match Policy::from_name(&given) {
                Some(policy) => return Some((policy, string.span())),
                None => errors.spanned(&string, Policy::unknown(&given)),
            }
        }
        Value::Lit(lit) | Value::Negative(lit) => errors.spanned(
            tokens,
            format!(
                "expected a string for `policy`, found {}; one of {expected}",
                describe(&lit)
            ),
        ),
        Value::Other => {
            // `policy = OverflowPolicy::DropOldest`: say how to write it.
            let named = syn::parse2::<syn::Path>(tokens.clone())
                .ok()
                .and_then(|path| path.segments.last().map(|last| last.ident.to_string()))
                .and_then(|last| {
                    let normalized = suggest::normalize(&last);
                    Policy::NAMES
                        .into_iter()
                        .find(|name| suggest::normalize(name) == normalized)
                });
            let message = match named {
                Some(name) => {
                    format!("expected a string for `policy`; write `policy = \"{name}\"`")
                }
                None => format!("expected a string for `policy`: one of {expected}"),
            };
            errors.spanned(tokens, message);
        }
    }
    None
}

/// `name`: a non-empty string.
fn name(tokens: &TokenStream, errors: &mut Errors) -> Option<LitStr> {
    match classify(tokens) {
        Value::Lit(Lit::Str(string)) if string.value().is_empty() => {
            errors.spanned(
                &string,
                "`name` must not be empty; leave `name` out to use the type's name",
            );
        }
        Value::Lit(Lit::Str(string)) => return Some(string),
        other => not_a_string(Key::Name, other, tokens, errors),
    }
    None
}

fn classify(tokens: &TokenStream) -> Value {
    if let Ok(lit) = syn::parse2::<Lit>(tokens.clone()) {
        return Value::Lit(lit);
    }
    let negative = |input: ParseStream<'_>| {
        input.parse::<Token![-]>()?;
        input.parse::<Lit>()
    };
    match negative.parse2(tokens.clone()) {
        Ok(lit) => Value::Negative(lit),
        Err(_) => Value::Other,
    }
}

/// "a string", "an integer", ...: what kind of literal `lit` is, for messages.
fn describe(lit: &Lit) -> &'static str {
    match lit {
        Lit::Str(_) => "a string",
        Lit::ByteStr(_) => "a byte string",
        Lit::CStr(_) => "a C string",
        Lit::Byte(_) => "a byte",
        Lit::Char(_) => "a character",
        Lit::Int(_) => "an integer",
        Lit::Float(_) => "a float",
        Lit::Bool(_) => "a boolean",
        _ => "a literal",
    }
}

/// `#[backpressured]` on a field or a variant would be silently ignored: refuse it.
fn check_misplaced(input: &DeriveInput, errors: &mut Errors) {
    let places: Vec<(&[Attribute], &'static str)> = match &input.data {
        Data::Struct(data) => field_attrs(&data.fields),
        Data::Enum(data) => data
            .variants
            .iter()
            .flat_map(|variant| {
                let mut places = field_attrs(&variant.fields);
                places.insert(0, (&variant.attrs[..], "variant"));
                places
            })
            .collect(),
        Data::Union(data) => data
            .fields
            .named
            .iter()
            .map(|field| (&field.attrs[..], "field"))
            .collect(),
    };
    for (attrs, place) in places {
        for attr in attrs.iter().filter(|attr| attr.path().is_ident(ATTR)) {
            errors.spanned(
                attr,
                format!("`#[backpressured]` goes on the type, not on a {place}"),
            );
        }
    }
}

fn field_attrs(fields: &Fields) -> Vec<(&[Attribute], &'static str)> {
    fields
        .iter()
        .map(|field| (&field.attrs[..], "field"))
        .collect()
}
