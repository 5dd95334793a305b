//! What handlers take and give: JSON bodies in, JSON or problem details out.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::engine::Error;
use crate::problem::Problem;

/// An engine error as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(&Problem::from(&self.0))
    }
}

pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(problem)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(seconds) = problem.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    // RFC 9110: a 401 names the scheme that would get through.
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let limit = req.extensions().get::<super::limits::BodyLimit>().copied();
    Bytes::from_request(req, state).await.map_err(|rejection| {
        ApiError(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            match limit {
                Some(l) => Error::Limited {
                    status: 413,
                    limit: l.flag.to_owned(),
                    detail: format!(
                        "the request body is larger than {} (serve --{})",
                        super::limits::size_text(l.bytes),
                        l.flag
                    ),
                    retry_after: 0,
                },
                None => {
                    Error::PayloadTooLarge(format!("the request body is too large: {rejection}"))
                }
            }
        } else {
            Error::BadRequest(format!("cannot read the request body: {rejection}"))
        })
    })
}

/// A UTF-8 text body (an NDJSON or JSON batch of events).
pub struct TextBody(pub String);

impl<S: Send + Sync> FromRequest<S> for TextBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        String::from_utf8(bytes.to_vec())
            .map(TextBody)
            .map_err(|e| ApiError(Error::BadRequest(format!("the body is not UTF-8: {e}"))))
    }
}

/// A JSON request body whose every failure (too large, not JSON, wrong shape)
/// is answered with problem details that say what and where.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError(Error::BadRequest(format!("invalid JSON body: {e}"))))
    }
}
