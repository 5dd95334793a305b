//! Bearer tokens on every route but /healthz and /readyz.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AppState;
use super::reply::ApiError;
use crate::engine::Error;
use crate::engine::access::{Principal, Scope};
use crate::spec::check::key_problem;

/// The authenticated caller of a request.
pub struct Caller(pub Principal);

impl Caller {
    pub fn require(&self, scope: &Scope) -> Result<(), ApiError> {
        if self.0.allows(scope) {
            Ok(())
        } else {
            Err(ApiError(Error::Forbidden(format!(
                "this token lacks the `{scope}` scope"
            ))))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let address = super::limits::client_address(parts);
        state.guard.before_auth(address)?;
        let principal = match authenticate(parts, state).await {
            Ok(principal) => principal,
            Err(e @ Error::Unauthorized(_)) => {
                // Past the failed-auth rate, this refusal is a 429 too.
                state.guard.failed_auth(address)?;
                return Err(ApiError(e));
            }
            Err(e) => return Err(ApiError(e)),
        };
        tracing::Span::current().record("token", principal.token_id.as_str());
        state.guard.token_request(&principal.token_id)?;
        if let Some(problem) = requested_program(parts).and_then(key_problem) {
            return Err(ApiError(Error::BadRequest(format!("program: {problem}"))));
        }
        if let Some(bound) = &principal.program {
            match requested_program(parts) {
                Some(p) if p == bound => {}
                // Routes that name no program list programs, make tokens or
                // sweep: their handlers keep to the token's program.
                None => {}
                _ => {
                    return Err(ApiError(Error::Forbidden(format!(
                        "this token reaches program `{bound}` only"
                    ))));
                }
            }
        }
        Ok(Caller(principal))
    }
}

/// The principal the request's bearer token stands for.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Principal, Error> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        Error::Unauthorized("a bearer token is required (Authorization: Bearer TOKEN)".to_owned())
    })?;
    // The scheme is case-insensitive (RFC 9110); the token is not.
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::Unauthorized("the Authorization header must be `Bearer TOKEN`".to_owned())
        })?;
    state.engine.authenticate(token).await
}

/// The program a request is about, as written in its path
/// (`/v1/programs/{program}/...`). Compared undecoded: program keys hold no
/// characters that need escaping, so an escaped spelling is refused rather
/// than let through. A program in a query (`/v1/sweep`) is its handler's to
/// check, on the decoded value.
fn requested_program(parts: &Parts) -> Option<&str> {
    parts
        .uri
        .path()
        .strip_prefix("/v1/programs/")
        .and_then(|rest| rest.split('/').next())
}

/// A scope a route needs, as a type, so the check can run as an extractor.
pub trait Need: Send + Sync {
    fn scope() -> Scope;
}

macro_rules! needs {
    ($($name:ident => $scope:expr),* $(,)?) => {
        $(
            pub struct $name;
            impl Need for $name {
                fn scope() -> Scope {
                    $scope
                }
            }
        )*
    };
}

needs!(
    ConfigRead => Scope::ConfigRead,
    ConfigWrite => Scope::ConfigWrite,
    EventsWrite => Scope::EventsWrite,
    DataRead => Scope::DataRead,
    PayoutsWrite => Scope::PayoutsWrite,
    Admin => Scope::Admin,
);

/// A caller whose token has `N`'s scope. Extractors run in argument order, so
/// a handler that takes this before its body refuses a caller without the
/// scope before reading a byte of the body (up to 64 MiB) or parsing it.
pub struct Authorized<N: Need>(pub Principal, PhantomData<N>);

impl<N: Need> FromRequestParts<AppState> for Authorized<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(&N::scope())?;
        Ok(Authorized(caller.0, PhantomData))
    }
}
