//! Bearer tokens on every route but /healthz.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AppState;
use super::reply::ApiError;
use crate::engine::Error;
use crate::engine::access::{Principal, Scope};

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
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            Error::Unauthorized(
                "a bearer token is required (Authorization: Bearer TOKEN)".to_owned(),
            )
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Unauthorized("the Authorization header must be `Bearer TOKEN`".to_owned())
            })?;
        let principal = state.engine.authenticate(token).await?;
        tracing::Span::current().record("token", principal.token_id.as_str());
        Ok(Caller(principal))
    }
}
