//! Signing in and out, and who is looking at a page.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::layout::{PageError, bare};
use crate::engine::Error;
use crate::engine::access::{Principal, Scope};
use crate::server::AppState;
use crate::server::limits::client_address;

/// The cookie that holds the signed-in token.
pub const COOKIE: &str = "partnerops_session";

/// Who is looking: the principal of the token in the session cookie.
pub struct Viewer(pub Principal);

impl Viewer {
    /// The partner a `partner:KEY` token is for.
    pub fn partner(&self) -> Option<&str> {
        self.0.scopes.iter().find_map(|s| match s {
            Scope::Partner(k) => Some(k.as_str()),
            _ => None,
        })
    }

    /// Whether the viewer may read program data (everything but a portal).
    pub fn reads_data(&self) -> bool {
        self.0.allows(&Scope::DataRead)
    }

    /// Refuses a viewer without `data:read` on `program`, or whose token is
    /// bound to another program.
    pub fn require_data(&self, program: &str) -> Result<(), PageError> {
        self.require_program(program)?;
        if self.reads_data() {
            Ok(())
        } else {
            Err(PageError::from(Error::Forbidden(
                "this page needs a token with the data:read scope".to_owned(),
            )))
        }
    }

    pub fn require_program(&self, program: &str) -> Result<(), PageError> {
        match &self.0.program {
            Some(bound) if bound != program => Err(PageError::from(Error::Forbidden(format!(
                "this token reaches program `{bound}` only"
            )))),
            _ => Ok(()),
        }
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = cookie_token(&parts.headers) else {
            return Err(Redirect::to("/login").into_response());
        };
        let address = client_address(parts);
        state
            .guard
            .before_auth(address)
            .map_err(|e| PageError::from(e).into_response())?;
        match state.engine.authenticate(token).await {
            Ok(principal) => {
                state
                    .guard
                    .token_request(&principal.token_id)
                    .map_err(|e| PageError::from(e).into_response())?;
                Ok(Viewer(principal))
            }
            Err(Error::Unauthorized(_)) => {
                state
                    .guard
                    .failed_auth(address)
                    .map_err(|e| PageError::from(e).into_response())?;
                // Revoked or expired: sign in again, with the stale cookie gone.
                let mut r = Redirect::to("/login").into_response();
                r.headers_mut().insert(
                    header::SET_COOKIE,
                    clear_cookie(state.secure(&parts.headers)),
                );
                Err(r)
            }
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

impl AppState {
    /// Whether cookies set on this request are `Secure`: served over TLS,
    /// or behind a proxy that says the client used HTTPS.
    fn secure(&self, headers: &HeaderMap) -> bool {
        self.secure_cookies || forwarded_https(headers)
    }
}

fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn session_cookie(token: &str, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("partnerops_session=; Max-Age=0"))
}

/// `/`: the program's overview, the partner's portal, or a list of programs.
pub async fn home(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    let programs: Vec<String> = match &viewer.0.program {
        Some(p) => vec![p.clone()],
        None => state
            .engine
            .programs()
            .await?
            .into_iter()
            .map(|p| p.key)
            .collect(),
    };
    if !viewer.reads_data() {
        if viewer.partner().is_some() && programs.len() == 1 {
            let to = format!("/programs/{}/portal", super::seg(&programs[0]));
            return Ok(Redirect::to(&to).into_response());
        }
        return Err(PageError::from(Error::Forbidden(
            "this token can read no page of the dashboard: it needs data:read or partner:KEY"
                .to_owned(),
        )));
    }
    if programs.len() == 1 {
        let to = format!("/programs/{}", super::seg(&programs[0]));
        return Ok(Redirect::to(&to).into_response());
    }
    let body = html! {
        h1 { "Programs" }
        @if programs.is_empty() {
            p { "The engine holds no program yet: run " code { "partnerops apply" } " first." }
        }
        ul {
            @for p in &programs {
                li { a href={ "/programs/" (super::seg(p)) } { (p) } }
            }
        }
    };
    Ok(bare("Programs", true, &body))
}

pub async fn login_form() -> Response {
    login_page(StatusCode::OK, None)
}

fn login_page(status: StatusCode, error: Option<&str>) -> Response {
    let body = html! {
        h1 { "Sign in" }
        p { "Paste a token made with " code { "partnerops token create" } ". It is kept in a cookie for this browser session only." }
        @if let Some(e) = error {
            p .error role="alert" id="login-error" { (e) }
        }
        form method="post" action="/login" .login {
            label for="token" { "Token" }
            input #token type="password" name="token" autocomplete="current-password" required
                aria-describedby=[error.map(|_| "login-error")];
            button type="submit" { "Sign in" }
        }
    };
    let mut r = bare("Sign in", false, &body);
    *r.status_mut() = status;
    r
}

/// The largest sign-in form read: a token is far shorter.
const FORM_LIMIT: usize = 16 * 1024;

/// Checks the token and keeps it in the session cookie. The token arrives
/// in the body of a POST, so it is never in a URL, a log line or history.
pub async fn login(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let address = client_address(&parts);
    if let Err(e) = state.guard.before_auth(address) {
        return PageError::from(e).into_response();
    }
    let Ok(body) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return login_page(StatusCode::BAD_REQUEST, Some("The form was too large."));
    };
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    if token.is_empty() {
        return login_page(StatusCode::BAD_REQUEST, Some("Enter a token."));
    }
    let token = token.as_str();
    match state.engine.authenticate(token).await {
        Ok(_) => match session_cookie(token, state.secure(&parts.headers)) {
            Some(cookie) => {
                let mut r = Redirect::to("/").into_response();
                r.headers_mut().insert(header::SET_COOKIE, cookie);
                r
            }
            None => login_page(StatusCode::UNAUTHORIZED, Some("That is not a valid token.")),
        },
        Err(Error::Unauthorized(_)) => {
            if let Err(e) = state.guard.failed_auth(address) {
                return PageError::from(e).into_response();
            }
            login_page(
                StatusCode::UNAUTHORIZED,
                Some("That token is not valid (or was revoked, or has expired)."),
            )
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(state.secure(&headers)));
    r
}
