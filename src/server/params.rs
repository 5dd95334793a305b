//! Path and query parameters whose every failure is answered with problem
//! details, like [`super::reply::JsonBody`]: axum's own extractors answer
//! `text/plain`, which a client expecting RFC 9457 cannot read.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::reply::ApiError;
use crate::engine::Error;

/// Parameters from the route's path (`{program}`, `{revision}`...).
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathParams(value)),
            Err(rejection) => Err(ApiError(path_error(&rejection))),
        }
    }
}

fn path_error(rejection: &PathRejection) -> Error {
    use axum::extract::path::ErrorKind;
    if rejection.status().is_server_error() {
        // The route and its handler disagree on the parameters: our bug.
        return Error::Internal(format!("path parameters: {}", rejection.body_text()));
    }
    if let PathRejection::FailedToDeserializePathParams(e) = rejection
        && let ErrorKind::ParseErrorAtKey {
            key,
            value,
            expected_type,
        } = e.kind()
    {
        let expected = if expected_type.starts_with(['u', 'i']) {
            "a whole number"
        } else {
            expected_type
        };
        return Error::BadRequest(format!(
            "the {key} in the path must be {expected}, not `{value}`"
        ));
    }
    let text = rejection.body_text();
    let text = text.strip_prefix("Invalid URL: ").unwrap_or(&text);
    Error::BadRequest(format!("invalid path: {text}"))
}

/// Parameters from the query string.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(ApiError(query_error(&rejection))),
        }
    }
}

fn query_error(rejection: &QueryRejection) -> Error {
    let text = rejection.body_text();
    let text = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text);
    Error::BadRequest(format!("invalid query string: {text}"))
}

/// `cursor` and `limit`, as every list takes them.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// `next_cursor` from the previous page; the first page when absent.
    pub cursor: Option<String>,
    /// Items on the page: 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

impl PageParams {
    pub fn limit(&self) -> Result<usize, ApiError> {
        Ok(crate::engine::page::limit(self.limit)?)
    }
}
